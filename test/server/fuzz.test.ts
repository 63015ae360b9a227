/**
 * The API fuzzer: tens of thousands of requests built from the server's own OpenAPI document, over
 * real HTTP with keep-alive and concurrency, on the store of the jest project (SQLite or PostgreSQL).
 *
 * Every path and method is called with mutated path parameters, query strings, bodies, content types
 * and headers, by anonymous callers, forged tokens and valid tokens of several roles (so the routes'
 * authorized paths run too). The promises: no answer is a 5xx, every error is JSON `{ code, message }`,
 * no answer carries a stored value (except a reveal or resolve that may), the server is healthy and the
 * audit trail verifies afterwards. The relay only ever reaches an upstream on 127.0.0.1 run here:
 * every outbound connection and DNS lookup of the process is watched, and one elsewhere fails the test.
 *
 * The request recipe is a function of the seed (logged; N8N_SECRETS_FUZZ_SEED replays one), the
 * count is N8N_SECRETS_FUZZ_REQUESTS (default 20,000).
 */
import dns from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import tls from 'node:tls';

import type { FastifyInstance } from 'fastify';
import { Pool } from 'undici';

import { buildServer } from '../../src/server/app';
import { createTestStore, STORE_KIND, type TestStore } from '../helpers/store';

const SEED = Number(process.env.N8N_SECRETS_FUZZ_SEED ?? 20261123);
const REQUESTS = Number(process.env.N8N_SECRETS_FUZZ_REQUESTS ?? 20_000);
const CONCURRENCY = 12;

/** mulberry32: small, fast and the same on every machine. */
class Rng {
	private s: number;
	constructor(seed: number) {
		this.s = seed >>> 0;
	}
	next(): number {
		this.s = (this.s + 0x6d2b79f5) >>> 0;
		let t = this.s;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	}
	int(n: number): number {
		return Math.floor(this.next() * n);
	}
	chance(p: number): boolean {
		return this.next() < p;
	}
	pick<T>(items: readonly T[]): T {
		return items[this.int(items.length)];
	}
	text(
		max: number,
		alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_ ',
	): string {
		let s = '';
		const n = 1 + this.int(max);
		for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
		return s;
	}
}

interface Param {
	name: string;
	in: 'path' | 'query';
	required: boolean;
	schema: JsonSchema;
}
interface JsonSchema {
	type?: string;
	enum?: unknown[];
	properties?: Record<string, JsonSchema>;
	required?: string[];
	items?: JsonSchema;
	anyOf?: JsonSchema[];
	minimum?: number;
	maximum?: number;
	nullable?: boolean;
}
interface Operation {
	method: string;
	path: string;
	params: Param[];
	body?: JsonSchema;
}
interface FuzzRequest {
	op: string;
	method: string;
	path: string;
	headers: Record<string, string>;
	body?: string | Buffer;
	/** Over a limit the server answers early and may close the connection mid-write. */
	mayReset?: boolean;
	/** Built to pass validation (so the route's own work runs). */
	valid: boolean;
}

// ---- the ingredients ----------------------------------------------------------------------------

const ENVIRONMENTS = ['production', 'staging', 'development', '*', 'prod-eu'];
const NAME_POOL = [...Array.from({ length: 24 }, (_, i) => `fz-${i}`), 'n'.repeat(128)];

/** Path segments, as sent (already percent-encoded where they are meant to be). */
const PATH_JUNK = [
	'',
	'n'.repeat(101),
	'n'.repeat(127),
	'n'.repeat(129),
	'n'.repeat(300),
	'n'.repeat(1100),
	'%C3%BCn%C3%AF',
	'%F0%9F%94%91',
	'%00',
	'a%00b',
	'..',
	'.',
	'%2e%2e',
	'%2F',
	'a%2Fb',
	'%',
	'%E0%A4',
	'%ZZ',
	'%ED%A0%80',
	'%C0%AF',
	'*',
	'%2A',
	'a%20b',
	'%1B%5B2J',
	'%3Cscript%3E',
	'__proto__',
	'constructor',
	'%25',
	'~',
	"a'b",
	'a%22b',
	'a;b',
	'a,b',
	'00000000-0000-4000-8000-000000000000',
];

