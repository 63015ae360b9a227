/**
 * The relay under attack by its own callers: a relay token aiming it at the server's network (every
 * special-purpose address range, in every spelling an address has), answers compressed so that an
 * echoed value slips past scrubbing, and bodies nested deep enough to exhaust the stack.
 *
 * Only loopback is ever connected to. Every other address must be refused before connecting; as a
 * net under that promise, this suite refuses (and records) any socket opened to a literal address
 * off loopback, so a broken guard fails these tests instead of sending traffic.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import * as net from 'node:net';
import * as zlib from 'node:zlib';

import { buildServer } from '../../src/server/app';
import { startServer } from '../../src/server/serve';
import { type Answer, type ApiServer, startApiServer } from '../helpers/api-server';
import { createTestStore, type TestStore } from '../helpers/store';

const VALUE = 'sk_live_SSRF_value_+/=?&';

/** Every form of VALUE the relay's answer must not contain. */
const LEAKS = [
	VALUE,
	encodeURIComponent(VALUE),
	Buffer.from(VALUE).toString('base64'),
	Buffer.from(VALUE).toString('base64url'),
	Buffer.from(VALUE).toString('hex'),
];

const isLoopbackLiteral = (host: string): boolean =>
	/^(::ffff:)?127\./i.test(host) || host === '::1' || /^::ffff:7f[0-9a-f]{2}:/i.test(host);

/** Literal destinations off loopback that a socket was asked to reach: must stay empty. */
const offLoopback: string[] = [];
const realConnect = net.Socket.prototype.connect;

beforeAll(() => {
	net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
		const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
		const host = (first as { host?: unknown } | undefined)?.host;
		if (typeof host === 'string' && net.isIP(host) && !isLoopbackLiteral(host)) {
			offLoopback.push(host);
			process.nextTick(() => this.destroy(new Error(`the test refused to connect to ${host}`)));
			return this;
		}
		return (realConnect as (...a: unknown[]) => net.Socket).apply(this, args);
	} as typeof net.Socket.prototype.connect;
});

afterAll(() => {
	net.Socket.prototype.connect = realConnect;
});

let t: TestStore;
let relayToken: string;

interface Upstream {
	server: Server;
	port: number;
	hits: { url: string; headers: IncomingMessage['headers']; body: string }[];
	answer: (req: IncomingMessage, res: ServerResponse, body: string) => void;
	close(): Promise<void>;
}

const echo = (req: IncomingMessage, res: ServerResponse): void => {
	res.setHeader('content-type', 'application/json');
	res.end(JSON.stringify({ authorization: req.headers.authorization, url: req.url }));
};

async function upstreamOn(host: string): Promise<Upstream> {
	const u = { hits: [], answer: echo } as unknown as Upstream;
	u.server = createServer((req, res) => {
		let body = '';
		req.on('data', (c) => (body += c));
		req.on('end', () => {
			u.hits.push({ url: String(req.url), headers: req.headers, body });
			u.answer(req, res, body);
		});
	});
	await new Promise<void>((r) => u.server.listen(0, host, r));
	u.port = (u.server.address() as net.AddressInfo).port;
	u.close = () => new Promise<void>((r) => u.server.close(() => r()));
	return u;
}

let upstream: Upstream;
let upstream2: Upstream;
let upstream6: Upstream;
const servers: ApiServer[] = [];

async function relayServer(options: Parameters<typeof startApiServer>[1] = {}): Promise<ApiServer> {
	const s = await startApiServer(t, options);
	servers.push(s);
	return s;
}

beforeEach(async () => {
	offLoopback.length = 0;
	t = await createTestStore();
	t.clock.ms = Date.now();
	relayToken = (
		await t.service.createToken(t.admin, { subject: 'relay-subject', role: 'relay', ttl: '1d' })
	).token;
	// Bound to every destination, so no refusal below comes from the binding: only from the guard.
	await t.service.createSecret(t.admin, {
		name: 'stripe-key',
		environment: 'production',
		value: VALUE,
		allowedHosts: ['*'],
	});
	upstream = await upstreamOn('127.0.0.1');
	upstream2 = await upstreamOn('127.0.0.2');
	upstream6 = await upstreamOn('::1');
});

