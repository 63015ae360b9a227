/**
 * The REST routes, generated from the operation table (service/operations.ts): each operation with an
 * HTTP exposure is one route. A route only says where the operation's input fields travel (path,
 * query string, JSON body); the input is then validated, authorized and audited by the runner, like
 * every other interface's. The remote client (client/remote-secrets.ts) builds its requests from the
 * same routes, and the OpenAPI document (openapi.ts) describes them.
 */
import { z } from 'zod';

import type { Operation } from '../auth/permissions';
import { SecretsError } from '../core/errors';
import { objectOf, peel } from '../core/zod-shape';
import {
	type HttpExposure,
	type HttpMethod,
	OPERATIONS,
	OPERATION_NAMES,
	type OperationName,
} from '../service/operations';

export interface Route {
	method: HttpMethod;
	/** Under /api/v1, in fastify's syntax (`:name`). */
	path: string;
	summary: string;
	/** The operation the route runs; its permission (OPERATION_SCOPES) is what the runner enforces. */
	operation: OperationName & Operation;
	status?: number;
	/** Input fields in the path, by the parameter's name (the same as the field's). */
	pathParams: string[];
	/** Input fields in the query string, by query name: `{ env: 'environment' }`. */
	query: Readonly<Record<string, string>>;
	/** Whether the other fields come in a JSON body (POST, PUT, PATCH) or not at all. */
	hasBody: boolean;
	/** Input fields only the store host's CLI may give (`localFields`): refused from any request. */
	localFields: readonly string[];
	/** How each query parameter's text is read: numbers and booleans arrive as text. */
	queryKinds: Readonly<Record<string, 'number' | 'boolean' | 'text'>>;
}

function routeOf(name: OperationName): Route | undefined {
	const decl = OPERATIONS[name];
	const http = decl.http as HttpExposure | { none: string };
	if (!('method' in http) || http.custom) return undefined;
	const pathParams = [...http.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]);
	const hasBody = http.method !== 'GET' && http.method !== 'DELETE';
	const local = new Set<string>('localFields' in decl ? decl.localFields : []);
	let query: Record<string, string> = { ...http.query };
	if (!hasBody) {
		// Without a body every other field travels in the query string, under its alias if it has one.
		const aliased = new Set(Object.values(query));
		for (const field of Object.keys(objectOf(decl.input, name).shape))
			if (!pathParams.includes(field) && !aliased.has(field) && !local.has(field))
				query = { ...query, [field]: field };
	}
	const shape = objectOf(decl.input, name).shape as Record<string, z.ZodTypeAny>;
	const kindOf = (field: string) => {
		const t = shape[field] && peel(shape[field]).base;
		return t instanceof z.ZodNumber ? 'number' : t instanceof z.ZodBoolean ? 'boolean' : 'text';
	};
	return {
		method: http.method,
		path: http.path,
		summary: decl.summary,
		operation: name,
		status: http.status,
		pathParams,
		query,
		hasBody,
		localFields: [...local],
		queryKinds: Object.fromEntries(Object.entries(query).map(([q, field]) => [q, kindOf(field)])),
	};
}

export const ROUTES: Route[] = OPERATION_NAMES.map(routeOf).filter((r): r is Route => !!r);

/**
 * `POST /relay`, registered beside the generated routes (it sends a request rather than running one
 * operation): its permission is the table's all the same, for the OpenAPI document, docs and tests.
 */
export const RELAY_ROUTE = {
	method: 'POST',
	path: (OPERATIONS.relay.http as HttpExposure).path,
	operation: 'relay',
} as const satisfies Pick<Route, 'method' | 'path' | 'operation'>;

/** A query string value as the field's type wants it. */
function fromQueryText(kind: Route['queryKinds'][string] | undefined, value: unknown): unknown {
	if (typeof value !== 'string') return value;
	if (kind === 'number' && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
	if (kind === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
	return value;
}

/**
 * The operation's input from a request: path parameters, the query parameters the route names, and
 * the JSON body. A query parameter the route does not name is refused, not ignored; a field given
 * twice (in the body and in the path or query) is refused too.
 */
export function routeInput(
	route: Route,
	params: Record<string, string>,
	query: Record<string, unknown>,
	body: Record<string, unknown>,
): Record<string, unknown> {
	const unknown = Object.keys(query).filter((k) => !(k in route.query));
	if (unknown.length > 0)
		throw new SecretsError(
			'INVALID_INPUT',
			Object.keys(route.query).length === 0
				? `Invalid input: ${route.method} ${route.path} takes no query parameters.`
				: `Invalid input: ${route.method} ${route.path} takes only the query parameters ${Object.keys(route.query).join(', ')}.`,
		);
	// Fields only the store's host may give (an archive file's path, say) never come over the network.
	const refused = Object.keys(body).filter((k) => route.localFields.includes(k));
	if (refused.length > 0)
		throw new SecretsError(
			'INVALID_INPUT',
			`Invalid input: ${refused.join(', ')}: only the CLI on the store's host may give this.`,
		);
	const input: Record<string, unknown> = { ...body };
	const set = (field: string, value: unknown, where: string) => {
		if (field in body)
			throw new SecretsError(
				'INVALID_INPUT',
				`Invalid input: "${field}" is given in the ${where}; leave it out of the body.`,
			);
		input[field] = value;
	};
	for (const [name, field] of Object.entries(route.query))
		if (query[name] !== undefined)
			set(field, fromQueryText(route.queryKinds[name], query[name]), 'query');
	for (const field of route.pathParams) set(field, params[field], 'path');
	return input;
}
