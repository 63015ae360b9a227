/**
 * What the GraphQL schema is generated from: a zod schema read as a type (`peel`, from
 * core/zod-shape.ts, takes off the wrappers and keeps what they say); enums get one GraphQL enum per
 * set of values, named after the domain's own lists where there is one.
 */
import {
	GraphQLBoolean,
	GraphQLEnumType,
	type GraphQLEnumValueConfigMap,
	GraphQLFloat,
	GraphQLInt,
	GraphQLNonNull,
	type GraphQLNullableType,
	GraphQLScalarType,
	GraphQLString,
	valueFromASTUntyped,
} from 'graphql';
import { z } from 'zod';

import {
	AUDIT_ACTIONS,
	ROLES,
	ROTATION_POLICIES,
	SCOPES,
	SECRET_TYPES,
	VERSION_LABELS,
} from '../core/model';
import { LIST_SORTS, LIST_STATUSES } from '../core/schemas';

import { type Peeled, objectOf, peel } from '../core/zod-shape';

export { type Peeled, objectOf, peel };

/** `allowed-hosts` → `AllowedHosts`. */
export function pascal(name: string): string {
	return name
		.split(/[^A-Za-z0-9]+/)
		.filter(Boolean)
		.map((w) => w[0].toUpperCase() + w.slice(1))
		.join('');
}

/** Records and free-form values: any JSON, as given. */
export const JsonScalar = new GraphQLScalarType({
	name: 'JSON',
	description: 'Any JSON value (used for maps such as counts by type).',
	serialize: (v) => v,
	parseValue: (v) => v,
	parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

/** The domain's own value lists, each one GraphQL enum under the domain's name for it. */
const KNOWN_ENUMS: readonly (readonly [readonly string[], string])[] = [
	[SECRET_TYPES, 'SecretType'],
	[ROTATION_POLICIES, 'RotationPolicy'],
	[VERSION_LABELS, 'VersionLabel'],
	[SCOPES, 'Scope'],
	[Object.keys(ROLES), 'Role'],
	[AUDIT_ACTIONS, 'AuditAction'],
	[['success', 'denied', 'failure'], 'AuditOutcome'],
	[['rotate', 'remind'], 'RotationAction'],
	[LIST_STATUSES, 'SecretStatus'],
	// `-name` (descending) is `_name`: GraphQL enum values hold no `-`.
	[LIST_SORTS, 'SecretSort'],
];

const keyOf = (values: readonly string[]) => [...values].sort().join('\u0000');

/**
 * A value as a GraphQL enum value name: GraphQL names allow letters, digits and `_` only, so
 * `secrets:list` is `secrets_list` and `token.create` is `token_create`. The value the service sees
 * (and REST shows) is unchanged.
 */
export function enumValueName(value: string): string {
	const name = value.replace(/[^_0-9A-Za-z]/g, '_');
	return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** One GraphQL enum per set of values, shared by inputs and outputs. */
export class EnumRegistry {
	private readonly byValues = new Map<string, GraphQLEnumType>();
	private readonly names = new Set<string>();

	/** The enum for `values`; `fallbackName` names it when the domain has no name for the list. */
	get(values: readonly string[], fallbackName: string): GraphQLEnumType {
		const key = keyOf(values);
		const known = this.byValues.get(key);
		if (known) return known;
		const name = KNOWN_ENUMS.find(([v]) => keyOf(v) === key)?.[1] ?? fallbackName;
		if (this.names.has(name)) throw new Error(`GraphQL enum ${name} would be defined twice`);
		const config: GraphQLEnumValueConfigMap = {};
		for (const value of values) {
			const valueName = enumValueName(value);
			if (config[valueName]) throw new Error(`GraphQL enum ${name}: two values named ${valueName}`);
			config[valueName] = { value };
		}
		const type = new GraphQLEnumType({ name, values: config });
		this.byValues.set(key, type);
		this.names.add(name);
		return type;
	}
}

/** The scalar of a zod literal (`reencrypt: true` is a Boolean). */
function literalType(value: unknown): GraphQLScalarType {
	if (typeof value === 'boolean') return GraphQLBoolean;
	if (typeof value === 'number') return Number.isInteger(value) ? GraphQLInt : GraphQLFloat;
	if (typeof value === 'string') return GraphQLString;
	throw new Error(`no GraphQL type for a ${typeof value} literal`);
}

/**
 * The GraphQL scalar of a zod scalar (string, integer or other number, boolean, literal; a record or
 * an unknown value is JSON), or null for what is not a scalar.
 */
export function scalarType(base: z.ZodTypeAny): GraphQLScalarType | null {
	if (base instanceof z.ZodString) return GraphQLString;
	if (base instanceof z.ZodNumber) return base.isInt ? GraphQLInt : GraphQLFloat;
	if (base instanceof z.ZodBoolean) return GraphQLBoolean;
	if (base instanceof z.ZodLiteral) return literalType(base.value);
	if (base instanceof z.ZodRecord || base instanceof z.ZodUnknown) return JsonScalar;
	return null;
}

/** `type` as the field `p` describes holds it: non-null unless it may be left out or be null. */
export function asField<T extends GraphQLNullableType>(p: Peeled, type: T): T | GraphQLNonNull<T> {
	return p.optional || p.nullable ? type : new GraphQLNonNull(type);
}