/** Query values, as sent. */
const QUERY_JUNK = [
	'',
	'%00',
	'a%00',
	'%1B%5B2J',
	'%0A',
	'%09',
	'%ED%A0%80',
	'%E0%A4',
	'%ZZ',
	'%',
	'-1',
	'1.5',
	'1e309',
	'NaN',
	'Infinity',
	'99999999999999999999999',
	'0x10',
	'true',
	'%5B%5D',
	'%7B%7D',
	'x'.repeat(5000),
	'%F0%9F%94%91',
	'__proto__',
	'production%00',
	'%2A',
];
const UNKNOWN_QUERY_KEYS = [
	'verbose',
	'__proto__',
	'constructor',
	'env%5B%5D',
	'a%5Bb%5D',
	'k'.repeat(300),
	'%00',
];

/** Values of the wrong type or shape for any body field. */
function wrongValues(rng: Rng): unknown[] {
	return [
		null,
		0,
		-1,
		1.5,
		1e308,
		true,
		[],
		{},
		'',
		'x'.repeat(20_000),
		'\u0000',
		'a\u0000b',
		'\ud800',
		'\udc00x',
		'\u001b[2J',
		'\u202eevil',
		'🔑'.repeat(50),
		deepObject(rng.int(300) + 2),
		deepArray(rng.int(2000) + 2),
		[[[['x']]]],
		{ __proto__: { admin: true } },
		Array.from({ length: 500 }, (_, i) => i),
	];
}

function deepArray(depth: number): unknown {
	let v: unknown = 'leaf';
	for (let i = 0; i < depth; i++) v = [v];
	return v;
}

function deepObject(depth: number): unknown {
	let v: unknown = 'leaf';
	for (let i = 0; i < depth; i++) v = { a: v };
	return v;
}

