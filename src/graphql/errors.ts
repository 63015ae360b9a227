/**
 * Every GraphQL error as the API's coded error: `extensions.code` holds the same code REST answers
 * with (the service's own errors pass through unchanged, message and details included), graphql-js's
 * refusals become GRAPHQL_PARSE_FAILED or GRAPHQL_VALIDATION_FAILED, anything unexpected INTERNAL
 * with a generic message. No message shows a value the client sent: graphql-js prints a mistyped
 * value into some of its messages, and that value may be a secret.
 */
import { GraphQLError } from 'graphql';

import { type ErrorCode, SecretsError, isSecretsError } from '../core/errors';
import { GRAPHQL_LIMITS } from './limits';

/** An error as the response's `errors` lists it. */
export interface GraphqlErrorJson {
	message: string;
	locations?: readonly { line: number; column: number }[];
	path?: readonly (string | number)[];
	extensions: { code: ErrorCode; details?: Record<string, unknown> };
}

/** Maps what is not a GraphQL or service error (fastify's body errors) as REST does. */
export type ToHttpError = (err: unknown) => SecretsError;

export interface CodedError {
	error: SecretsError;
	json: GraphqlErrorJson;
}

/** Where graphql-js prints a value the client sent; the rest of the clause is cut there. */
const VALUE_SHOWN = /\b(?:found|value:|got invalid value|Invalid value)\s/;
/** An enum value that is not one: `Value <the value> does not exist in "SecretType" enum.` */
const NOT_IN_ENUM = /^Value \S+ (does not exist in "\w+" enum\.)/;

/**
 * A graphql-js message without the values it quotes: the parser's token descriptions keep their kind
 * (`found String` instead of the string), and a validation or variable message is cut where it
 * starts to print a value. Names and types stay: they are the client's document, not its data.
 */
export function withoutValues(message: string, syntax: boolean): string {
	const m = message.replace(/\b(String|BlockString|Int|Float) "(?:[^"\\]|\\.)*"/g, '$1');
	if (syntax) return m;
	if (NOT_IN_ENUM.test(m)) return m.replace(NOT_IN_ENUM, 'The value given $1');
	const at = VALUE_SHOWN.exec(m);
	return at ? `${m.slice(0, at.index + at[0].length)}(not shown).` : m;
}

/** Mercurius wraps the errors of a refused request (parse, validation, variables) in one error. */
function flatten(err: unknown): unknown[] {
	const inner = (e: unknown) => (e as { errors?: unknown })?.errors;
	const wrapped = err instanceof GraphQLError ? err.originalError : err;
	const list = inner(wrapped);
	if (Array.isArray(list) && !isSecretsError(wrapped)) return list.flatMap(flatten);
	return [err];
}

function codedOne(err: unknown, toHttpError: ToHttpError): SecretsError {
	const original = err instanceof GraphQLError ? err.originalError : err;
	if (isSecretsError(original)) return original;
	// Without a path, graphql-js refused the request itself (its document or its variables); with
	// one, it failed on a result: that is ours to fix, not the client's (INTERNAL below).
	if (err instanceof GraphQLError && !err.path) {
		if (/^Syntax Error: Document contains more th\w+ \d+ tokens/.test(err.message))
			return new SecretsError(
				'QUERY_TOO_COSTLY',
				`The query document is longer than ${GRAPHQL_LIMITS.maxTokens} tokens; send a shorter one.`,
			);
		return err.message.startsWith('Syntax Error')
			? new SecretsError('GRAPHQL_PARSE_FAILED', withoutValues(err.message, true))
			: new SecretsError('GRAPHQL_VALIDATION_FAILED', withoutValues(err.message, false));
	}
	return toHttpError(original ?? err);
}

/** The coded errors of anything a GraphQL request failed with. */
export function codedErrors(err: unknown, toHttpError: ToHttpError): CodedError[] {
	return flatten(err).map((e) => {
		const error = codedOne(e, toHttpError);
		const g = e instanceof GraphQLError ? e : undefined;
		const json: GraphqlErrorJson = {
			message: error.message,
			...(g?.locations ? { locations: g.locations } : {}),
			...(g?.path ? { path: g.path } : {}),
			extensions: error.details
				? { code: error.code, details: error.details }
				: { code: error.code },
		};
		return { error, json };
	});
}

/**
 * The HTTP status of an answer: the errors' status when nothing was answered and they agree on one
 * (401 for a bad token, 403 for a denial, 404 for a missing secret, as REST), else 200 with the
 * errors beside the data (GraphQL's convention for partial results).
 */
export function answerStatus(errors: readonly CodedError[], answered: boolean): number {
	const statuses = new Set(errors.map((e) => e.error.httpStatus));
	return !answered && statuses.size === 1 ? [...statuses][0] : 200;
}
