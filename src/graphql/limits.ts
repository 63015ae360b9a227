/**
 * What one GraphQL request may ask for, checked before anything runs: the size of its document
 * (lexical tokens), how deep its fields nest, what it costs, and how many operations a batch holds.
 * A request over a limit is refused with its own code, never a 500; docs/GRAPHQL.md explains each.
 */
import {
	type DocumentNode,
	type FragmentDefinitionNode,
	type GraphQLField,
	type GraphQLObjectType,
	type GraphQLSchema,
	Kind,
	type OperationDefinitionNode,
	type SelectionSetNode,
	getArgumentValues,
	getNamedType,
	getNullableType,
	getVariableValues,
	isListType,
	isObjectType,
} from 'graphql';

import { SecretsError } from '../core/errors';

export const GRAPHQL_LIMITS = {
	/** Lexical tokens in one query document: the parser stops there (a bound on parsing itself). */
	maxTokens: 2_000,
	/**
	 * Fields nested in one another. The schema nests at most 4 deep (secrets → items → environments
	 * → a field); introspection (`__schema`, `__type`) is bounded by graphql-js's own rule instead.
	 */
	maxDepth: 8,
	/** Cost points of one operation (see `operationCost`). */
	maxCost: 20_000,
	/** What a root field costs: one run of an operation (token check, store reads, audit). */
	rootFieldCost: 100,
	/** How many items a list without a `limit` argument is counted as. */
	defaultListSize: 10,
	/** Operations in one batched request (a JSON array of requests). */
	maxBatch: 10,
} as const;

type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

function fragmentsOf(document: DocumentNode): Fragments {
	const out = new Map<string, FragmentDefinitionNode>();
	for (const d of document.definitions)
		if (d.kind === Kind.FRAGMENT_DEFINITION) out.set(d.name.value, d);
	return out;
}