/** Request bodies that are not JSON, or JSON no schema expects. */
const RAW_BODIES = [
	'{',
	'{"a":}',
	"{'a':1}",
	'{"a":1,}',
	'NaN',
	'\ufeff{}',
	'{"value":"\\ud800"}',
	'{"value":"\\udfff\\ud800"}',
	'{"description":"\\u0000"}',
	'{"a":1}{"b":2}',
	' ',
	'\u0000',
	'[]',
	'"text"',
	'42',
	'null',
	'true',
	'{"__proto__":{"admin":true}}',
	'{"constructor":{"prototype":{"admin":true}}}',
	`${'['.repeat(60_000)}${']'.repeat(60_000)}`,
	`${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
	'{"name":"fz-1","name":"fz-2"}',
	'{"reason":"\\u001b[2J"}',
	'{"value":1e400}',
];

const CONTENT_TYPES = [
	'text/plain',
	'application/x-www-form-urlencoded',
	'multipart/form-data; boundary=x',
	'application/json; charset=utf-8',
	'APPLICATION/JSON',
	'application/jsonx',
	'application/vnd.api+json',
	'application/json; charset=latin1',
	'',
];

const CONTEXT_JUNK = [
	'%00',
	'pay%00roll',
	'%ZZ',
	'%E0%A4',
	'%ED%A0%80',
	'x'.repeat(3000),
	`${'a'.repeat(254)}%F0%9F%94%91`,
	'%1B%5B31m',
	'%F0%9F%94%91',
	'plain name',
	encodeURIComponent('ünïcødé 🔑'),
	'%0D%0AX-Injected: 1',
];

const CONTEXT_HEADERS = [
	'x-n8n-workflow-id',
	'x-n8n-workflow-name',
	'x-n8n-execution-id',
	'x-n8n-node',
	'x-n8n-mode',
];

/** Relay targets that are refused before any connection (no scheme we send to, or no host). */
const REFUSED_URLS = [
	'',
	'not a url',
	'ftp://127.0.0.1/',
	'http://',
	'https://',
	'http://:80/',
	'file:///etc/hostname',
	'javascript:alert(1)',
	'data:text/plain,hi',
	'//no-scheme',
	'http://[::1',
];

/** Whether the WHATWG URL parser (as the relay's) finds a host to reach in `url`. */
function namesAHost(url: string): boolean {
	try {
		const u = new URL(url);
		return /^https?:$/.test(u.protocol) && u.hostname !== '';
	} catch {
		return false;
	}
}

// ---- the fuzzer ---------------------------------------------------------------------------------

let t: TestStore;
let app: FastifyInstance;
let upstream: Server;
let upstreamUrl: string;
let pool: Pool;
const tokens: Record<string, string> = {};
const canaries: Record<string, string> = {};
const outside: string[] = [];
let spareJti: string;

beforeAll(async () => {
	// Nothing in this process may look a name up or connect anywhere but loopback.
	// (Listening on 127.0.0.1 looks the literal up: that one is answered without a resolver.)
	const realLookup = dns.lookup.bind(dns) as (...a: unknown[]) => void;
	jest.spyOn(dns, 'lookup').mockImplementation(((host: string, ...rest: unknown[]) => {
		if (host === '127.0.0.1') return realLookup(host, ...rest);
		outside.push(`dns lookup ${host}`);
		const cb = rest[rest.length - 1] as (err: Error) => void;
		process.nextTick(() =>
			cb(Object.assign(new Error('no DNS in the fuzzer'), { code: 'ENOTFOUND' })),
		);
	}) as unknown as typeof dns.lookup);
	for (const mod of [net, tls] as { connect: (...a: unknown[]) => unknown }[]) {
		const real = mod.connect.bind(mod);
		jest.spyOn(mod, 'connect').mockImplementation((...args: unknown[]) => {
			const o = args[0] as { host?: string; path?: string } | number;
			const host = typeof o === 'object' ? o.host : args[1];
			if (typeof o === 'object' && o.path === undefined && host !== '127.0.0.1') {
				outside.push(`connect ${String(host)}`);
				throw new Error(`the fuzzer refuses a connection to ${String(host)}`);
			}
			return real(...args);
		});
	}

	// (`http:///path` would be the host "path": each of these is checked to name none.)
	// References are substituted before the URL is parsed: none may stand where a host would.
	expect(REFUSED_URLS.filter((u) => namesAHost(u) || u.includes('[['))).toEqual([]);

	t = await createTestStore();
	t.clock.ms = Date.now();
	upstream = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			if (req.url?.startsWith('/redirect')) {
				res.writeHead(302, { location: `${upstreamUrl}/echo` }).end();
				return;
			}
			// Everything it was sent, back: the relay must scrub the values it injected.
			res.setHeader('content-type', 'application/json');
			res.end(
				JSON.stringify({
					method: req.method,
					url: req.url,
					headers: req.headers,
					body: Buffer.concat(chunks).toString('utf8'),
				}),
			);
		});
	});
	await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
	upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

	for (const role of [
		'viewer',
		'user',
		'relay',
		'runtime',
		'operator',
		'revealer',
		'auditor',
	] as const)
		tokens[role] = (
			await t.service.createToken(t.admin, { subject: `fz-${role}`, role, ttl: '1d' })
		).token;
	tokens.limited = (
		await t.service.createToken(t.admin, {
			subject: 'fz-limited',
			scopes: ['secrets:list', 'secrets:use', 'secrets:write', 'secrets:relay'],
			environments: ['production'],
			secrets: ['fz-1*'],
			ttl: '1d',
		})
	).token;
	tokens.admin = t.admin.token;
	spareJti = (await t.service.createToken(t.admin, { subject: 'fz-spare', role: 'viewer' })).info
		.jti;

	for (const [i, name] of ['fz-0', 'fz-1', 'fz-10', 'fz-20'].entries()) {
		const value = `cnry${i}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
		canaries[name] = value;
		await t.service.createSecret(t.admin, {
			name,
			environment: i === 3 ? '*' : 'production',
			value,
			allowedHosts: i === 2 ? [] : [upstreamUrl],
		});
	}

	app = await buildServer({
		service: await t.open(),
		log: () => undefined,
		relay: { allow: ['127.0.0.1/32'] },
	});
	await app.listen({ host: '127.0.0.1', port: 0 });
	pool = new Pool(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, {
		connections: CONCURRENCY,
		pipelining: 1,
		headersTimeout: 30_000,
		bodyTimeout: 30_000,
	});
});

afterAll(async () => {
	await pool?.close();
	await app?.close();
	await new Promise((r) => upstream?.close(r));
	await t?.cleanup();
	jest.restoreAllMocks();
});

function operations(doc: { paths: Record<string, Record<string, unknown>> }): Operation[] {
	const ops: Operation[] = [];
	for (const [path, methods] of Object.entries(doc.paths))
		for (const [method, raw] of Object.entries(methods)) {
			const op = raw as {
				parameters?: Param[];
				requestBody?: { content: { 'application/json': { schema: JsonSchema } } };
			};
			ops.push({
				method: method.toUpperCase(),
				path,
				params: op.parameters ?? [],
				body: op.requestBody?.content['application/json'].schema,
			});
		}
	return ops;
}

/** Whether a relay body's URL can only reach our upstream (or nothing at all). */
function safeRelayUrl(url: unknown): boolean {
	if (typeof url !== 'string') return true;
	return (
		url.startsWith(`${upstreamUrl}/`) ||
		REFUSED_URLS.includes(url) ||
		(!url.includes(':') && !url.includes('[['))
	);
}

class Generator {
	/** This request is meant to pass validation (so the routes' work runs), not to probe it. */
	private valid = false;

	constructor(
		private readonly rng: Rng,
		private readonly ops: Operation[],
	) {}

	/** In a valid request, the first choice; otherwise any of them. */
	private choose<T>(good: readonly T[], any: readonly T[]): T {
		return this.rng.pick(this.valid ? good : any);
	}

	relayUrl(): string {
		const { rng } = this;
		if (rng.chance(0.1)) return rng.pick(REFUSED_URLS);
		const suffix = rng.pick([
			'echo',
			'redirect',
			`echo?k=${rng.text(20)}`,
			`echo/[[secret:${rng.pick(NAME_POOL)}]]`,
			`echo?token=[[secret:${rng.pick(Object.keys(canaries))}]]`,
			'echo/%00/..',
			'@evil.example/',
			'\\evil.example',
			'echo#frag',
			`echo/${'p'.repeat(3000)}`,
		]);
		return `${upstreamUrl}/${suffix}`;
	}

	/** A plausible value for a field, by its name, else by its schema. */
	value(schema: JsonSchema, key: string, depth = 0): unknown {
		const { rng } = this;
		if (schema.anyOf) return this.value(rng.pick(schema.anyOf), key, depth);
		if (schema.nullable && rng.chance(0.1)) return null;
		// Most types check their values' shape: a valid request mostly writes CUSTOM ones.
		if (schema.enum)
			return key === 'type' && this.valid && rng.chance(0.8) ? 'CUSTOM' : rng.pick(schema.enum);
		switch (key) {
			case 'name':
			case 'secret':
				return schema.type === 'string' ? rng.pick(NAME_POOL) : undefined;
			case 'environment':
				return this.valid && rng.chance(0.8) ? 'production' : rng.pick(ENVIRONMENTS);
			case 'value':
				return rng.pick([rng.text(40), `v\u0000${rng.text(8)}`, '🔑 ünï', '\t\n']);
			case 'url':
				return this.relayUrl();
			case 'subject':
				return `fz-sub-${rng.int(50)}`;
			case 'ttl':
				return this.choose(['1d', '12h', 3600], ['1d', 'never', 3600, '0d', '-1d', 'forever']);
			case 'since':
			case 'until':
			case 'notBefore':
			case 'expiresAt': {
				const past = new Date(Date.now() - 86_400_000).toISOString();
				const future = new Date(Date.now() + 86_400_000 * (1 + rng.int(100))).toISOString();
				if (this.valid) return key === 'expiresAt' || key === 'until' ? future : past;
				return rng.pick([past, future, '2027-02-30', 'yesterday']);
			}
			case 'destinationHost':
				return rng.pick([upstreamUrl, 'api.example.com', '*', 'http://[::1]:80']);
			case 'reference':
			case 'userReference':
			case 'passReference':
				return `[[secret:${rng.pick(Object.keys(canaries))}]]`;
			case 'body':
				return rng.pick([
					JSON.stringify({ key: `[[secret:${rng.pick(Object.keys(canaries))}]]` }),
					'plain [[secret:fz-1]] text',
					rng.text(100),
				]);
		}
		switch (schema.type) {
			case 'object': {
				const out: Record<string, unknown> = {};
				for (const [k, s] of Object.entries(schema.properties ?? {})) {
					const required = schema.required?.includes(k);
					const p = this.valid ? (required || k === 'value' ? 1 : 0.2) : required ? 0.95 : 0.4;
					if (rng.chance(p) && depth < 4) {
						const v = this.value(s, k, depth + 1);
						if (v !== undefined) out[k] = v;
					}
				}
				// A value is given or generated, not both.
				if (this.valid && 'value' in out && 'generate' in out)
					delete out[rng.pick(['value', 'generate'])];
				return out;
			}
			case 'array': {
				const n = rng.int(4);
				return Array.from({ length: n }, () =>
					this.value(
						schema.items ?? {},
						key === 'headers' || key === 'query' || key === 'form' ? 'pair' : key,
						depth + 1,
					),
				);
			}
			case 'integer':
			case 'number': {
				const min = schema.minimum ?? 0;
				const max = Math.min(schema.maximum ?? 100, min + 100);
				return min + rng.int(max - min + 1);
			}
			case 'boolean':
				return rng.chance(0.5);
			case 'string':
				if (key === 'tags' || key === 'tag') return `tag-${rng.int(5)}`;
				if (key === 'allowedHosts') return rng.pick([upstreamUrl, '*.example.com', '*']);
				if (key === 'allowedConsumers') return `fz-${rng.pick(['viewer', 'user', 'relay', '*'])}`;
				if (key === 'environments') return rng.pick(ENVIRONMENTS);
				if (key === 'secrets') return rng.pick(['fz-*', 'fz-1?', '*']);
				return rng.text(30);
			default:
				return rng.text(10);
		}
	}

	mutateBody(body: unknown): unknown {
		const { rng } = this;
		if (this.valid || !body || typeof body !== 'object' || Array.isArray(body) || !rng.chance(0.6))
			return body;
		const obj = { ...(body as Record<string, unknown>) };
		const keys = Object.keys(obj);
		const wrong = wrongValues(rng);
		switch (rng.int(4)) {
			case 0:
				if (keys.length) delete obj[rng.pick(keys)];
				break;
			case 1:
				obj[rng.pick(['extra', '__proto__', 'constructor', 'k'.repeat(300), 'a\u0000', 'name'])] =
					rng.pick(wrong);
				break;
			default:
				if (keys.length) obj[rng.pick(keys)] = rng.pick(wrong);
				else obj.value = rng.pick(wrong);
		}
		return obj;
	}

	/** The rules across fields that a schema does not show, kept in a valid request. */
	coherent(path: string, body: object): object {
		const b = { ...body } as Record<string, unknown>;
		// The route documents `generate` for rotate and stage; a plain write takes a value.
		if (path.endsWith('/value')) {
			delete b.generate;
			b.value = this.value({}, 'value');
		}
		if (path === '/api/v1/secrets') {
			if (b.value !== undefined || b.generate !== undefined) b.environment = 'production';
			else delete b.environment;
		}
		if (path === '/api/v1/tokens') {
			if (b.role !== undefined) delete b.scopes;
			else if (b.scopes === undefined) b.role = 'viewer';
		}
		return b;
	}

	pathValue(param: string): string {
		const { rng } = this;
		if (param === 'jti')
			return rng.pick([
				spareJti,
				'00000000-0000-4000-8000-000000000000',
				'some-jti',
				rng.pick(PATH_JUNK),
			]);
		if (this.valid) return rng.pick(rng.chance(0.5) ? Object.keys(canaries) : NAME_POOL);
		return rng.chance(0.6) ? rng.pick(NAME_POOL) : rng.pick(PATH_JUNK);
	}

	queryValue(p: Param): string {
		const { rng } = this;
		if (!this.valid && rng.chance(0.3)) return rng.pick(QUERY_JUNK);
		const v = this.value(p.schema, p.name === 'env' ? 'environment' : p.name);
		if (p.name === 'cursor') return rng.pick(['fz-1', '5', '']);
		return encodeURIComponent(String(v));
	}

	headers(): Record<string, string> {
		const { rng } = this;
		const h: Record<string, string> = {};
		const roll = rng.next();
		if (this.valid)
			h.authorization = `Bearer ${tokens[rng.pick(['admin', 'operator', 'admin', 'revealer', 'limited', 'relay', 'runtime'])]}`;
		else if (roll < 0.75) h.authorization = `Bearer ${tokens[rng.pick(Object.keys(tokens))]}`;
		else if (roll < 0.9) {
			const token = tokens[rng.pick(Object.keys(tokens))];
			h.authorization = rng.pick([
				'Bearer',
				'Bearer ',
				'Bearer x.y.z',
				'Basic YWRtaW46YWRtaW4=',
				`Bearer ${token}x`,
				`Bearer ${token.slice(0, -5)}`,
				`bearer    ${token}`,
				`Bearer ${'a'.repeat(5000)}`,
				'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
				`Bearer ${token} ${token}`,
			]);
		}
		for (const name of CONTEXT_HEADERS) if (rng.chance(0.15)) h[name] = rng.pick(CONTEXT_JUNK);
		if (this.valid) return h;
		if (rng.chance(0.05))
			h['x-request-id'] = rng.pick(['../../etc', 'x'.repeat(100), 'ok-id', '%00']);
		return h;
	}

	request(): FuzzRequest {
		const { rng } = this;
		this.valid = rng.chance(0.35);
		const op = rng.pick(this.ops);
		const headers = this.headers();
		let method = op.method;
		let path = op.path.replace(/\{(\w+)\}/g, (_m, p: string) => this.pathValue(p));
		if (!this.valid && rng.chance(0.03))
			method = rng.pick(['PATCH', 'PUT', 'DELETE', 'OPTIONS', 'POST']);
		if (!this.valid && rng.chance(0.02))
			path = rng.pick([
				'/api/v1/',
				'/api/v2/secrets',
				// Not `/`: that is the Secrets page (HTML), tested in test/browser and serve.test.ts.
				'/api',
				'/api/v1/secrets/a/b/c',
				`/${'z'.repeat(2000)}`,
			]);

		const query: string[] = [];
		for (const p of op.params.filter((x) => x.in === 'query'))
			if (rng.chance(p.required ? (this.valid ? 1 : 0.9) : this.valid ? 0.2 : 0.4)) {
				const v = this.queryValue(p);
				query.push(`${p.name}=${v}`);
				if (!this.valid && rng.chance(0.05)) query.push(`${p.name}=${this.queryValue(p)}`);
			}
		if (!this.valid && rng.chance(0.05))
			query.push(`${rng.pick(UNKNOWN_QUERY_KEYS)}=${rng.pick(QUERY_JUNK)}`);
		if (query.length) path += `?${query.join('&')}`;

		const request: FuzzRequest = {
			op: `${op.method} ${op.path}`,
			method,
			path,
			headers,
			valid: this.valid,
		};
		if (!op.body || method === 'GET' || method === 'DELETE' || method === 'OPTIONS') return request;

		const roll = this.valid ? 1 : rng.next();
		if (roll < 0.08) {
			request.body = rng.pick(RAW_BODIES);
			headers['content-type'] = 'application/json';
		} else if (roll < 0.1) {
			// Bytes that are not UTF-8, labelled JSON.
			request.body = Buffer.from([
				0x7b, 0x22, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xc3, 0x22, 0x7d,
			]);
			headers['content-type'] = 'application/json';
		} else if (roll < 0.11) {
			request.body = JSON.stringify({ value: 'x'.repeat(300 * 1024) });
			headers['content-type'] = 'application/json';
			request.mayReset = true;
		} else {
			let body = this.mutateBody(this.value(op.body, ''));
			if (this.valid && body && typeof body === 'object') body = this.coherent(op.path, body);
			if (
				op.path.endsWith('/relay') &&
				body &&
				typeof body === 'object' &&
				!safeRelayUrl((body as { url?: unknown }).url)
			)
				body = { ...(body as object), url: this.relayUrl() };
			request.body = JSON.stringify(body) ?? '';
			headers['content-type'] =
				!this.valid && rng.chance(0.06) ? rng.pick(CONTENT_TYPES) : 'application/json';
			if (headers['content-type'] === '') delete headers['content-type'];
		}
		// Last line of defence: whatever the mutations did, a relay body may only aim at our upstream.
		if (op.path.endsWith('/relay')) assertSafeRelayBody(request.body);
		return request;
	}
}

function assertSafeRelayBody(body: string | Buffer | undefined): void {
	let parsed: unknown;
	try {
		parsed = JSON.parse(String(body));
	} catch {
		return;
	}
	if (parsed && typeof parsed === 'object' && !safeRelayUrl((parsed as { url?: unknown }).url))
		throw new Error(
			`the fuzzer built a relay request to an unsafe URL: ${String((parsed as { url: unknown }).url)}`,
		);
}

interface Outcome {
	status: number;
	text: string;
	contentType: string;
}

async function send(r: FuzzRequest): Promise<Outcome | Error> {
	try {
		const res = await pool.request({
			method: r.method as 'GET',
			path: r.path,
			headers: r.headers,
			body: r.body,
		});
		const text = await res.body.text();
		return { status: res.statusCode, text, contentType: String(res.headers['content-type'] ?? '') };
	} catch (err) {
		return err as Error;
	}
}

/** What a failure report shows of a request: enough to replay it, never a token. */
function describeRequest(r: FuzzRequest): string {
	const headers = { ...r.headers };
	if (headers.authorization) headers.authorization = `${headers.authorization.slice(0, 12)}…`;
	const body = r.body === undefined ? '' : ` body=${JSON.stringify(String(r.body).slice(0, 300))}`;
	return `${r.method} ${r.path.slice(0, 300)} headers=${JSON.stringify(headers).slice(0, 300)}${body}`;
}

describe(`the API under ${REQUESTS} fuzzed requests (${STORE_KIND}, seed ${SEED})`, () => {
	it('never answers 5xx, always answers errors as {code, message}, never leaks a stored value', async () => {
		const started = Date.now();
		const docRes = await pool.request({ method: 'GET', path: '/api/v1/openapi.json' });
		const doc = (await docRes.body.json()) as { paths: Record<string, Record<string, unknown>> };
		const ops = operations(doc);
		expect(ops.length).toBeGreaterThan(25);
		const gen = new Generator(new Rng(SEED), ops);
		const values = Object.values(canaries);
		const failures: string[] = [];
		const statuses = new Map<number, number>();
		const okByOp = new Map<string, number>();
		let sent = 0;
		let resets = 0;
		const fail = (r: FuzzRequest, why: string, o?: Outcome) => {
			if (failures.length < 25)
				failures.push(
					`${why}: ${describeRequest(r)} -> ${o ? `${o.status} ${o.text.slice(0, 300)}` : ''}`,
				);
		};

		const worker = async () => {
			while (sent < REQUESTS) {
				sent++;
				const r = gen.request();
				const o = await send(r);
				if (o instanceof Error) {
					if (r.mayReset) resets++;
					else fail(r, `client error ${o.name} ${(o as { code?: string }).code ?? ''}`);
					continue;
				}
				statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
				if (o.status < 300) okByOp.set(r.op, (okByOp.get(r.op) ?? 0) + 1);
				if (o.status >= 500) fail(r, `status ${o.status}`, o);
				let parsed: unknown;
				try {
					parsed = JSON.parse(o.text);
				} catch {
					fail(r, 'not JSON', o);
				}
				if (!/^application\/json/.test(o.contentType)) fail(r, `content-type ${o.contentType}`, o);
				if (o.status >= 400) {
					const e = parsed as { code?: unknown; message?: unknown } | undefined;
					if (typeof e?.code !== 'string' || typeof e?.message !== 'string')
						fail(r, 'uncoded error', o);
				}
				// A reveal or resolve that succeeds answers a value; nothing else ever does.
				const mayAnswerValue = o.status === 200 && /\/(reveal|resolve)\?/.test(r.path);
				if (!mayAnswerValue)
					for (const v of values)
						if (o.text.includes(v) || o.text.includes(encodeURIComponent(v)))
							fail(r, 'a stored value in the answer', o);
			}
		};
		await Promise.all(Array.from({ length: CONCURRENCY }, worker));

		const summary = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`);
		console.info(
			`fuzz (${STORE_KIND}, seed ${SEED}): ${sent} requests in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
				`statuses ${summary.join(' ')}; ${resets} connections reset after an over-limit body`,
		);
		expect(failures).toEqual([]);
		expect(outside).toEqual([]);
		expect(sent).toBeGreaterThanOrEqual(REQUESTS);
		// The tokens reached the routes' own work, not only their refusals.
		const unreached = ops.map((op) => `${op.method} ${op.path}`).filter((op) => !okByOp.get(op));
		expect(unreached).toEqual([]);

		const health = await pool.request({ method: 'GET', path: '/healthz' });
		expect(await health.body.json()).toEqual({ status: 'ok' });
		expect(health.statusCode).toBe(200);
		expect(await t.service.verifyAudit(t.admin)).toMatchObject({ ok: true });
	});
});
