/** The OpenAPI 3.1 document of the API, built from the route table so it lists every route. */
import { zodToJsonSchema } from 'zod-to-json-schema';
import type { z } from 'zod';

import { OPERATION_SCOPES, describeScopes } from '../auth/permissions';
import { PACKAGE_VERSION } from '../core/version';
import { relayInput } from './relay';
import { OPERATIONS, type OperationDecl } from '../service/operations';
import { objectOf } from '../core/zod-shape';
import { RELAY_ROUTE, ROUTES, type Route } from './routes';

const ERROR = {
	type: 'object',
	required: ['code', 'message'],
	properties: {
		code: { type: 'string', description: 'Stable error code, e.g. SECRET_NOT_FOUND.' },
		message: { type: 'string', description: 'What went wrong and what to do; never a value.' },
		details: { type: 'object' },
	},
};

function json(schema: z.ZodTypeAny): Record<string, unknown> {
	// The cast keeps TypeScript from expanding zod's deep generic types.
	const convert = zodToJsonSchema as unknown as (s: unknown, o: unknown) => Record<string, unknown>;
	const out = convert(schema, { target: 'openApi3', $refStrategy: 'none' });
	delete out.$schema;
	return out;
}

/** The query parameters of a route: each the input field it carries, as that field is checked. */
function queryParameters(route: Route): unknown[] {
	const input = objectOf(OPERATIONS[route.operation].input, route.operation);
	const fields = json(input) as { properties?: Record<string, unknown>; required?: string[] };
	return Object.entries(route.query).map(([name, field]) => ({
		name,
		in: 'query',
		required: (fields.required ?? []).includes(field),
		schema: fields.properties?.[field] ?? {},
		...(name === 'env' ? { description: 'The environment (e.g. production, staging).' } : {}),
	}));
}

/** The body of a route: the input's other fields, with the operation's own rules. */
function bodySchema(route: Route): z.ZodTypeAny | undefined {
	if (!route.hasBody) return undefined;
	const decl: OperationDecl = OPERATIONS[route.operation];
	const elsewhere = [
		...route.pathParams,
		...Object.values(route.query),
		...(decl.localFields ?? []),
	];
	return objectOf(decl.input, route.operation).omit(
		Object.fromEntries(elsewhere.map((f) => [f, true])),
	);
}

function errors(): Record<string, unknown> {
	const response = (description: string) => ({
		description,
		content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
	});
	return {
		'400': response('Invalid input (INVALID_INPUT)'),
		'401': response('Missing, forged, expired or revoked token'),
		'403': response('The token lacks the permission, or the destination is not allowed'),
		'404': response('No such secret, version or route'),
		'409': response('Conflict (exists, version conflict, no pending or previous version)'),
		'413': response('Request body too large'),
	};
}

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
	if (cached) return cached;
	const paths: Record<string, Record<string, unknown>> = {};
	const add = (method: string, path: string, op: Record<string, unknown>) => {
		const key = `/api/v1${path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
		paths[key] ??= {};
		paths[key][method.toLowerCase()] = op;
	};
	for (const r of ROUTES) {
		const params = [...r.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({
			name: m[1],
			in: 'path',
			required: true,
			schema: { type: 'string' },
		}));
		add(r.method, r.path, {
			summary: r.summary,
			description: `Requires: ${describeScopes(r.operation)}.`,
			'x-required-scopes': OPERATION_SCOPES[r.operation],
			security: [{ bearer: [] }],
			parameters: [...params, ...queryParameters(r)],
			...(bodySchema(r)
				? {
						requestBody: {
							required: false,
							content: { 'application/json': { schema: json(bodySchema(r)!) } },
						},
					}
				: {}),
			responses: { [String(r.status ?? 200)]: { description: 'Success' }, ...errors() },
		});
	}
	add('POST', '/relay', {
		summary:
			'Send an HTTP request with [[secret:name]] references injected on the server; the response comes back scrubbed. A relay-only token never receives a value.',
		description: `Requires: ${describeScopes(RELAY_ROUTE.operation)} (secrets:use includes it).`,
		'x-required-scopes': OPERATION_SCOPES[RELAY_ROUTE.operation],
		security: [{ bearer: [] }],
		requestBody: { required: true, content: { 'application/json': { schema: json(relayInput) } } },
		responses: {
			'200': {
				description: 'The upstream response (status, headers, body; binary bodies as base64)',
			},
			'502': { description: 'The upstream request failed (UPSTREAM_ERROR)' },
			...errors(),
		},
	});
	add('GET', '/openapi.json', {
		summary: 'This document.',
		responses: { '200': { description: 'OpenAPI 3.1' } },
	});
	paths['/healthz'] = {
		get: {
			summary: 'Liveness and store reachability (no token).',
			responses: {
				'200': { description: 'ok' },
				'503': { description: 'The store is unreachable' },
			},
		},
	};
	cached = {
		openapi: '3.1.0',
		info: {
			title: 'n8n-secrets API',
			version: PACKAGE_VERSION,
			description:
				'The secrets backend of n8n-nodes-secrets. The tenant comes from the token; the environment is the `env` query parameter. Errors are `{ code, message }`.',
		},
		servers: [{ url: '/' }],
		components: {
			securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
			schemas: { Error: ERROR },
		},
		paths,
	};
	return cached;
}

/**
 * The route table as docs/SERVER.md shows it (a test keeps the two equal): one row per route with
 * the permission the service enforces.
 */
export function routesMarkdown(): string {
	const rows = [...ROUTES, RELAY_ROUTE].map((r) => [
		`\`${r.method} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}\``,
		describeScopes(r.operation),
	]);
	const width = [0, 1].map((c) => Math.max(...rows.map((r) => r[c].length), c ? 10 : 5));
	const line = (cells: string[]) => `| ${cells.map((c, k) => c.padEnd(width[k])).join(' | ')} |`;
	return [
		line(['route', 'permission']),
		line(width.map((w) => '-'.repeat(w))),
		...rows.map(line),
	].join('\n');
}
