/**
 * Scrubbing through the real Secret HTTP Request node, embedded and through the relay: an upstream
 * echoes the request's Authorization header and body back in every encoding an echo commonly takes,
 * and nothing the node outputs (items, binary data, errors) may hold any form of the value.
 *
 * The forms searched for are computed here, independently of src/core/scrub.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { INode, INodeCredentials, INodeParameters, IRun } from 'n8n-workflow';

import { closeEmbeddedStores } from '../../src/n8n/connection';
import { N8nHarness, manualWorkflow, nodeResult } from '../helpers/n8n-harness';
import { createTestStore, type TestStore } from '../helpers/store';
import { type Backend, startBackend } from '../helpers/backend-mode';

/** Sent as a header, so ASCII, but with every character an encoder treats specially. */
const API_KEY = `Tk/+=%&"'<>~9Zq-live`;
/** Sent only inside Basic auth's base64 and a JSON body, so it can hold any character. */
const DB_PASS = `pässwörd-€/+=%&"'`;

let t: TestStore;
let backend: Backend;
let h: N8nHarness;
let server: Server;
let base: string;
let seen: { path: string; authorization?: string; body: string }[];
let userToken: string;

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const hexByte = (b: number) => b.toString(16).padStart(2, '0').toUpperCase();
const utf16le = (s: string) => Buffer.from(s, 'utf16le');
const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();

/** How the upstream writes what it received: one line per encoding, as echo services do. */
const ECHOES: Array<[string, (s: string) => string]> = [
	['as-is', (s) => s],
	['base64@0', (s) => utf8(`${s}|tail`).toString('base64')],
	['base64@1', (s) => utf8(`x${s}|tail`).toString('base64')],
	['base64@2', (s) => utf8(`xy${s}|tail`).toString('base64')],
	['base64url@1', (s) => utf8(`x${s}`).toString('base64url')],
	['hex', (s) => utf8(s).toString('hex').toUpperCase()],
	['percent', (s) => [...utf8(s)].map((b) => `%${hexByte(b)}`).join('')],
	['html', (s) => [...s].map((c) => `&#x${c.codePointAt(0)!.toString(16)};`).join('')],
	['html-decimal', (s) => [...s].map((c) => `&#${c.codePointAt(0)};`).join('')],
	[
		'json-u',
		(s) =>
			Array.from(
				{ length: s.length },
				(_, i) => `\\u${hexByte(s.charCodeAt(i)).padStart(4, '0')}`,
			).join(''),
	],
];

function echoLines(req: IncomingMessage, body: string): string {
	const auth = String(req.headers.authorization ?? '');
	return ECHOES.flatMap(([name, encode]) => [
		`${name} auth: ${encode(auth)}`,
		`${name} body: ${encode(body)}`,
	]).join('\n');
}

/** The upstream: `/text`, `/json`, `/utf16` and `/fail` answer the request back in their way. */
function answer(req: IncomingMessage, body: string, res: ServerResponse): void {
	const auth = String(req.headers.authorization ?? '');
	res.setHeader('x-echo', auth);
	res.setHeader('x-echo-base64', utf8(`x${auth}`).toString('base64'));
	if (req.url === '/json') {
		res.setHeader('content-type', 'application/json');
		// Every character \u-escaped, as JSON encoders with an ASCII-only option write it.
		const u = ECHOES.find(([name]) => name === 'json-u')![1];
		res.end(`{"auth":"${u(auth)}","body":"${u(body)}","headers":${JSON.stringify(req.headers)}}`);
	} else if (req.url === '/utf16') {
		res.setHeader('content-type', 'application/octet-stream');
		const text = `auth=${auth};body=${body};`;
		res.end(Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le(text), utf16be(text)]));
	} else {
		res.statusCode = req.url === '/fail' ? 500 : 200;
		res.setHeader('content-type', req.url === '/html' ? 'text/html' : 'text/plain');
		res.end(echoLines(req, body));
	}
}

