/**
 * One error hierarchy for the whole package. Every error has a stable `code` that scripts, the HTTP API
 * and n8n nodes can rely on, an HTTP status, and a message written for the person who has to act on
 * it. No message ever contains a secret value or a token.
 */

export type ErrorCode =
	| 'INVALID_INPUT'
	| 'SECRET_NOT_FOUND'
	| 'SECRET_EXISTS'
	| 'SECRET_DELETED'
	| 'SECRET_NOT_DELETED'
	| 'VERSION_NOT_FOUND'
	| 'VERSION_DESTROYED'
	| 'NO_PENDING_VERSION'
	| 'NO_PREVIOUS_VERSION'
	| 'SECRET_EXPIRED'
	| 'SECRET_NOT_YET_VALID'
	| 'VERSION_CONFLICT'
	| 'ACCESS_DENIED'
	| 'DESTINATION_NOT_ALLOWED'
	| 'TOKEN_INVALID'
	| 'TOKEN_EXPIRED'
	| 'TOKEN_REVOKED'
	| 'TENANT_NOT_FOUND'
	| 'INTEGRITY_ERROR'
	| 'WRONG_MASTER_KEY'
	| 'MASTER_KEY_MISSING'
	| 'STORE_NOT_INITIALIZED'
	| 'SCHEMA_TOO_NEW'
	| 'STORE_BUSY'
	| 'STORE_FULL'
	| 'STORE_READ_ONLY'
	| 'ROTATION_IN_PROGRESS'
	| 'STORE_UNAVAILABLE'
	| 'SERVER_UNAVAILABLE'
	| 'ROUTE_NOT_FOUND'
	| 'PAYLOAD_TOO_LARGE'
	| 'UNSUPPORTED_MEDIA_TYPE'
	| 'BAD_REQUEST'
	| 'REQUEST_TIMEOUT'
	| 'HEADERS_TOO_LARGE'
	| 'UPSTREAM_ERROR'
	| 'GRAPHQL_PARSE_FAILED'
	| 'GRAPHQL_VALIDATION_FAILED'
	| 'QUERY_TOO_DEEP'
	| 'QUERY_TOO_COSTLY'
	| 'BATCH_TOO_LARGE'
	| 'SESSION_REQUIRED'
	| 'SESSION_EXPIRED'
	| 'CSRF_REQUIRED'
	| 'SIGN_IN_RATE_LIMITED'
	| 'PAGE_NOT_BUILT'
	| 'INTERNAL';

const STATUS: Record<ErrorCode, number> = {
	INVALID_INPUT: 400,
	SECRET_NOT_FOUND: 404,
	SECRET_EXISTS: 409,
	SECRET_DELETED: 409,
	SECRET_NOT_DELETED: 409,
	VERSION_NOT_FOUND: 404,
	VERSION_DESTROYED: 410,
	NO_PENDING_VERSION: 409,
	NO_PREVIOUS_VERSION: 409,
	SECRET_EXPIRED: 404,
	SECRET_NOT_YET_VALID: 404,
	VERSION_CONFLICT: 409,
	ACCESS_DENIED: 403,
	DESTINATION_NOT_ALLOWED: 403,
	TOKEN_INVALID: 401,
	TOKEN_EXPIRED: 401,
	TOKEN_REVOKED: 401,
	TENANT_NOT_FOUND: 401,
	INTEGRITY_ERROR: 500,
	WRONG_MASTER_KEY: 500,
	MASTER_KEY_MISSING: 500,
	STORE_NOT_INITIALIZED: 500,
	SCHEMA_TOO_NEW: 500,
	STORE_BUSY: 503,
	STORE_FULL: 507,
	STORE_READ_ONLY: 503,
	ROTATION_IN_PROGRESS: 409,
	STORE_UNAVAILABLE: 503,
	SERVER_UNAVAILABLE: 503,
	ROUTE_NOT_FOUND: 404,
	PAYLOAD_TOO_LARGE: 413,
	UNSUPPORTED_MEDIA_TYPE: 415,
	BAD_REQUEST: 400,
	REQUEST_TIMEOUT: 408,
	HEADERS_TOO_LARGE: 431,
	UPSTREAM_ERROR: 502,
	// The GraphQL API's own refusals of a request (docs/GRAPHQL.md): none of them ran anything.
	GRAPHQL_PARSE_FAILED: 400,
	GRAPHQL_VALIDATION_FAILED: 400,
	QUERY_TOO_DEEP: 400,
	QUERY_TOO_COSTLY: 400,
	BATCH_TOO_LARGE: 400,
	// The Secrets page's sessions (docs/SERVER.md, "The Secrets page").
	SESSION_REQUIRED: 401,
	SESSION_EXPIRED: 401,
	CSRF_REQUIRED: 403,
	SIGN_IN_RATE_LIMITED: 429,
	PAGE_NOT_BUILT: 503,
	INTERNAL: 500,
};

export class SecretsError extends Error {
	readonly code: ErrorCode;
	/**
	 * The HTTP status the API answers with. Not named `status`: n8n reads an error's `status` as the
	 * response code of a failed request and replaces the message with a generic one.
	 */
	readonly httpStatus: number;
	/** Extra, value-free facts for machines (field names, version numbers). */
	readonly details?: Record<string, unknown>;

	constructor(
		code: ErrorCode,
		message: string,
		options?: { cause?: unknown; details?: Record<string, unknown> },
	) {
		super(message, options?.cause === undefined ? undefined : { cause: options.cause });
		this.name = 'SecretsError';
		this.code = code;
		this.httpStatus = STATUS[code];
		this.details = options?.details;
	}

	toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
		return this.details
			? { code: this.code, message: this.message, details: this.details }
			: { code: this.code, message: this.message };
	}
}

/** Errors that mean "this caller may not do this"; they are audited as `deny`. */
export const DENIAL_CODES: ReadonlySet<ErrorCode> = new Set([
	'ACCESS_DENIED',
	'DESTINATION_NOT_ALLOWED',
]);

export function isSecretsError(err: unknown): err is SecretsError {
	return err instanceof SecretsError;
}

export function isCode(err: unknown, code: ErrorCode): boolean {
	return err instanceof SecretsError && err.code === code;
}

/** Wraps anything thrown by a dependency so callers always see a coded error without internals. */
export function toSecretsError(err: unknown): SecretsError {
	if (err instanceof SecretsError) return err;
	return new SecretsError(
		'INTERNAL',
		'An unexpected internal error occurred; see the server log.',
		{
			cause: err,
		},
	);
}

/** Whether `code` is one of this package's error codes (for errors that arrive over HTTP). */
export function isErrorCode(code: unknown): code is ErrorCode {
	return typeof code === 'string' && Object.prototype.hasOwnProperty.call(STATUS, code);
}