afterEach(async () => {
	await Promise.all(servers.splice(0).map((s) => s.close()));
	await Promise.all([upstream.close(), upstream2.close(), upstream6.close()]);
	await t.cleanup();
	expect(offLoopback).toEqual([]);
});

const hits = (): number => upstream.hits.length + upstream2.hits.length + upstream6.hits.length;

function relay(api: ApiServer, url: string, extra: Record<string, unknown> = {}) {
	return api.call('POST', '/api/v1/relay', {
		token: relayToken,
		body: {
			environment: 'production',
			method: 'GET',
			url,
			headers: [{ name: 'Authorization', value: 'Bearer [[secret:stripe-key]]' }],
			...extra,
		},
	});
}

function refusedAnswer(r: { status: number; body: Answer }) {
	return { status: r.status, code: r.body?.code };
}
const REFUSED = { status: 403, code: 'DESTINATION_NOT_ALLOWED' };

describe('loopback in every spelling, with the guard on', () => {
	/** Each reaches this machine's loopback, so a real upstream stands behind it. */
	const forms = (): [string, string][] => {
		const p = upstream.port;
		return [
			['dotted', `http://127.0.0.1:${p}/`],
			['IPv4-mapped dotted', `http://[::ffff:127.0.0.1]:${p}/`],
			['IPv4-mapped hex', `http://[::ffff:7f00:1]:${p}/`],
			['IPv4-mapped in full', `http://[0:0:0:0:0:ffff:7f00:1]:${p}/`],
			['IPv4-mapped upper case', `http://[::FFFF:7F00:1]:${p}/`],
			['decimal', `http://2130706433:${p}/`],
			['octal', `http://0177.0.0.1:${p}/`],
			['hex', `http://0x7f.1:${p}/`],
			['hex dword', `http://0x7f000001:${p}/`],
			['short', `http://127.1:${p}/`],
			['trailing dot', `http://127.0.0.1.:${p}/`],
			['localhost', `http://localhost:${p}/`],
			['LOCALHOST', `http://LOCALHOST:${p}/`],
			['https', `https://127.0.0.1:${p}/`],
			['127.0.0.2', `http://127.0.0.2:${upstream2.port}/`],
			['::1', `http://[::1]:${upstream6.port}/`],
			['::1 in full', `http://[0:0:0:0:0:0:0:1]:${upstream6.port}/`],
		];
	};

	it('refuses each one before sending anything, and says how an operator allows it', async () => {
		const strict = await relayServer({ allowPrivate: false });
		for (const [name, url] of forms()) {
			const r = await relay(strict, url);
			expect({ name, ...refusedAnswer(r) }).toEqual({ name, ...REFUSED });
			expect(r.body.message).toContain('N8N_SECRETS_RELAY_ALLOW');
			expect(JSON.stringify(r.body)).not.toContain(VALUE);
		}
		expect(hits()).toBe(0);
	});

	it('resolves nothing for a refused destination: no use in the audit trail, at the first hop or a redirect', async () => {
		const strict = await relayServer({ allowPrivate: false });
		for (const [, url] of forms()) expect(refusedAnswer(await relay(strict, url))).toEqual(REFUSED);
		expect((await t.service.listAudit(t.admin, { action: 'use' })).items).toEqual([]);

		const api = await relayServer({ relay: { allow: ['127.0.0.1/32'] } });
		upstream.answer = (_req, res) => {
			res.statusCode = 302;
			res.setHeader('location', `http://127.0.0.2:${upstream2.port}/stolen`);
			res.end();
		};
		expect(refusedAnswer(await relay(api, `http://127.0.0.1:${upstream.port}/start`))).toEqual(
			REFUSED,
		);
		const uses = (await t.service.listAudit(t.admin, { action: 'use' })).items;
		// One use: the first hop to the allowed 127.0.0.1; none for any refused destination.
		expect(uses.map((e) => e.destinationHost)).toEqual([`http://127.0.0.1:${upstream.port}`]);
		expect(upstream2.hits.length + upstream6.hits.length).toBe(0);
	});

	it('reaches each one when the operator allows private networks (the refusals above are real)', async () => {
		const open = await relayServer({ allowPrivate: true });
		for (const [name, url] of forms().filter(([, u]) => u.startsWith('http:'))) {
			const before = hits();
			const r = await relay(open, url);
			expect({ name, status: r.status, reached: hits() - before }).toEqual({
				name,
				status: 200,
				reached: 1,
			});
			expect(r.body.body.authorization).toBe('Bearer [redacted:stripe-key]');
		}
	});
});