beforeEach(async () => {
	t = await createTestStore();
	backend = await startBackend(t);
	t.clock.ms = Date.now();
	process.env.N8N_SECRETS_DB = t.path;
	process.env.N8N_SECRETS_MASTER_KEY = t.keyBase64;
	for (const [name, value] of [
		['api-key', API_KEY],
		['db-pass', DB_PASS],
	]) {
		await t.service.createSecret(t.admin, {
			name,
			type: 'CUSTOM',
			environment: 'production',
			value,
		});
	}
	userToken = (
		await t.service.createToken(t.admin, { subject: 'n8n-worker', role: 'user', ttl: '1d' })
	).token;
	seen = [];
	server = createServer((req, res) => {
		let body = '';
		req.setEncoding('utf8');
		req.on('data', (c: string) => (body += c));
		req.on('end', () => {
			seen.push({ path: String(req.url), authorization: req.headers.authorization, body });
			answer(req, body, res);
		});
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	h = new N8nHarness();
});

afterEach(async () => {
	await backend.close();
	server.close();
	await closeEmbeddedStores();
	await t.cleanup();
	delete process.env.N8N_SECRETS_DB;
	delete process.env.N8N_SECRETS_MASTER_KEY;
});

interface AuthCase {
	name: string;
	/** The secret the request authenticates with; the JSON body carries it too. */
	secret: 'api-key' | 'db-pass';
	value: string;
	/** What the Authorization header is built from, apart from the value itself. */
	basicUser?: string;
	parameters: INode['parameters'];
	/** Set for the Secret Reference Auth credential. */
	referenceAuth?: Record<string, string>;
}

const rl = (name: string) => ({ __rl: true, mode: 'list', value: name });

const AUTH_CASES: AuthCase[] = [
	{
		name: 'Basic auth as ops',
		secret: 'db-pass',
		value: DB_PASS,
		basicUser: 'ops',
		parameters: { authPlacement: 'basic', authUser: 'ops', secret: rl('db-pass') },
	},
	{
		name: 'Basic auth as svc-user',
		secret: 'db-pass',
		value: DB_PASS,
		basicUser: 'svc-user',
		parameters: { authPlacement: 'basic', authUser: 'svc-user', secret: rl('db-pass') },
	},
	{
		name: 'a bearer token',
		secret: 'api-key',
		value: API_KEY,
		parameters: { authPlacement: 'bearer', secret: rl('api-key') },
	},
	{
		name: 'Secret Reference Auth, Basic as ops',
		secret: 'db-pass',
		value: DB_PASS,
		basicUser: 'ops',
		parameters: { authentication: 'secretReferenceAuth' },
		referenceAuth: {
			placement: 'basic',
			userReference: 'ops',
			passReference: '[[secret:db-pass]]',
		},
	},
];

function requestNode(c: AuthCase, path: string, options: INodeParameters = {}) {
	const credentials: INodeCredentials = c.referenceAuth
		? {
				secretReferenceAuth: h.addCredential('secretReferenceAuth', 'Ref auth', {
					...backend.fields,
					token: userToken,
					environment: 'production',
					...c.referenceAuth,
				}),
			}
		: {
				secretsStoreApi: h.addCredential('secretsStoreApi', 'Secrets', {
					...backend.fields,
					token: userToken,
					environment: 'production',
				}),
			};
	return manualWorkflow(
		{ id: 'wf-echo', name: 'Echo' },
		{
			name: 'Call API',
			type: 'n8n-nodes-secrets.secretHttpRequest',
			parameters: {
				method: 'POST',
				url: `${base}${path}`,
				bodyType: 'json',
				jsonBody: `{"note":"[[secret:${c.secret}]]"}`,
				options,
				...c.parameters,
			},
			credentials,
		},
	);
}

/**
 * The characters of the base64 of `bytes` that come from `bytes[from..to)` alone: those that stay
 * the same when every other byte is inverted.
 */
function base64Part(bytes: Buffer, from: number, to: number): string {
	const flipped = Buffer.from(bytes.map((b, i) => (i >= from && i < to ? b : ~b & 0xff)));
	const a = bytes.toString('base64');
	const b = flipped.toString('base64');
	return [...a].filter((ch, i) => ch === b[i] && ch !== '=').join('');
}

/**
 * Every form of `secret` an output could leak it in. `secret` is each text the request carried
 * the value as: the value, `user:value` and its base64 for Basic auth, the JSON-escaped value.
 */
function leakForms(secret: string): string[] {
	const bytes = utf8(secret);
	const forms = [
		secret,
		bytes.toString('hex'),
		bytes.toString('hex').toUpperCase(),
		encodeURIComponent(secret),
		[...bytes].map((b) => `%${hexByte(b)}`).join(''),
		[...bytes].map((b) => `%${hexByte(b).toLowerCase()}`).join(''),
		[...secret].map((c) => `&#x${c.codePointAt(0)!.toString(16)};`).join(''),
		[...secret].map((c) => `&#${c.codePointAt(0)};`).join(''),
		Array.from(
			{ length: secret.length },
			(_, i) => `\\u${secret.charCodeAt(i).toString(16).padStart(4, '0')}`,
		).join(''),
		utf16le(secret).toString('latin1'),
		utf16be(secret).toString('latin1'),
	];
	for (let offset = 0; offset < 3; offset++) {
		const inBlob = Buffer.concat([Buffer.alloc(offset, 0x41), bytes, Buffer.from('tail')]);
		const part = base64Part(inBlob, offset, offset + bytes.length);
		forms.push(part, part.replace(/\+/g, '-').replace(/\//g, '_'));
	}
	// Each form also as JSON writes it inside the serialized execution data.
	return [...new Set(forms.flatMap((f) => [f, JSON.stringify(f).slice(1, -1)]))];
}

function secretTexts(c: AuthCase): string[] {
	const texts = [c.value, JSON.stringify(c.value).slice(1, -1)];
	if (c.basicUser) {
		const composed = `${c.basicUser}:${c.value}`;
		texts.push(composed, utf8(composed).toString('base64'));
	}
	return texts;
}

/** The oracle: no form of any text the secret was sent as, in the run's data or its binaries. */
function expectNoLeak(c: AuthCase, run: IRun, extra: unknown = undefined): void {
	const serialized = JSON.stringify({ data: run.data, extra });
	const binaries = (run.data.resultData.runData['Call API']?.[0]?.data?.main?.[0] ?? []).flatMap(
		(item) => Object.values(item.binary ?? {}).map((b) => Buffer.from(b.data, 'base64')),
	);
	const haystacks = [serialized, ...binaries.map((b) => b.toString('latin1'))];
	const leaks = secretTexts(c)
		.flatMap(leakForms)
		.filter((form) => haystacks.some((text) => text.includes(form)));
	expect(leaks).toEqual([]);
}

function expectSent(c: AuthCase): void {
	const expected = c.basicUser
		? `Basic ${utf8(`${c.basicUser}:${c.value}`).toString('base64')}`
		: `Bearer ${c.value}`;
	expect(seen.map((s) => s.authorization)).toEqual([expected]);
	expect(JSON.parse(seen[0].body)).toEqual({ note: c.value });
}

describe.each(AUTH_CASES)('Secret HTTP Request with $name against an echoing upstream', (c) => {
	it('keeps every encoded echo of the header and body out of a text answer', async () => {
		const run = await h.run(requestNode(c, '/text'));
		expectSent(c);
		const { items, error } = nodeResult(run, 'Call API');
		expect(error).toBeUndefined();
		const lines = String(items[0].json.data).split('\n');
		expect(lines).toHaveLength(ECHOES.length * 2);
		// Every line still says what it is, and each lost its echo to a marker.
		for (const [i, line] of lines.entries()) {
			expect(line.startsWith(`${ECHOES[i >> 1][0]} ${i % 2 ? 'body' : 'auth'}: `)).toBe(true);
			expect(line).toContain('[redacted');
		}
		expectNoLeak(c, run);
	});

	it('keeps them out of an HTML answer and of the echoed response headers', async () => {
		const run = await h.run(requestNode(c, '/html', { fullResponse: true }));
		expectSent(c);
		const json = nodeResult(run, 'Call API').items[0].json as {
			headers: Record<string, string>;
			body: string;
		};
		expect(json.headers['x-echo']).toMatch(/^(Basic|Bearer) \[redacted(:[\w-]+)?\]$/);
		expect(json.headers['x-echo-base64']).toContain('[redacted');
		expect(String(json.body).split('\n')).toHaveLength(ECHOES.length * 2);
		expectNoLeak(c, run);
	});

	it('keeps them out of a JSON answer whose strings are \\u-escaped', async () => {
		const run = await h.run(requestNode(c, '/json'));
		expectSent(c);
		const json = nodeResult(run, 'Call API').items[0].json as Record<string, unknown>;
		expect(json.auth).toMatch(/^(Basic|Bearer) \[redacted(:[\w-]+)?\]$/);
		expect(json.body).toMatch(/^\{"note":"\[redacted(:[\w-]+)?\]"\}$/);
		expect((json.headers as Record<string, string>).authorization).toMatch(/\[redacted/);
		expectNoLeak(c, run);
	});

	it('keeps them out of a binary answer in UTF-16, both byte orders', async () => {
		const run = await h.run(requestNode(c, '/utf16'));
		expectSent(c);
		const item = nodeResult(run, 'Call API').items[0];
		const data = Buffer.from(item.binary!.data.data, 'base64');
		const le = data.subarray(2, 2 + (data.length - 2) / 2);
		const be = Buffer.from(data.subarray(2 + (data.length - 2) / 2)).swap16();
		for (const text of [le.toString('utf16le'), be.toString('utf16le')]) {
			expect(text).toMatch(
				/^auth=(Basic|Bearer) \[redacted(:[\w-]+)?\];body=\{"note":"\[redacted(:[\w-]+)?\]"\};$/,
			);
		}
		expectNoLeak(c, run);
	});

	it('keeps them out of the error of a failing request', async () => {
		const run = await h.run(requestNode(c, '/fail'));
		expectSent(c);
		const { error } = nodeResult(run, 'Call API');
		expect(error?.message).toContain('UPSTREAM_ERROR');
		expect(error?.message).toContain('[redacted');
		expectNoLeak(c, run, {
			message: error?.message,
			description: (error as { description?: string } | undefined)?.description,
		});
	});
});
