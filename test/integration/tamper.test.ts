/**
 * The tamper suite: someone with write access to the database (not the master key) edits, swaps or
 * deletes rows. Every column of every table that decides which value is served and to whom is
 * edited in turn; the next operation that reads the row refuses with INTEGRITY_ERROR, records it in
 * the audit trail, and serves nothing. Then the column is put back and the same operation works.
 * What the seals do not catch (whole rows moved away or deleted, an older copy of a row put back)
 * is listed in docs/ARCHITECTURE.md, and each line of that list has its test here.
 */
import { SEALED_COLUMNS, type SealedTable } from '../../src/store/row-seals';
import type { SecretsService } from '../../src/service/secrets-service';
import { STORE_KIND, createTestStore, type TestStore } from '../helpers/store';

type Row = Record<string, unknown>;

let t: TestStore;
let victim: { token: string; jti: string };
let secretId: string;
let otherId: string;

beforeAll(async () => {
	t = await createTestStore();
	await t.service.createSecret(t.admin, {
		name: 'payment-key',
		environment: 'production',
		value: 'pk-live-1',
		allowedHosts: ['api.stripe.com'],
		tags: ['payments'],
		expiresAt: '2027-06-01T00:00:00.000Z',
	});
	await t.service.rotate(t.admin, {
		name: 'payment-key',
		environment: 'production',
		value: 'pk-live-2',
	});
	await t.service.createSecret(t.admin, {
		name: 'other-key',
		environment: 'production',
		value: 'other-1',
	});
	const issued = await t.service.createToken(t.admin, {
		subject: 'victim',
		role: 'operator',
		ttl: '30d',
	});
	victim = { token: issued.token, jti: issued.info.jti };
	secretId = ((await t.sql("SELECT id FROM secrets WHERE name = 'payment-key'")) as Row[])[0]
		.id as string;
});

beforeAll(async () => {
	otherId = ((await t.sql("SELECT id FROM secrets WHERE name = 'other-key'")) as Row[])[0]
		.id as string;
});

/** The reveal every case ends with: payment-key's production value, as an admin gets it. */
const revealPayment = () =>
	t.service.reveal(t.admin, { name: 'payment-key', environment: 'production' });

afterAll(() => t.cleanup());

/** A different value of the same kind, so the edit is one an attacker could plausibly make. */
function edited(column: string, value: unknown): unknown {
	// Foreign keys hold the row to an existing secret: the other one.
	if (column === 'secret_id') return otherId;
	if (value instanceof Uint8Array) {
		const copy = Buffer.from(value);
		copy[0] ^= 0x01;
		return copy;
	}
	if (typeof value === 'number') return value + 1;
	if (typeof value === 'string') {
		if (value.startsWith('[')) return value === '[]' ? '["*"]' : '[]';
		if (/^\d{4}-\d\d-\d\dT/.test(value)) return '2031-01-01T00:00:00.000Z';
		return `${value}x`;
	}
	// NULL: a date where the column holds one, a number where it counts, text otherwise.
	if (/_at$|_since$|^not_before$/.test(column)) return '2020-01-01T00:00:00.000Z';
	if (/version|days/.test(column)) return 1;
	return 'x';
}

/** The row each table's cases edit, as column = value pairs. */
const SELECTORS: Record<SealedTable, () => Row> = {
	secrets: () => ({ id: secretId }),
	value_lines: () => ({ secret_id: secretId, environment: 'production' }),
	versions: () => ({ secret_id: secretId, environment: 'production', version: 2 }),
	tokens: () => ({ jti: victim.jti }),
	signing_keys: () => ({}),
};

function where(selector: Row): [string, string[]] {
	const cols = Object.keys(selector);
	return [
		cols.length ? cols.map((c) => `${c} = ?`).join(' AND ') : '1 = 1',
		cols.map((c) => selector[c] as string),
	];
}

/** The operation that reads the row, as the person or process that would meet the edit. */
const PROBES: Record<SealedTable, () => Promise<unknown>> = {
	secrets: () => t.service.listSecrets(t.admin, { includeDeleted: true }),
	value_lines: () => t.service.getSecret(t.admin, 'payment-key'),
	versions: () =>
		t.service.use(t.admin, {
			name: 'payment-key',
			environment: 'production',
			destinationHost: 'api.stripe.com',
		}),
	tokens: () => t.service.getSecret(victim, 'payment-key'),
	// A fresh process: the public key is read (and checked) when the token is first verified.
	signing_keys: async () => {
		const fresh: SecretsService = await t.open();
		return fresh.getSecret(t.admin, 'payment-key');
	},
};

/**
 * Columns that say where a row belongs rather than what it says: changing them moves the row out of
 * sight (its secret, tenant or token no longer finds it), which refuses rather than serves. Those
 * are the "moved away" lines of the documented list, tested below.
 */
const ADDRESS_COLUMNS: Record<SealedTable, string[]> = {
	secrets: ['tenant', 'id'],
	value_lines: ['tenant', 'secret_id'],
	versions: ['tenant'],
	tokens: ['tenant', 'jti'],
	signing_keys: ['tenant', 'kid'],
};