/** One address inside each range, and the IPv6 spellings that carry an IPv4 address. */
const V4_SAMPLES: [string, string][] = [
	['"this network"', '0.0.0.0'],
	['"this network"', '0.1.2.3'],
	['private', '10.0.0.1'],
	['carrier-grade NAT', '100.64.0.1'],
	['carrier-grade NAT', '100.127.255.254'],
	['link-local', '169.254.169.254'],
	['private', '172.16.0.1'],
	['private', '172.31.255.254'],
	['IETF', '192.0.0.1'],
	['TEST-NET-1', '192.0.2.1'],
	['6to4 relay anycast', '192.88.99.1'],
	['private', '192.168.1.1'],
	['benchmarking', '198.18.0.1'],
	['benchmarking', '198.19.255.254'],
	['TEST-NET-2', '198.51.100.1'],
	['TEST-NET-3', '203.0.113.1'],
	['multicast', '224.0.0.1'],
	['multicast', '239.255.255.250'],
	['reserved', '240.0.0.1'],
	['broadcast', '255.255.255.255'],
];

const V6_SAMPLES: [string, string][] = [
	['unspecified', '::'],
	['local-use NAT64', '64:ff9b:1::a00:1'],
	['discard-only', '100::1'],
	['Teredo', '2001::1'],
	['benchmarking', '2001:2::1'],
	['IETF', '2001:10::1'],
	['documentation', '2001:db8::1'],
	['documentation', '3fff::1'],
	['segment routing', '5f00::1'],
	['unique-local', 'fc00::1'],
	['unique-local', 'fd12:3456::1'],
	['link-local', 'fe80::1'],
	['site-local', 'fec0::1'],
	['multicast', 'ff02::1'],
	['reserved', '4000::1'],
];

function hexPair(v4: string): string {
	const o = v4.split('.').map(Number);
	return `${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
}

/** Host spellings of an IPv4 address: decimal, octal, hex, and the IPv6 forms that embed it. */
function spellings(v4: string): string[] {
	const n = v4.split('.').reduce((a, o) => a * 256 + Number(o), 0);
	const octets = v4.split('.').map(Number);
	return [
		v4,
		String(n),
		octets.map((o) => `0${o.toString(8)}`).join('.'),
		`0x${n.toString(16)}`,
		`[::ffff:${v4}]`,
		`[::ffff:${hexPair(v4)}]`,
		`[::${v4}]`,
		`[64:ff9b::${v4}]`,
		`[64:ff9b::${hexPair(v4)}]`,
		`[2002:${hexPair(v4)}::1]`,
	];
}

describe('every special-purpose range, with the guard on', () => {
	it.each(V4_SAMPLES)('refuses %s %s in every spelling', async (why, v4) => {
		const strict = await relayServer({ allowPrivate: false });
		for (const host of spellings(v4)) {
			const r = await relay(strict, `http://${host}:8080/latest/meta-data`, { timeoutMs: 2000 });
			expect({ host, ...refusedAnswer(r) }).toEqual({ host, ...REFUSED });
			// [::0.0.0.0] and [::0.0.0.1] are :: and ::1, refused under those names.
			if (!/^\[::0\.0\.0\.[01]\]$/.test(host))
				expect({ host, why: r.body.message.includes(why) }).toEqual({ host, why: true });
		}
	});

	it.each(V6_SAMPLES)('refuses %s [%s]', async (why, v6) => {
		const strict = await relayServer({ allowPrivate: false });
		const r = await relay(strict, `http://[${v6}]:8080/`, { timeoutMs: 2000 });
		expect(refusedAnswer(r)).toEqual(REFUSED);
		expect(r.body.message).toContain(why);
	});

	it('refuses a redirect from an allowed upstream to a private or loopback address, at that hop', async () => {
		const api = await relayServer({ relay: { allow: ['127.0.0.1/32'] } });
		const targets = [
			`http://127.0.0.2:${upstream2.port}/stolen`,
			`http://[::ffff:127.0.0.2]:${upstream2.port}/stolen`,
			`http://[::1]:${upstream6.port}/stolen`,
			`http://2130706434:${upstream2.port}/stolen`,
			'http://169.254.169.254/latest/meta-data',
			'http://[::ffff:a9fe:a9fe]/latest/meta-data',
			'http://10.0.0.1/',
			'http://[fd00::1]/',
		];
		for (const target of targets) {
			upstream.hits.length = 0;
			upstream.answer = (_req, res) => {
				res.statusCode = 302;
				res.setHeader('location', target);
				res.end();
			};
			const r = await relay(api, `http://127.0.0.1:${upstream.port}/start`);
			expect({ target, ...refusedAnswer(r) }).toEqual({ target, ...REFUSED });
			expect(upstream.hits.map((h) => h.url)).toEqual(['/start']);
		}
		expect(upstream2.hits.length + upstream6.hits.length).toBe(0);
	});
});

