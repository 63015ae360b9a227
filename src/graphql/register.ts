/**
 * `POST /api/v1/graphql` on `n8n-secrets serve`: mercurius over the schema generated from the
 * operation table. The same bearer tokens as REST, and every field runs through the service's runner
 * (`run`), so permissions and audit are the same as REST's by construction. POST with a JSON body
 * only (a GET can be forged from another site); limits on document size, depth, cost and batches
 * (limits.ts); errors coded as REST codes them (errors.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import mercurius from 'mercurius';

import { SecretsError } from '../core/errors';
import type { Caller } from '../service/api';
import type { OperationName } from '../service/operations';
import { type CodedError, type ToHttpError, answerStatus, codedErrors } from './errors';
import { GRAPHQL_LIMITS, checkCost, checkDepth } from './limits';
import { type GraphqlContext, buildGraphqlSchema } from './schema';

/** Under the API's prefix. */
export const GRAPHQL_PATH = '/graphql';

/** The environment variable that turns the GraphiQL page on (`/api/v1/graphiql`). */
export const GRAPHIQL_ENV = 'N8N_SECRETS_GRAPHIQL';

export interface GraphqlOptions {
	service: { run(name: OperationName, caller: Caller, input: unknown): Promise<unknown> };
	/** The API's prefix (`/api/v1`). */
	prefix: string;
	/** The caller of a request as REST reads it: bearer token and n8n context headers. */
	callerOf(req: FastifyRequest): Caller;
	/** Any other error (fastify's, for a body) as REST codes it. */
	toHttpError: ToHttpError;
	/** Where an internal error is reported (its class and code, never its text). */
	log?: (line: { level: 'error'; msg: string; reqId?: string; code?: string }) => void;
	/** Serve the GraphiQL page; default: N8N_SECRETS_GRAPHIQL=true. */
	graphiql?: boolean;
}

/** N8N_SECRETS_GRAPHIQL: `true` serves the GraphiQL page; unset, empty or `false` does not. */
export function graphiqlFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
	const raw = env[GRAPHIQL_ENV]?.trim().toLowerCase() ?? '';
	if (raw === 'true') return true;
	if (raw === '' || raw === 'false') return false;
	throw new SecretsError('INVALID_INPUT', `${GRAPHIQL_ENV} must be true or false.`);
}

function invalid(message: string): SecretsError {
	return new SecretsError('INVALID_INPUT', `Invalid input: ${message}.`);
}

/** One request of the body: `{ query, variables?, operationName? }`. */
function checkRequest(r: unknown, what: string): void {
	if (!r || typeof r !== 'object' || Array.isArray(r))
		throw invalid(`${what} must be a JSON object {"query": …, "variables": {…}}`);
	const { query, variables, operationName } = r as Record<string, unknown>;
	if (typeof query !== 'string' || query.trim() === '')
		throw invalid(`"query" of ${what} must be a GraphQL document`);
	if (variables != null && (typeof variables !== 'object' || Array.isArray(variables)))
		throw invalid(`"variables" of ${what} must be a JSON object`);
	if (operationName != null && typeof operationName !== 'string')
		throw invalid(`"operationName" of ${what} must be a string`);
	// No GraphQL document is valid JSON; mercurius would take JSON text as an already parsed syntax
	// tree, which is not the client's to send.
	if (isJson(query))
		throw new SecretsError(
			'GRAPHQL_PARSE_FAILED',
			`Syntax Error: "query" of ${what} is JSON, not a GraphQL document.`,
		);
}

function isJson(text: string): boolean {
	try {
		JSON.parse(text);
		return true;
	} catch {
		return false;
	}
}

/** The body: one request, or a batch (a JSON array) of at most `maxBatch`. */
function checkBody(body: unknown): void {
	if (!Array.isArray(body)) return checkRequest(body, 'the request');
	if (body.length === 0) throw invalid('the batch is empty');
	if (body.length > GRAPHQL_LIMITS.maxBatch)
		throw new SecretsError(
			'BATCH_TOO_LARGE',
			`A batch holds at most ${GRAPHQL_LIMITS.maxBatch} operations; this one holds ${body.length}. Send several requests.`,
		);
	body.forEach((r, i) => checkRequest(r, `request ${i + 1} of the batch`));
}