const cases = (Object.keys(SEALED_COLUMNS) as SealedTable[]).flatMap((table) =>
	[
		...SEALED_COLUMNS[table],
		'seal',
		...(table === 'versions' || table === 'signing_keys' ? [] : ['seal_key']),
	]
		.filter((c) => !ADDRESS_COLUMNS[table].includes(c))
		.map((column) => [table, column] as const),
);

describe(`every sealed column on ${STORE_KIND}`, () => {
	it.each(cases)(
		'%s.%s edited: INTEGRITY_ERROR, audited, nothing served',
		async (table, column) => {
			const selector = SELECTORS[table]();
			const [clause, params] = where(selector);
			const before = (await t.sql(`SELECT * FROM ${table} WHERE ${clause}`, ...params)) as Row[];
			expect(before.length).toBeGreaterThan(0);
			const original = before[0][column];
			const changed = edited(column, original);
			await t.sql(
				`UPDATE ${table} SET ${column} = ? WHERE ${clause}`,
				changed as string,
				...params,
			);
			try {
				const failure = await PROBES[table]().then(
					() => null,
					(err: { code?: string; message?: string }) => err,
				);
				expect(failure).toMatchObject({ code: 'INTEGRITY_ERROR' });
				expect(failure!.message).not.toContain('pk-live');
			} finally {
				// The row is found again by what it now says (the edit may have changed its address).
				const [now, nowParams] = where(
					column in selector ? { ...selector, [column]: changed } : selector,
				);
				await t.sql(
					`UPDATE ${table} SET ${column} = ? WHERE ${now}`,
					original as string,
					...nowParams,
				);
			}
			// Put back, the same operation works again: nothing was changed by the refusal.
			await expect(PROBES[table]()).resolves.toBeDefined();
			if (table !== 'signing_keys') {
				// Recorded: a failure whose reason is the integrity error (the signing key's case cannot
				// be: without a trustworthy key there is no identity to record it under).
				const events = await t.service.listAudit(t.admin, { outcome: 'failure', limit: 5 });
				expect(events.items.some((e) => e.reason === 'INTEGRITY_ERROR')).toBe(true);
			}
		},
	);
});

describe(`swaps and the reproduced findings on ${STORE_KIND}`, () => {
	it('two secrets with their names swapped: neither name serves a value', async () => {
		await t.sql("UPDATE secrets SET name = 'tmp-swap' WHERE name = 'payment-key'");
		await t.sql("UPDATE secrets SET name = 'payment-key' WHERE name = 'other-key'");
		await t.sql("UPDATE secrets SET name = 'other-key' WHERE name = 'tmp-swap'");
		try {
			for (const name of ['payment-key', 'other-key']) {
				await expect(
					t.service.reveal(t.admin, { name, environment: 'production' }),
				).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
			}
		} finally {
			await t.sql("UPDATE secrets SET name = 'tmp-swap' WHERE name = 'payment-key'");
			await t.sql("UPDATE secrets SET name = 'payment-key' WHERE name = 'other-key'");
			await t.sql("UPDATE secrets SET name = 'other-key' WHERE name = 'tmp-swap'");
		}
		expect((await revealPayment()).value).toBe('pk-live-2');
	});

	it('a whole sealed row copied over another (seal and all) is refused', async () => {
		// The other secret's line, seal included, written over payment-key's: the seal covers the
		// secret id, so it does not pass as payment-key's line.
		const other = ((await t.sql("SELECT id FROM secrets WHERE name = 'other-key'")) as Row[])[0]
			.id as string;
		const [line] = (await t.sql(
			"SELECT * FROM value_lines WHERE secret_id = ? AND environment = 'production'",
			other,
		)) as Row[];
		const [mine] = (await t.sql(
			"SELECT * FROM value_lines WHERE secret_id = ? AND environment = 'production'",
			secretId,
		)) as Row[];
		await t.sql(
			"UPDATE value_lines SET current_version = ?, latest_version = ?, seal = ?, seal_key = ? WHERE secret_id = ? AND environment = 'production'",
			line.current_version as number,
			line.latest_version as number,
			line.seal as Uint8Array,
			line.seal_key as string,
			secretId,
		);
		try {
			await expect(revealPayment()).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
		} finally {
			await t.sql(
				"UPDATE value_lines SET current_version = ?, latest_version = ?, seal = ?, seal_key = ? WHERE secret_id = ? AND environment = 'production'",
				mine.current_version as number,
				mine.latest_version as number,
				mine.seal as Uint8Array,
				mine.seal_key as string,
				secretId,
			);
		}
	});

	it('a revoked token brought back by clearing revoked_at stays refused', async () => {
		const issued = await t.service.createToken(t.admin, {
			subject: 'leaked',
			role: 'operator',
			ttl: '1d',
		});
		await t.service.revokeToken(t.admin, issued.info.jti);
		await t.sql('UPDATE tokens SET revoked_at = NULL WHERE jti = ?', issued.info.jti);
		await expect(t.service.getSecret({ token: issued.token }, 'payment-key')).rejects.toMatchObject(
			{ code: 'INTEGRITY_ERROR' },
		);
	});
});