describe('the operator allow list', () => {
	it('with 127.0.0.1/32 allowed, reaches 127.0.0.1 in any spelling but no other loopback address', async () => {
		const api = await relayServer({ relay: { allow: ['127.0.0.1/32'] } });
		for (const url of [
			`http://127.0.0.1:${upstream.port}/`,
			`http://[::ffff:127.0.0.1]:${upstream.port}/`,
			`http://2130706433:${upstream.port}/`,
			`http://localhost:${upstream.port}/`,
		]) {
			const r = await relay(api, url);
			expect({ url, status: r.status }).toEqual({ url, status: 200 });
		}
		expect(upstream.hits).toHaveLength(4);
		expect(upstream.hits[0].headers.authorization).toBe(`Bearer ${VALUE}`);
		for (const url of [
			`http://127.0.0.2:${upstream2.port}/`,
			`http://[::ffff:127.0.0.2]:${upstream2.port}/`,
			`http://[::ffff:7f00:2]:${upstream2.port}/`,
			`http://[::1]:${upstream6.port}/`,
			'http://169.254.169.254/',
		]) {
			const r = await relay(api, url);
			expect({ url, ...refusedAnswer(r) }).toEqual({ url, ...REFUSED });
		}
		expect(upstream2.hits.length + upstream6.hits.length).toBe(0);
	});

	it('reaches a host allowed by name whatever it resolves to, and nothing else by that entry', async () => {
		const api = await relayServer({ relay: { allow: ['localhost'] } });
		const r = await relay(api, `http://localhost:${upstream.port}/named`);
		expect(r.status).toBe(200);
		expect(upstream.hits.map((h) => h.url)).toEqual(['/named']);
		const literal = await relay(api, `http://127.0.0.1:${upstream.port}/literal`);
		expect(refusedAnswer(literal)).toEqual(REFUSED);
		expect(upstream.hits).toHaveLength(1);
	});

	it('stops the server at start on an invalid entry, naming it', async () => {
		await expect(
			buildServer({ service: t.service, log: () => undefined, relay: { allow: ['10.1.2.3/24'] } }),
		).rejects.toMatchObject({
			code: 'INVALID_INPUT',
			message: expect.stringContaining('10.1.2.3/24'),
		});
		await expect(
			startServer({
				env: {
					...t.storeEnv,
					N8N_SECRETS_MASTER_KEY: t.keyBase64,
					N8N_SECRETS_RELAY_ALLOW: '10.1.2.0/24, not a host',
				},
				host: '127.0.0.1',
				port: 0,
				log: () => undefined,
			}),
		).rejects.toMatchObject({
			code: 'INVALID_INPUT',
			message: expect.stringContaining('not a host'),
		});
	});

	it('reads N8N_SECRETS_RELAY_ALLOW when serving', async () => {
		const server = await startServer({
			env: {
				...t.storeEnv,
				N8N_SECRETS_MASTER_KEY: t.keyBase64,
				N8N_SECRETS_RELAY_ALLOW: ` 10.1.2.0/24 ,127.0.0.1`,
			},
			host: '127.0.0.1',
			port: 0,
			log: () => undefined,
		});
		try {
			const call = (url: string) =>
				fetch(`${server.url}/api/v1/relay`, {
					method: 'POST',
					headers: { authorization: `Bearer ${relayToken}`, 'content-type': 'application/json' },
					body: JSON.stringify({ environment: 'production', method: 'GET', url }),
				}).then(async (res) => ({ status: res.status, body: (await res.json()) as Answer }));
			expect((await call(`http://127.0.0.1:${upstream.port}/`)).status).toBe(200);
			const other = await call(`http://127.0.0.2:${upstream2.port}/`);
			expect(refusedAnswer(other)).toEqual(REFUSED);
		} finally {
			await server.close();
		}
	});
});

