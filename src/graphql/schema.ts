/**
 * The GraphQL schema, generated from the operation table: each operation the table exposes as a
 * query or a mutation is one field under the name the table gives, with arguments from its input
 * schema (inputs.ts) and its result type from outputs.ts. Every field runs the operation through the
 * service's runner (`run`), which validates, verifies the token, authorizes, acts and audits exactly
 * as for REST; nothing here decides who may do what.
 */
import {
	type GraphQLFieldConfigMap,
	GraphQLList,
	type GraphQLNullableType,
	GraphQLObjectType,
	type GraphQLOutputType,
	GraphQLSchema,
	getNullableType,
	printSchema,
} from 'graphql';
import { z } from 'zod';

import { describeScopes } from '../auth/permissions';
import { OPERATION_NAMES, type OperationName, declaration } from '../service/operations';
import { InputTypes, inputFromArgs } from './inputs';
import { type GraphqlOperationName, OUTPUTS, OUTPUT_NAMES } from './outputs';
import { EnumRegistry, asField, pascal, peel, scalarType } from './zod-types';

/** What a field's resolver is given: the request's caller, bound to the service's runner. */
export interface GraphqlContext {
	run(name: OperationName, input: unknown): Promise<unknown>;
}

/** Object types generated from the result schemas of outputs.ts. */
class OutputTypes {
	private readonly objects = new Map<z.ZodTypeAny, GraphQLObjectType>();

	constructor(private readonly enums: EnumRegistry) {}

	/** A field's type: non-null unless the schema lets it be absent or null. */
	field(s: z.ZodTypeAny, hint: string): GraphQLOutputType {
		const p = peel(s);
		return asField(p, this.type(p.base, hint));
	}

	private type(base: z.ZodTypeAny, hint: string): GraphQLOutputType & GraphQLNullableType {
		const scalar = scalarType(base);
		if (scalar) return scalar;
		if (base instanceof z.ZodEnum) return this.enums.get(base.options, pascal(hint));
		if (base instanceof z.ZodArray) return new GraphQLList(this.field(base.element, hint));
		if (base instanceof z.ZodObject) return this.object(base, hint);
		throw new Error(`${hint}: no GraphQL output type for ${base.constructor.name}`);
	}

	private object(s: z.AnyZodObject, hint: string): GraphQLObjectType {
		const known = this.objects.get(s);
		if (known) return known;
		const name = OUTPUT_NAMES.get(s);
		if (!name) throw new Error(`${hint}: an output object without a name in outputs.ts`);
		const type = new GraphQLObjectType({
			name,
			description: s.description,
			fields: () =>
				Object.fromEntries(
					Object.entries(s.shape).map(([key, field]) => [
						key,
						{
							type: this.field(field as z.ZodTypeAny, `${name}${pascal(key)}`),
							description: fieldDescription(field as z.ZodTypeAny),
						},
					]),
				),
		});
		this.objects.set(s, type);
		return type;
	}
}

/** A field's own description; an object's description belongs to its type, not to each field of it. */
function fieldDescription(field: z.ZodTypeAny): string | undefined {
	const p = peel(field);
	return p.base instanceof z.ZodObject && p.description === p.base.description
		? undefined
		: p.description;
}

export interface GraphqlField {
	operation: GraphqlOperationName;
	root: 'query' | 'mutation';
	field: string;
}

/** The operations the table exposes to GraphQL, each with its root type and field name. */
export function graphqlFields(): GraphqlField[] {
	const out: GraphqlField[] = [];
	for (const name of OPERATION_NAMES) {
		const g = declaration(name).graphql;
		if ('query' in g)
			out.push({ operation: name as GraphqlOperationName, root: 'query', field: g.query });
		else if ('mutation' in g)
			out.push({ operation: name as GraphqlOperationName, root: 'mutation', field: g.mutation });
	}
	return out;
}

/** The schema, generated from the operation table; deterministic (the SDL is checked in). */
export function buildGraphqlSchema(): GraphQLSchema {
	const enums = new EnumRegistry();
	const inputs = new InputTypes(enums);
	const outputs = new OutputTypes(enums);
	const roots: Record<'query' | 'mutation', GraphQLFieldConfigMap<unknown, GraphqlContext>> = {
		query: {},
		mutation: {},
	};
	for (const { operation, root, field } of graphqlFields()) {
		const decl = declaration(operation);
		const typeName = pascal(field);
		if (roots[root][field]) throw new Error(`GraphQL ${root} field ${field} is declared twice`);
		roots[root][field] = {
			// Nullable: a field that fails is null with its error beside it, and the other fields of the
			// request keep their answers (a mutation done before a failing one is not hidden).
			type: getNullableType(outputs.field(OUTPUTS[operation], typeName)),
			description: `${decl.summary}\n\nPermission: ${describeScopes(operation)}.`,
			args: inputs.args(decl, typeName),
			resolve: (_root, args, ctx) => ctx.run(operation, inputFromArgs(decl.input, args)),
		};
	}
	return new GraphQLSchema({
		query: new GraphQLObjectType({ name: 'Query', fields: roots.query }),
		mutation: new GraphQLObjectType({ name: 'Mutation', fields: roots.mutation }),
	});
}

/** The schema as SDL, as docs/schema.graphql holds it. */
export function schemaSdl(): string {
	return `${printSchema(buildGraphqlSchema())}\n`;
}
