import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { rawSql } from '../helpers/store';

const CLI = resolve(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

let dir: string;
let env: NodeJS.ProcessEnv;
let adminToken: string;

interface Result {
	code: number | null;
	out: string;
	err: string;
}

/** Runs the built `n8n-secrets` as a user would, in its own process. */
function cli(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Result {
	const r = spawnSync(process.execPath, [CLI, ...args], {
		env: { ...env, ...opts.env },
		input: opts.input ?? '',
		encoding: 'utf8',
	});
	return { code: r.status, out: r.stdout, err: r.stderr };
}

const admin = (args: string[], input?: string) =>
	cli(args, { input, env: { N8N_SECRETS_TOKEN: adminToken } });

/** As `admin`, with standard input and output as bytes: for what must survive byte for byte. */
function adminBytes(
	args: string[],
	input: Buffer,
): { code: number | null; out: Buffer; err: string } {
	const r = spawnSync(process.execPath, [CLI, ...args], {
		env: { ...env, N8N_SECRETS_TOKEN: adminToken },
		input,
	});
	return { code: r.status, out: r.stdout, err: r.stderr.toString('utf8') };
}

function fingerprint(path: string): string {
	const h = createHash('sha256');
	for (const f of [path, `${path}-wal`]) if (existsSync(f)) h.update(readFileSync(f));
	return h.digest('hex');
}

beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'n8n-secrets-cli-'));
	const clean = Object.fromEntries(
		Object.entries(process.env).filter(([k]) => !k.startsWith('N8N_SECRETS_')),
	);
	env = {
		...clean,
		N8N_SECRETS_DB: join(dir, 'secrets.db'),
		N8N_SECRETS_MASTER_KEY: randomBytes(32).toString('base64'),
	};
	const init = cli(['init']);
	expect(init.code).toBe(0);
	adminToken = init.out.trim();
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('n8n-secrets CLI', () => {
	it('init prints only a token on stdout and the notes on stderr; a second init keeps the store', () => {
		expect(adminToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
		const again = cli(['init']);
		expect(again.code).toBe(0);
		expect(again.err).toContain('already existed');
		expect(again.err).toContain('Back up the master key');
		expect(admin(['secret', 'list']).code).toBe(0);
	});

	it('sets a value from stdin and reveals exactly it, per environment', () => {
		expect(
			admin(
				[
					'secret',
					'set',
					'stripe-key',
					'--env',
					'production',
					'--value-stdin',
					'--type',
					'API_KEY',
				],
				'sk_live_CLI\n',
			).code,
		).toBe(0);
		expect(
			admin(['secret', 'set', 'stripe-key', '--env', 'staging', '--value-stdin'], 'sk_test_CLI')
				.code,
		).toBe(0);
		expect(admin(['secret', 'get', 'stripe-key', '--env', 'production', '--reveal']).out).toBe(
			'sk_live_CLI\n',
		);
		expect(admin(['secret', 'get', 'stripe-key', '--env', 'staging', '--reveal']).out).toBe(
			'sk_test_CLI\n',
		);
	});

	it('never prints a value outside an explicit reveal', () => {
		admin(['secret', 'set', 'k', '--env', 'production', '--value-stdin'], 'CLI-CANARY-VALUE');
		admin(['secret', 'get', 'k', '--env', 'production', '--reveal']);
		const outputs = [
			admin(['secret', 'list']),
			admin(['secret', 'list', '--json']),
			admin(['secret', 'get', 'k']),
			admin(['secret', 'versions', 'k', '--env', 'production', '--json']),
			admin(['audit', 'list', '--json']),
			admin(['stats']),
			admin(['token', 'list']),
		];
		for (const r of outputs) {
			expect(r.code).toBe(0);
			expect(r.out + r.err).not.toContain('CLI-CANARY-VALUE');
		}
	});

	it('generates a value without printing it', () => {
		const r = admin([
			'secret',
			'set',
			'gen',
			'--env',
			'production',
			'--generate',
			'--length',
			'40',
			'--alphabet',
			'hex',
		]);
		expect(r.code).toBe(0);
		const value = admin(['secret', 'get', 'gen', '--env', 'production', '--reveal']).out.trim();
		expect(value).toMatch(/^[0-9a-f]{40}$/);
		expect(r.out + r.err).not.toContain(value);
	});

	it('stages, promotes and rolls back', () => {
		admin(['secret', 'set', 'k', '--env', 'production', '--value-stdin'], 'one');
		admin(['secret', 'stage', 'k', '--env', 'production', '--value-stdin'], 'two');
		expect(
			admin(['secret', 'get', 'k', '--env', 'production', '--reveal', '--label', 'pending']).out,
		).toBe('two\n');
		expect(admin(['secret', 'get', 'k', '--env', 'production', '--reveal']).out).toBe('one\n');
		expect(admin(['secret', 'promote', 'k', '--env', 'production']).code).toBe(0);
		expect(admin(['secret', 'get', 'k', '--env', 'production', '--reveal']).out).toBe('two\n');
		expect(admin(['secret', 'rollback', 'k', '--env', 'production']).code).toBe(0);
		expect(admin(['secret', 'get', 'k', '--env', 'production', '--reveal']).out).toBe('one\n');
		const versions = JSON.parse(
			admin(['secret', 'versions', 'k', '--env', 'production', '--json']).out,
		) as { version: number; labels: string[] }[];
		expect(versions.map((v) => [v.version, v.labels])).toEqual([
			[2, []],
			[1, ['current']],
		]);
	});

	it('refuses a stale expected version', () => {
		admin(['secret', 'set', 'k', '--env', 'production', '--value-stdin'], 'one');
		admin(['secret', 'set', 'k', '--env', 'production', '--value-stdin'], 'two');
		const r = admin(
			['secret', 'set', 'k', '--env', 'production', '--value-stdin', '--expected-version', '1'],
			'three',
		);
		expect(r.code).toBe(1);
		expect(r.err).toContain('error VERSION_CONFLICT');
	});

	it('refuses a wrong master key without a stack trace and without touching the store', () => {
		admin(['secret', 'set', 'k', '--env', 'production', '--value-stdin'], 'one');
		const before = fingerprint(env.N8N_SECRETS_DB!);
		const r = cli(['secret', 'list'], {
			env: {
				N8N_SECRETS_TOKEN: adminToken,
				N8N_SECRETS_MASTER_KEY: randomBytes(32).toString('base64'),
			},
		});
		expect(r.code).toBe(1);
		expect(r.err).toContain('error WRONG_MASTER_KEY');
		expect(r.err).not.toMatch(/^\s+at /m);
		expect(fingerprint(env.N8N_SECRETS_DB!)).toBe(before);
	});

	it('asks for a token when there is none', () => {
		const r = cli(['secret', 'list']);
		expect(r.code).toBe(2);
		expect(r.err).toContain('N8N_SECRETS_TOKEN');
	});

	it('keeps a use token from revealing, and audits the denial', () => {
		admin(['secret', 'set', 'k', '--env', 'production', '--value-stdin'], 'one');
		const user = admin(['token', 'create', '--role', 'user', '--subject', 'runner']).out.trim();
		const r = cli(['secret', 'get', 'k', '--env', 'production', '--reveal'], {
			env: { N8N_SECRETS_TOKEN: user },
		});
		expect(r.code).toBe(1);
		expect(r.err).toContain('error ACCESS_DENIED');
		expect(r.out).toBe('');
		const denials = JSON.parse(admin(['audit', 'list', '--action', 'deny', '--json']).out) as {
			actor: string;
		}[];
		expect(denials.map((d) => d.actor)).toEqual(['runner']);
	});

	it('creates constrained tokens and revokes them', () => {
		const created = JSON.parse(
			admin([
				'token',
				'create',
				'--role',
				'user',
				'--env',
				'staging',
				'--secrets',
				'stripe-*',
				'--subject',
				'n8n-staging',
				'--json',
			]).out,
		) as {
			token: string;
			jti: string;
			environments: string[];
			secrets: string[];
			scopes: string[];
		};
		expect(created).toMatchObject({
			environments: ['staging'],
			secrets: ['stripe-*'],
			scopes: ['secrets:list', 'secrets:use'],
		});
		expect(cli(['secret', 'list'], { env: { N8N_SECRETS_TOKEN: created.token } }).code).toBe(0);
		expect(admin(['token', 'revoke', created.jti]).code).toBe(0);
		const r = cli(['secret', 'list'], { env: { N8N_SECRETS_TOKEN: created.token } });
		expect(r.code).toBe(1);
		expect(r.err).toContain('error TOKEN_REVOKED');
	});

	it('verifies the audit chain and names an edited event', () => {
		admin(['secret', 'set', 'k', '--env', 'production', '--value-stdin'], 'one');
		const ok = admin(['audit', 'verify']);
		expect(ok.code).toBe(0);
		expect(ok.out).toMatch(/^Audit trail intact: \d+ events\./);
		rawSql(env.N8N_SECRETS_DB!, "UPDATE audit_events SET reason = 'edited' WHERE seq = 2");
		const broken = admin(['audit', 'verify']);
		expect(broken.code).toBe(1);
		expect(broken.out).toContain('BROKEN at event 2');
	});

	it('rotates the master key as its holder, with no access token; afterwards only the new key opens the store', () => {
		admin(['secret', 'set', 'k', '--env', 'production', '--value-stdin'], 'kept-value');
		const next = randomBytes(32).toString('base64');
		const r = cli(['key', 'rotate', '--reencrypt'], {
			env: { N8N_SECRETS_NEW_MASTER_KEY: next },
		});
		expect(r.code).toBe(0);
		expect(r.out).toContain('Master key replaced');
		expect(r.err).toContain('re-encrypting tenant default: 1/1');
		const old = admin(['secret', 'list']);
		expect(old.code).toBe(1);
		expect(old.err).toContain('retired');
		const withNew = cli(['secret', 'get', 'k', '--env', 'production', '--reveal'], {
			env: { N8N_SECRETS_TOKEN: adminToken, N8N_SECRETS_MASTER_KEY: next },
		});
		expect(withNew.out).toBe('kept-value\n');
	});

	it('explains itself and rejects bad command lines with exit code 2', () => {
		const help = cli(['--help']);
		expect(help.code).toBe(0);
		for (const c of ['init', 'secret', 'token', 'audit', 'key']) expect(help.out).toContain(c);
		expect(cli(['secret', 'set', '--help']).out).toContain(
			'there is deliberately no --value option',
		);
		expect(admin(['secret', 'set', 'x', '--env', 'p']).code).toBe(2);
		expect(admin(['secret', 'set', 'x', '--env', 'p', '--value', 'leaked']).code).toBe(2);
		expect(admin(['secret', 'nope']).code).toBe(2);
	});

	it('deletes, lists deleted, restores and purges', () => {
		admin(['secret', 'set', 'k', '--env', 'production', '--value-stdin'], 'one');
		expect(admin(['secret', 'delete', 'k']).code).toBe(0);
		expect(admin(['secret', 'list']).out).toBe('No secrets.\n');
		expect(admin(['secret', 'list', '--deleted']).out).toContain('deleted');
		expect(admin(['secret', 'restore', 'k']).code).toBe(0);
		expect(admin(['secret', 'get', 'k', '--env', 'production', '--reveal']).out).toBe('one\n');
		admin(['secret', 'delete', 'k']);
		expect(admin(['secret', 'purge', 'k']).code).toBe(0);
		expect(admin(['secret', 'list', '--deleted', '--json']).out.trim()).toBe('[]');
	});

	it('lists expiring and due secrets as JSON arrays', () => {
		admin(
			[
				'secret',
				'set',
				'k',
				'--env',
				'production',
				'--value-stdin',
				'--expires-at',
				new Date(Date.now() + 3 * 86_400_000).toISOString(),
			],
			'one',
		);
		const expiring = JSON.parse(admin(['secret', 'expiring', '--within', '30', '--json']).out) as {
			name: string;
		}[];
		expect(expiring.map((e) => e.name)).toEqual(['k']);
		expect(JSON.parse(admin(['secret', 'due', '--json']).out)).toEqual([]);
	});

	describe('values on standard input are stored byte for byte', () => {
		const set = (input: Buffer) =>
			adminBytes(['secret', 'set', 'k', '--env', 'production', '--value-stdin'], input);
		const reveal = () =>
			adminBytes(['secret', 'get', 'k', '--env', 'production', '--reveal'], Buffer.alloc(0));

		const exact: [string, Buffer][] = [
			['a NUL inside', Buffer.from('before\u0000after', 'utf8')],
			[
				'every C0 control but newline, and DEL',
				Buffer.from([...Array(32).keys()].filter((b) => b !== 10).concat(127)),
			],
			['a byte order mark first', Buffer.from('\ufeffBOM-value', 'utf8')],
			['astral characters', Buffer.from('🔑𝔘 ünïcödé', 'utf8')],
			['a carriage return alone at the end', Buffer.from('value\r', 'utf8')],
		];
		it.each(exact)(
			'%s: revealed exactly as given (plus the one newline the reveal prints)',
			(_what, bytes) => {
				expect(set(bytes).code).toBe(0);
				const r = reveal();
				expect(r.code).toBe(0);
				expect(r.out).toEqual(Buffer.concat([bytes, Buffer.from('\n')]));
				const json = adminBytes(
					['secret', 'get', 'k', '--env', 'production', '--reveal', '--json'],
					Buffer.alloc(0),
				);
				expect(Buffer.from(JSON.parse(json.out.toString('utf8')).value, 'utf8')).toEqual(bytes);
			},
		);

		it('drops exactly one trailing newline (LF or CRLF): a value ending in a newline is given with one more', () => {
			const cases: [string, string][] = [
				['line\n', 'line'],
				['line\r\n', 'line'],
				['line\n\n', 'line\n'],
				['line\r\n\r\n', 'line\r\n'],
				['two\nlines', 'two\nlines'],
			];
			for (const [given, stored] of cases) {
				expect(set(Buffer.from(given, 'utf8')).code).toBe(0);
				expect(reveal().out.toString('utf8')).toBe(`${stored}\n`);
			}
		});

		const notUtf8: [string, number[]][] = [
			['a lone 0xFF byte', [0x61, 0xff, 0x62]],
			['a truncated two-byte sequence at the end', [0x61, 0xc3]],
			['an encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
			['an overlong encoding of "/"', [0xc0, 0xaf]],
			['Latin-1 text', [...Buffer.from('caf\u00e9', 'latin1')]],
			['UTF-16 with a byte order mark', [0xff, 0xfe, 0x61, 0x00]],
		];
		it.each(notUtf8)(
			'refuses %s with exit 2 and INVALID_INPUT, storing nothing',
			(_what, bytes) => {
				expect(set(Buffer.from('kept-value')).code).toBe(0);
				const r = set(Buffer.from(bytes));
				expect(r.code).toBe(2);
				expect(r.err).toContain('INVALID_INPUT');
				expect(r.err).toContain('UTF-8');
				expect(reveal().out.toString('utf8')).toBe('kept-value\n');
				const created = adminBytes(
					['secret', 'set', 'fresh', '--env', 'production', '--value-stdin'],
					Buffer.from(bytes),
				);
				expect(created.code).toBe(2);
				expect(admin(['secret', 'get', 'fresh']).err).toContain('SECRET_NOT_FOUND');
			},
		);
	});

	it('refuses control characters in a reason and an odd token id before opening the store', () => {
		admin(['secret', 'set', 'k', '--env', 'production', '--value-stdin'], 'one');
		const del = admin(['secret', 'delete', 'k', '--reason', 'clean\u001b[2Jup']);
		expect(del.code).toBe(2);
		expect(del.err).toContain('INVALID_INPUT');
		expect(admin(['secret', 'get', 'k', '--env', 'production', '--reveal']).out).toBe('one\n');
		const revoke = admin(['token', 'revoke', 'no such/token']);
		expect(revoke.code).toBe(2);
		expect(revoke.err).toContain('INVALID_INPUT');
	});
});