describe('compressed answers', () => {
	/** Each upstream answer: the echo of what it received, compressed as named, whatever was asked. */
	const ENCODINGS: [string, (b: Buffer) => Buffer][] = [
		['gzip', (b) => zlib.gzipSync(b)],
		['x-gzip', (b) => zlib.gzipSync(b)],
		['deflate', (b) => zlib.deflateSync(b)],
		['deflate', (b) => zlib.deflateRawSync(b)],
		['br', (b) => zlib.brotliCompressSync(b)],
		['gzip, br', (b) => zlib.brotliCompressSync(zlib.gzipSync(b))],
		['deflate,gzip', (b) => zlib.gzipSync(zlib.deflateSync(b))],
		['GZIP', (b) => zlib.gzipSync(b)],
	];
	// zstd where this Node has it (node:zlib gained it in 22.15).
	if (typeof zlib.zstdCompressSync === 'function')
		ENCODINGS.push(['zstd', (b) => zlib.zstdCompressSync(b)]);

	const echoCompressed =
		(encoding: string, compress: (b: Buffer) => Buffer, contentType = 'application/json') =>
		(req: IncomingMessage, res: ServerResponse): void => {
			const plain = Buffer.from(
				JSON.stringify({
					authorization: req.headers.authorization,
					again: String(req.headers.authorization).slice(7),
				}),
			);
			const body = compress(plain);
			res.setHeader('content-type', contentType);
			res.setHeader('content-encoding', encoding);
			res.setHeader('content-length', body.length);
			res.end(body);
		};

	it.each(ENCODINGS)(
		'asks for identity, decodes a %s answer and scrubs it, in every response format',
		async (encoding, compress) => {
			const api = await relayServer();
			upstream.answer = echoCompressed(encoding, compress);
			for (const responseFormat of ['autodetect', 'json', 'text', 'binary']) {
				const r = await relay(api, `http://127.0.0.1:${upstream.port}/`, {
					headers: [
						{ name: 'Authorization', value: 'Bearer [[secret:stripe-key]]' },
						{ name: 'Accept-Encoding', value: 'gzip, deflate, br' },
						{ name: 'ACCEPT-ENCODING', value: 'br' },
						{ name: 'TE', value: 'gzip' },
					],
					responseFormat,
				});
				expect({ responseFormat, status: r.status }).toEqual({ responseFormat, status: 200 });
				const text = JSON.stringify(r.body);
				for (const leak of LEAKS) expect(text).not.toContain(leak);
				expect(r.body.headers['content-encoding']).toBeUndefined();
				expect(r.body.headers['content-length']).toBeUndefined();
				const decoded =
					responseFormat === 'binary'
						? Buffer.from(r.body.binary.data, 'base64').toString('utf8')
						: typeof r.body.body === 'string'
							? r.body.body
							: JSON.stringify(r.body.body);
				for (const leak of LEAKS) expect(decoded).not.toContain(leak);
				expect(JSON.parse(decoded)).toEqual({
					authorization: 'Bearer [redacted:stripe-key]',
					again: '[redacted:stripe-key]',
				});
			}
			for (const hit of upstream.hits) {
				expect(hit.headers['accept-encoding']).toBe('identity');
				expect(hit.headers.te).toBeUndefined();
				expect(hit.headers.authorization).toBe(`Bearer ${VALUE}`);
			}
			expect(upstream.hits).toHaveLength(4);
		},
	);

	it('refuses to pass on what it cannot decode: an unknown coding, a corrupt body', async () => {
		const api = await relayServer();
		const cases: [string, (b: Buffer) => Buffer][] = [
			['compress', (b) => zlib.gzipSync(b)],
			['gzip, snappy', (b) => zlib.gzipSync(b)],
			['gzip', (b) => Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), b])],
			['br', (b) => b],
			['gzip, gzip, gzip, gzip, gzip', (b) => b],
		];
		for (const [encoding, compress] of cases) {
			upstream.answer = echoCompressed(encoding, compress, 'application/octet-stream');
			const r = await relay(api, `http://127.0.0.1:${upstream.port}/`, { neverError: true });
			expect({ encoding, status: r.status, code: r.body.code }).toEqual({
				encoding,
				status: 502,
				code: 'UPSTREAM_ERROR',
			});
			for (const leak of LEAKS) expect(JSON.stringify(r.body)).not.toContain(leak);
		}
	});

	it('stops a decompression bomb at the size bound with UPSTREAM_ERROR and keeps serving', async () => {
		const api = await relayServer({
			relay: { allow: ['127.0.0.1/32'], maxResponseBytes: 1024 * 1024 },
		});
		const zeros = Buffer.alloc(100 * 1024 * 1024);
		const bombs: [string, Buffer][] = [
			['br', zlib.brotliCompressSync(zeros)],
			['gzip', zlib.gzipSync(zeros, { level: 9 })],
		];
		bombs.push(['gzip, gzip', zlib.gzipSync(bombs[1][1])]);
		if (typeof zlib.zstdCompressSync === 'function')
			bombs.push(['zstd', zlib.zstdCompressSync(zeros)]);
		expect(bombs[0][1].length).toBeLessThan(1024);
		for (const [encoding, bomb] of bombs) {
			upstream.answer = (_req, res) => {
				res.setHeader('content-type', 'application/octet-stream');
				res.setHeader('content-encoding', encoding);
				res.end(bomb);
			};
			const r = await relay(api, `http://127.0.0.1:${upstream.port}/`, {
				responseFormat: 'binary',
			});
			expect({ encoding, status: r.status, code: r.body.code }).toEqual({
				encoding,
				status: 502,
				code: 'UPSTREAM_ERROR',
			});
			expect(r.body.message).toContain('decompresses to more than');
		}
		upstream.answer = echo;
		expect((await relay(api, `http://127.0.0.1:${upstream.port}/`)).status).toBe(200);
	});

	it('refuses a body sent with a transfer coding other than chunked (gzip, chunked), passing none of it on', async () => {
		const { gzipSync } = await import('node:zlib');
		const api = await relayServer();
		upstream.answer = (req, res) => {
			const body = gzipSync(JSON.stringify({ echoed: req.headers.authorization }));
			// Written by hand: Node's own server would not send a gzip transfer coding.
			res.socket!.end(
				'HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n' +
					'transfer-encoding: gzip, chunked\r\nconnection: close\r\n\r\n' +
					`${body.length.toString(16)}\r\n${body.toString('latin1')}\r\n0\r\n\r\n`,
				'latin1',
			);
		};
		const r = await relay(api, `http://127.0.0.1:${upstream.port}/`);
		expect(refusedAnswer(r)).toEqual({ status: 502, code: 'UPSTREAM_ERROR' });
		expect(JSON.stringify(r.body)).not.toContain(VALUE);
		expect(r.body.binary).toBeUndefined();
	});

	it('passes an empty HEAD answer that names an encoding', async () => {
		const api = await relayServer();
		upstream.answer = (_req, res) => {
			res.setHeader('content-encoding', 'gzip');
			res.end();
		};
		const r = await relay(api, `http://127.0.0.1:${upstream.port}/`, { method: 'HEAD' });
		expect(r.status).toBe(200);
		expect(r.body.headers['content-encoding']).toBeUndefined();
	});
});

