/**
 * The GraphQL schema against the operation table and the checked-in SDL: every field the table
 * declares and no other, arguments from the input schemas, one place that carries a value (reveal),
 * and docs/schema.graphql as `npm run graphql:sdl` generates it (a drift check).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { getNamedType, isObjectType } from 'graphql';

import { VALUE_TYPE_NAME } from '../../src/graphql/outputs';
import { schemaSdl } from '../../src/graphql/schema';
import { objectOf } from '../../src/graphql/zod-types';
import { OPERATION_NAMES, declaration } from '../../src/service/operations';
import { FIELDS, SCHEMA } from '../helpers/graphql';

const rootFields = (root: 'query' | 'mutation') =>
	Object.keys((root === 'query' ? SCHEMA.getQueryType() : SCHEMA.getMutationType())!.getFields());

describe('the GraphQL schema', () => {
	it('is docs/schema.graphql (run `npm run graphql:sdl` after changing an operation)', () => {
		const checkedIn = readFileSync(join(__dirname, '../../docs/schema.graphql'), 'utf8');
		expect(checkedIn).toBe(schemaSdl());
	});

	it('has a field for every operation the table exposes, and no other', () => {
		for (const root of ['query', 'mutation'] as const) {
			const declared = OPERATION_NAMES.map((n) => declaration(n).graphql)
				.map((g) => (root in g ? (g as Record<string, string>)[root] : undefined))
				.filter(Boolean);
			expect(rootFields(root).sort()).toEqual([...declared].sort());
		}
		// And an operation the table keeps out says why.
		for (const name of OPERATION_NAMES) {
			const g = declaration(name).graphql;
			if ('none' in g) expect(g.none.length).toBeGreaterThan(10);
		}
	});

	it("takes each operation's input fields as arguments, its local fields left out", () => {
		for (const f of FIELDS) {
			const decl = declaration(f.operation);
			const root = f.root === 'query' ? SCHEMA.getQueryType()! : SCHEMA.getMutationType()!;
			const args = root.getFields()[f.field].args.map((a) => a.name);
			const local = new Set(decl.localFields ?? []);
			const fields = Object.keys(objectOf(decl.input, f.operation).shape).filter(
				(k) => !local.has(k),
			);
			expect({ op: f.operation, args: args.sort() }).toEqual({
				op: f.operation,
				args: fields.sort(),
			});
		}
	});

	it('carries a value in one place only: the reveal mutation', () => {
		const valueFields: string[] = [];
		const valueTyped: string[] = [];
		for (const type of Object.values(SCHEMA.getTypeMap())) {
			if (!isObjectType(type) || type.name.startsWith('__')) continue;
			for (const field of Object.values(type.getFields())) {
				if (field.name === 'value') valueFields.push(`${type.name}.${field.name}`);
				if (getNamedType(field.type).name === VALUE_TYPE_NAME)
					valueTyped.push(`${type.name}.${field.name}`);
			}
		}
		expect(valueFields).toEqual([`${VALUE_TYPE_NAME}.value`]);
		expect(valueTyped).toEqual(['Mutation.reveal']);
		expect(FIELDS.find((f) => f.field === 'reveal')).toMatchObject({
			operation: 'reveal',
			root: 'mutation',
		});
	});
});