describe(`what the seals do not catch, on ${STORE_KIND} (docs/ARCHITECTURE.md)`, () => {
	it('a line moved to another secret: the first has no value (refused), the other refuses it', async () => {
		await t.sql(
			"UPDATE value_lines SET secret_id = ?, environment = 'staging' WHERE secret_id = ? AND environment = 'production'",
			otherId,
			secretId,
		);
		try {
			await expect(revealPayment()).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
			await expect(
				t.service.reveal(t.admin, { name: 'other-key', environment: 'staging' }),
			).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
		} finally {
			await t.sql(
				"UPDATE value_lines SET secret_id = ?, environment = 'production' WHERE secret_id = ? AND environment = 'staging'",
				secretId,
				otherId,
			);
		}
		expect((await revealPayment()).value).toBe('pk-live-2');
	});

	it('a version row the line names, deleted, is INTEGRITY_ERROR; the whole secret deleted is not found', async () => {
		const [v] = (await t.sql(
			"SELECT * FROM versions WHERE secret_id = ? AND environment = 'production' AND version = 2",
			secretId,
		)) as Row[];
		await t.sql(
			"DELETE FROM versions WHERE secret_id = ? AND environment = 'production' AND version = 2",
			secretId,
		);
		try {
			await expect(revealPayment()).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
		} finally {
			const cols = Object.keys(v);
			await t.sql(
				`INSERT INTO versions (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
				...(cols.map((c) => v[c]) as string[]),
			);
		}
		expect((await revealPayment()).value).toBe('pk-live-2');
	});

	it('a revoked token whose row is deleted is unknown: refused (401), not revived', async () => {
		const issued = await t.service.createToken(t.admin, {
			subject: 'deleted',
			role: 'operator',
			ttl: '1d',
		});
		await t.service.revokeToken(t.admin, issued.info.jti);
		await t.sql('DELETE FROM tokens WHERE jti = ?', issued.info.jti);
		await expect(t.service.getSecret({ token: issued.token }, 'payment-key')).rejects.toMatchObject(
			{ code: 'TOKEN_INVALID' },
		);
	});

	it('NOT caught: an older copy of a sealed row put back (a rollback by someone who kept a copy)', async () => {
		// The line as it was when version 1 was current, seal and all, restored after a rotation:
		// the seal is valid (it was made by the store), so the older value is served. Only the audit
		// trail shows it (the rotation's event is there). Documented as the seals' limit.
		const fresh = await createTestStore();
		try {
			await fresh.service.createSecret(fresh.admin, {
				name: 'k',
				environment: 'production',
				value: 'old',
			});
			const [old] = (await fresh.sql('SELECT * FROM value_lines')) as Row[];
			await fresh.service.rotate(fresh.admin, {
				name: 'k',
				environment: 'production',
				value: 'new',
			});
			await fresh.sql(
				'UPDATE value_lines SET current_version = ?, previous_version = ?, latest_version = ?, current_since = ?, previous_since = ?, seal = ?, seal_key = ?',
				old.current_version as number,
				old.previous_version as string,
				old.latest_version as number,
				old.current_since as string,
				old.previous_since as string,
				old.seal as Uint8Array,
				old.seal_key as string,
			);
			expect(
				(await fresh.service.reveal(fresh.admin, { name: 'k', environment: 'production' })).value,
			).toBe('old');
		} finally {
			await fresh.cleanup();
		}
	});
});

describe(`tables outside the seals, on ${STORE_KIND}`, () => {
	it('a tag added to the secret_tags index does not put a secret into a tag filter', async () => {
		await t.sql(
			"INSERT INTO secret_tags (secret_id, tenant, tag) VALUES (?, 'default', 'payments')",
			otherId,
		);
		try {
			const page = await t.service.listSecrets(t.admin, { tag: 'payments' });
			expect(page.items.map((s) => s.name)).toEqual(['payment-key']);
		} finally {
			await t.sql("DELETE FROM secret_tags WHERE secret_id = ? AND tag = 'payments'", otherId);
		}
	});

	it('a wrapped data key edited is INTEGRITY_ERROR in a fresh process (the wrap binds tenant and id)', async () => {
		const [k] = (await t.sql("SELECT id, wrapped FROM data_keys WHERE state = 'active'")) as Row[];
		const flipped = Buffer.from(k.wrapped as Uint8Array);
		flipped[flipped.length - 1] ^= 0x01;
		await t.sql('UPDATE data_keys SET wrapped = ? WHERE id = ?', flipped, k.id as string);
		try {
			const fresh = await t.open();
			await expect(
				fresh.reveal(t.admin, { name: 'payment-key', environment: 'production' }),
			).rejects.toMatchObject({ code: 'INTEGRITY_ERROR' });
		} finally {
			await t.sql(
				'UPDATE data_keys SET wrapped = ? WHERE id = ?',
				k.wrapped as Uint8Array,
				k.id as string,
			);
		}
	});
});