describe('bodies nested deep enough to exhaust the stack', () => {
	const nestedArray = (depth: number, inner = '"[[secret:stripe-key]]"') =>
		'['.repeat(depth) + inner + ']'.repeat(depth);
	const nestedObject = (depth: number) =>
		'{"a":'.repeat(depth) + '"[[secret:stripe-key]]"' + '}'.repeat(depth);

	let stderr: string[];
	let restore: () => void;
	beforeEach(() => {
		stderr = [];
		const write = process.stderr.write.bind(process.stderr);
		const error = console.error;
		process.stderr.write = ((chunk: unknown) => {
			stderr.push(String(chunk));
			return true;
		}) as typeof process.stderr.write;
		console.error = (...args: unknown[]) => void stderr.push(args.map(String).join(' '));
		restore = () => {
			process.stderr.write = write;
			console.error = error;
		};
	});
	afterEach(() => restore());

	it('refuses a JSON request body nested deeper than 64 levels with INVALID_INPUT', async () => {
		const api = await relayServer();
		for (const body of [
			nestedArray(65),
			nestedArray(5_000),
			nestedArray(100_000),
			nestedObject(5_000),
		]) {
			const r = await relay(api, `http://127.0.0.1:${upstream.port}/`, {
				method: 'POST',
				bodyType: 'json',
				body,
			});
			expect({ depth: body.length, status: r.status, code: r.body.code }).toEqual({
				depth: body.length,
				status: 400,
				code: 'INVALID_INPUT',
			});
		}
		expect(upstream.hits).toHaveLength(0);
		const ok = await relay(api, `http://127.0.0.1:${upstream.port}/`, {
			method: 'POST',
			bodyType: 'json',
			body: nestedArray(64),
		});
		expect(ok.status).toBe(200);
		expect(upstream.hits[0].body).toBe(nestedArray(64, JSON.stringify(VALUE)));
		expect(api.logs.filter((l) => l.status === 500 || l.code === 'INTERNAL')).toEqual([]);
		expect(stderr).toEqual([]);
	});

	it('keeps a deeply nested upstream answer as scrubbed text, or refuses it when JSON was asked for', async () => {
		const api = await relayServer();
		for (const depth of [5_000, 100_000]) {
			upstream.answer = (req, res) => {
				res.setHeader('content-type', 'application/json');
				res.end(nestedArray(depth, JSON.stringify(String(req.headers.authorization))));
			};
			const auto = await relay(api, `http://127.0.0.1:${upstream.port}/`);
			expect({ depth, status: auto.status }).toEqual({ depth, status: 200 });
			expect(typeof auto.body.body).toBe('string');
			expect(auto.body.body).toContain('Bearer [redacted:stripe-key]');
			for (const leak of LEAKS) expect(auto.body.body).not.toContain(leak);

			const json = await relay(api, `http://127.0.0.1:${upstream.port}/`, {
				responseFormat: 'json',
			});
			expect({ depth, status: json.status, code: json.body.code }).toEqual({
				depth,
				status: 502,
				code: 'UPSTREAM_ERROR',
			});
			expect(JSON.stringify(json.body)).not.toContain(VALUE);
		}
		expect(api.logs.filter((l) => l.status === 500 || l.code === 'INTERNAL')).toEqual([]);
		expect(stderr).toEqual([]);
	});

	it('answers an ordinary nested answer as JSON', async () => {
		const api = await relayServer();
		upstream.answer = (req, res) => {
			res.setHeader('content-type', 'application/json');
			res.end(nestedArray(100, JSON.stringify(String(req.headers.authorization))));
		};
		const r = await relay(api, `http://127.0.0.1:${upstream.port}/`);
		expect(r.status).toBe(200);
		let inner: unknown = r.body.body;
		for (let i = 0; i < 100; i++) inner = (inner as unknown[])[0];
		expect(inner).toBe('Bearer [redacted:stripe-key]');
	});
});
