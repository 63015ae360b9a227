/**
 * Arguments generated from an operation's input schema: one flat argument per input field (the
 * declaration's local fields left out), nested objects as input types, a union of objects as a
 * `@oneOf` input, enums as enums, simple zod defaults as GraphQL defaults. The service still parses
 * the input with the same schema, so GraphQL types only what the schema already says.
 */
import {
	type GraphQLFieldConfigArgumentMap,
	type GraphQLInputFieldConfigMap,
	GraphQLInputObjectType,
	type GraphQLInputType,
	GraphQLList,
	GraphQLString,
	getNullableType,
} from 'graphql';
import { z } from 'zod';

import * as schema from '../core/schemas';
import type { OperationDecl } from '../service/operations';
import { EnumRegistry, asField, objectOf, pascal, peel, scalarType } from './zod-types';

/** Input objects the domain has a name for; others are named after the field that holds them. */
const INPUT_NAMES: ReadonlyMap<z.ZodTypeAny, string> = new Map<z.ZodTypeAny, string>([
	[schema.generateSpec, 'GenerateSpec'],
	[schema.versionSelector, 'VersionSelector'],
]);

/** A default GraphQL can show: a scalar, or a list of scalars. */
function simpleDefault(value: unknown): boolean {
	const scalar = (v: unknown) => ['string', 'number', 'boolean'].includes(typeof v);
	return scalar(value) || (Array.isArray(value) && value.every(scalar));
}

export class InputTypes {
	private readonly objects = new Map<z.ZodTypeAny, GraphQLInputObjectType>();
	private readonly names = new Set<string>();

	constructor(private readonly enums: EnumRegistry) {}

	/** The arguments of an operation's field, from its input schema (local fields left out). */
	args(decl: OperationDecl, typeName: string): GraphQLFieldConfigArgumentMap {
		const local = new Set(decl.localFields ?? []);
		return this.fields(objectOf(decl.input, typeName).shape, typeName, local);
	}

	private fields(
		shape: z.ZodRawShape,
		prefix: string,
		skip: ReadonlySet<string> = new Set(),
	): GraphQLInputFieldConfigMap {
		const out: GraphQLInputFieldConfigMap = {};
		for (const [key, field] of Object.entries(shape)) {
			if (skip.has(key)) continue;
			const p = peel(field);
			out[key] = {
				type: asField(p, this.type(p.base, `${prefix}${pascal(key)}`)),
				description: p.description,
				defaultValue: simpleDefault(p.defaultValue) ? p.defaultValue : undefined,
			};
		}
		return out;
	}

	private type(base: z.ZodTypeAny, hint: string): GraphQLInputType {
		const scalar = scalarType(base);
		if (scalar) return scalar;
		if (base instanceof z.ZodEnum) return this.enums.get(base.options, pascal(hint));
		if (base instanceof z.ZodArray) {
			const p = peel(base.element);
			return new GraphQLList(asField(p, this.type(p.base, hint)));
		}
		if (base instanceof z.ZodObject) return this.object(base, hint);
		if (base instanceof z.ZodUnion) return this.union(base, hint);
		throw new Error(`${hint}: no GraphQL input type for ${base.constructor.name}`);
	}

	private named(s: z.ZodTypeAny, hint: string, make: (name: string) => GraphQLInputObjectType) {
		const known = this.objects.get(s);
		if (known) return known;
		const name = INPUT_NAMES.get(s) ?? `${pascal(hint)}Input`;
		if (this.names.has(name)) throw new Error(`GraphQL input ${name} would be defined twice`);
		this.names.add(name);
		const type = make(name);
		this.objects.set(s, type);
		return type;
	}

	private object(s: z.AnyZodObject, hint: string): GraphQLInputObjectType {
		return this.named(s, hint, (name) => {
			const fields = () => this.fields(s.shape, name);
			return new GraphQLInputObjectType({ name, description: s.description, fields });
		});
	}

	/**
	 * A union of objects is a `@oneOf` input (exactly one field given); a union of scalars is a
	 * String when one branch is a string (`ttl`: "never", "90d" or "3600s"), else their common type.
	 */
	private union(u: z.ZodUnion<z.ZodUnionOptions>, hint: string): GraphQLInputType {
		const options = u.options.map((o: z.ZodTypeAny) => peel(o).base);
		if (options.every((o: z.ZodTypeAny) => o instanceof z.ZodObject)) {
			return this.named(u, hint, (name) => {
				const fields: GraphQLInputFieldConfigMap = {};
				// @oneOf fields are nullable, without defaults; "exactly one" is GraphQL's check.
				for (const option of options as z.AnyZodObject[])
					for (const [key, field] of Object.entries(this.fields(option.shape, name)))
						fields[key] = { ...field, type: getNullableType(field.type), defaultValue: undefined };
				return new GraphQLInputObjectType({
					name,
					description: u.description,
					fields,
					isOneOf: true,
				});
			});
		}
		const types = options.map((o: z.ZodTypeAny) => this.type(o, hint));
		if (types.includes(GraphQLString)) return GraphQLString;
		if (types.every((t: GraphQLInputType) => t === types[0])) return types[0];
		throw new Error(`${hint}: no GraphQL input type for a union of different scalars`);
	}
}

/**
 * The service input for the arguments GraphQL coerced: a `null` for a field the schema does not let
 * be null means "not given" (as GraphQL clients send it), so it is left out and the schema's default
 * applies; a null the schema accepts (`rotationIntervalDays: null`, "none") is passed on.
 */
export function inputFromArgs(s: z.ZodTypeAny, value: unknown): unknown {
	if (value === null || typeof value !== 'object') return value;
	const { base } = peel(s);
	if (Array.isArray(value))
		return base instanceof z.ZodArray ? value.map((v) => inputFromArgs(base.element, v)) : value;
	const shape = shapeOf(base);
	const out: Record<string, unknown> = {};
	for (const [key, v] of Object.entries(value)) {
		const field = shape[key];
		if (v === null && !(field && peel(field).nullable)) continue;
		out[key] = field ? inputFromArgs(field, v) : v;
	}
	return out;
}

/** The fields of an object, or of every object of a union (a `@oneOf` input). */
function shapeOf(base: z.ZodTypeAny): Record<string, z.ZodTypeAny> {
	if (base instanceof z.ZodObject) return base.shape;
	if (base instanceof z.ZodUnion)
		return Object.assign({}, ...base.options.map((o: z.ZodTypeAny) => shapeOf(peel(o).base)));
	return {};
}