function operationsOf(document: DocumentNode): OperationDefinitionNode[] {
	return document.definitions.filter(
		(d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
	);
}

/**
 * Refuses a document whose fields nest deeper than `maxDepth`. Run before validation (it needs no
 * schema), so a deep document costs no validation work; a fragment spread adds no level of its own,
 * and each fragment's depth is computed once (a cycle counts as nothing here: validation refuses it).
 */
export function checkDepth(document: DocumentNode): void {
	const fragments = fragmentsOf(document);
	const memo = new Map<string, number>();
	const depthOf = (set: SelectionSetNode): number => {
		let max = 0;
		for (const s of set.selections) {
			if (s.kind === Kind.FIELD) {
				if (s.name.value.startsWith('__')) continue;
				max = Math.max(max, 1 + (s.selectionSet ? depthOf(s.selectionSet) : 0));
			} else if (s.kind === Kind.INLINE_FRAGMENT) {
				max = Math.max(max, depthOf(s.selectionSet));
			} else {
				const name = s.name.value;
				if (!memo.has(name)) {
					memo.set(name, 0);
					const f = fragments.get(name);
					memo.set(name, f ? depthOf(f.selectionSet) : 0);
				}
				max = Math.max(max, memo.get(name)!);
			}
			// Deeper than allowed already: no need to measure how much deeper.
			if (max > GRAPHQL_LIMITS.maxDepth) return max;
		}
		return max;
	};
	for (const op of operationsOf(document)) {
		const depth = depthOf(op.selectionSet);
		if (depth > GRAPHQL_LIMITS.maxDepth)
			throw new SecretsError(
				'QUERY_TOO_DEEP',
				`The query nests fields more than ${GRAPHQL_LIMITS.maxDepth} deep; ask for fewer levels.`,
			);
	}
}

/**
 * The cost of an operation: each field 1, each root field `rootFieldCost` (it runs an operation of
 * the service); a list of objects multiplies what is selected in it by the `limit` argument of the
 * field that holds it (a page: `secrets(limit: 500) { items { … } }`) or by `defaultListSize`.
 * Introspection fields count 1 each. The values of variables (and their defaults) are used.
 */
export function operationCost(
	schema: GraphQLSchema,
	document: DocumentNode,
	op: OperationDefinitionNode,
	variables: Record<string, unknown> | undefined,
): number {
	const fragments = fragmentsOf(document);
	const coerced = getVariableValues(schema, op.variableDefinitions ?? [], variables ?? {});
	const vars = coerced.coerced ?? {};
	const memo = new Map<string, number>();
	const L = GRAPHQL_LIMITS;

	/** The `limit` a field is asked with (or its default), if the field has one. */
	const limitOf = (
		def: GraphQLField<unknown, unknown>,
		node: Parameters<typeof getArgumentValues>[1],
	) => {
		if (!def.args.some((a) => a.name === 'limit')) return null;
		try {
			const n = getArgumentValues(def, node, vars).limit;
			return typeof n === 'number' ? Math.max(1, n) : L.defaultListSize;
		} catch {
			return L.defaultListSize;
		}
	};

	const typeOn = (name: string | undefined, parent: GraphQLObjectType): GraphQLObjectType => {
		const type = name ? schema.getType(name) : undefined;
		return isObjectType(type) ? type : parent;
	};

	const costOf = (
		parent: GraphQLObjectType,
		set: SelectionSetNode,
		pendingLimit: number | null,
		root: boolean,
	): number => {
		let total = 0;
		for (const s of set.selections) {
			if (s.kind === Kind.INLINE_FRAGMENT) {
				total += costOf(
					typeOn(s.typeCondition?.name.value, parent),
					s.selectionSet,
					pendingLimit,
					root,
				);
				continue;
			}
			if (s.kind === Kind.FRAGMENT_SPREAD) {
				const key = `${s.name.value}|${pendingLimit}|${root}`;
				if (!memo.has(key)) {
					memo.set(key, 0);
					const f = fragments.get(s.name.value);
					const on = typeOn(f?.typeCondition.name.value, parent);
					memo.set(key, f ? costOf(on, f.selectionSet, pendingLimit, root) : 0);
				}
				total += memo.get(key)!;
				continue;
			}
			const name = s.name.value;
			if (name === '__typename') continue;
			if (name.startsWith('__')) {
				total += introspectionCost(s.selectionSet, fragments);
				continue;
			}
			const def = parent.getFields()[name];
			if (!def) continue;
			total += root ? L.rootFieldCost : 1;
			const type = getNamedType(def.type);
			if (!s.selectionSet || !isObjectType(type)) continue;
			const own = limitOf(def, s);
			const list = isListType(getNullableType(def.type));
			const times = list ? (own ?? pendingLimit ?? L.defaultListSize) : 1;
			total += times * costOf(type, s.selectionSet, list ? null : (own ?? pendingLimit), false);
		}
		return total;
	};

	const rootType = schema.getRootType(op.operation);
	return rootType ? costOf(rootType, op.selectionSet, null, true) : 0;
}

/** Introspection: every field 1 (its depth is bounded by graphql-js's MaxIntrospectionDepthRule). */
function introspectionCost(set: SelectionSetNode | undefined, fragments: Fragments): number {
	const seen = new Set<string>();
	const count = (s: SelectionSetNode | undefined): number => {
		let n = 1;
		for (const sel of s?.selections ?? []) {
			if (sel.kind === Kind.FIELD) n += count(sel.selectionSet);
			else if (sel.kind === Kind.INLINE_FRAGMENT) n += count(sel.selectionSet) - 1;
			else if (!seen.has(sel.name.value)) {
				seen.add(sel.name.value);
				n += count(fragments.get(sel.name.value)?.selectionSet) - 1;
			}
		}
		return n;
	};
	return count(set);
}

/** Refuses an operation that costs more than `maxCost` (run after validation, with the variables). */
export function checkCost(
	schema: GraphQLSchema,
	document: DocumentNode,
	variables: Record<string, unknown> | undefined,
): void {
	for (const op of operationsOf(document)) {
		const cost = operationCost(schema, document, op, variables);
		if (cost > GRAPHQL_LIMITS.maxCost)
			throw new SecretsError(
				'QUERY_TOO_COSTLY',
				`The query costs ${cost} points, more than the ${GRAPHQL_LIMITS.maxCost} allowed: ask for smaller pages (limit) or fewer fields and lists.`,
				{ details: { cost, maxCost: GRAPHQL_LIMITS.maxCost } },
			);
	}
}
