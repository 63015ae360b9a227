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

	it('rotates the master key; afterwards only the new key opens the store', () => {
		admin(['secret', 'set', 'k', '--env', 'production', '--value-stdin'], 'kept-value');
		const next = randomBytes(32).toString('base64');
		const r = cli(['key', 'rotate', '--reencrypt'], {
			env: { N8N_SECRETS_TOKEN: adminToken, N8N_SECRETS_NEW_MASTER_KEY: next },
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
});