/** What a GraphQL request must be before anything is parsed: POST, JSON, a bearer token. */
function checkHttp(req: FastifyRequest, callerOf: GraphqlOptions['callerOf']): void {
	if (req.method !== 'POST')
		throw new SecretsError(
			'ROUTE_NOT_FOUND',
			`No route ${req.method} ${req.routeOptions.url}: GraphQL requests are POST with a JSON body (GET is off: it can be forged from another site).`,
		);
	const type = req.headers['content-type']?.split(';')[0].trim().toLowerCase();
	if (type !== 'application/json')
		throw new SecretsError(
			'UNSUPPORTED_MEDIA_TYPE',
			'Send the GraphQL request as JSON (Content-Type: application/json).',
		);
	callerOf(req);
}

export async function registerGraphql(
	app: FastifyInstance,
	options: GraphqlOptions,
): Promise<void> {
	const graphiql = options.graphiql ?? graphiqlFromEnv();
	const schema = buildGraphqlSchema();
	const url = `${options.prefix}${GRAPHQL_PATH}`;

	/** Reports internal errors, and names the first code for the server's request log. */
	const note = (reply: FastifyReply, errors: readonly CodedError[]): void => {
		(reply as FastifyReply & { errorCode?: string }).errorCode = errors[0]?.error.code;
		for (const { error } of errors)
			if (error.code === 'INTERNAL') {
				const cause = (error.cause ?? {}) as { name?: string; code?: string };
				options.log?.({
					level: 'error',
					msg: `internal error: ${cause.name ?? 'Error'}${cause.code ? ` ${cause.code}` : ''}`,
					reqId: reply.request.id,
					code: error.code,
				});
			}
	};

	await app.register(
		async (scope) => {
			scope.addHook('onRequest', async (req) => {
				if (req.routeOptions.url === url) checkHttp(req, options.callerOf);
			});
			// Before mercurius's body schema, which would coerce a number `query` into text.
			scope.addHook('preValidation', async (req) => {
				if (req.routeOptions.url === url) checkBody(req.body);
			});
			await scope.register(mercurius, {
				schema,
				path: GRAPHQL_PATH,
				graphiql,
				allowBatchedQueries: true,
				// Each request is parsed and validated anew: a document is at most maxTokens long, so that
				// is cheap, and every request passes the same checks (mercurius's document cache also
				// loads through a dynamic import(), which jest's CommonJS runtime cannot run).
				cache: false,
				graphql: { parseOptions: { maxTokens: GRAPHQL_LIMITS.maxTokens } },
				context: (req): GraphqlContext => ({
					run: (name, input) => options.service.run(name, options.callerOf(req), input),
				}),
				// A request refused before it ran (no data, as GraphQL over HTTP has it).
				errorHandler: async (error, _req, reply) => {
					const errors = codedErrors(error, options.toHttpError);
					note(reply, errors);
					await reply
						.code(errors[0]?.error.httpStatus ?? 400)
						.send({ errors: errors.map((e) => e.json) });
				},
				// The errors of an operation that ran, or of one operation of a batch.
				errorFormatter: (execution, ctx) => {
					const errors = execution.errors.flatMap((e) => codedErrors(e, options.toHttpError));
					note(ctx.reply, errors);
					const data = execution.data ?? null;
					const answered = !!data && Object.values(data).some((v) => v !== null);
					return {
						// A batch's answers each carry their own errors.
						statusCode: ctx.operationsCount === undefined ? answerStatus(errors, answered) : 200,
						response: { data, errors: errors.map((e) => e.json) },
					};
				},
			});
			scope.graphql.addHook('preValidation', (_schema, document) => checkDepth(document));
			scope.graphql.addHook('preExecution', (s, document, _ctx, variables) =>
				checkCost(s, document, variables),
			);
		},
		{ prefix: options.prefix },
	);
}
