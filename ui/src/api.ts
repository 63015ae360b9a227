/**
 * The only way the page talks to the server: same-origin JSON with the session cookie, the CSRF
 * proof on every write, and errors as the API's own `{ code, message }`. Nothing here logs, stores
 * or caches a request or an answer.
 */

export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		/** Seconds to wait, from a 429's `retry-after`. */
		readonly retryAfter?: number,
	) {
		super(message);
		this.name = 'ApiError';
	}
}

export const API = '/api/v1';
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** A 401 with these codes means the session is over (idle, time limit, signed out elsewhere, token gone). */
const ENDED = new Set([
	'SESSION_EXPIRED',
	'SESSION_REQUIRED',
	'TOKEN_INVALID',
	'TOKEN_EXPIRED',
	'TOKEN_REVOKED',
]);

let csrfToken: string | null = null;
let onSessionEnded: (error: ApiError) => void = () => undefined;
let onActivity: () => void = () => undefined;

export function setCsrfToken(token: string | null): void {
	csrfToken = token;
}

/** Called with the API's error when a request finds the session over; the app shows sign-in. */
export function handleSessionEnd(handler: (error: ApiError) => void): void {
	onSessionEnded = handler;
}

/** Called after every answer from the server: the session's idle clock restarted. */
export function handleActivity(handler: () => void): void {
	onActivity = handler;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query?: Query): string {
	const params = new URLSearchParams();
	for (const [k, v] of Object.entries(query ?? {}))
		if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
	const text = params.toString();
	return text ? `${path}?${text}` : path;
}

export interface RequestOptions {
	query?: Query;
	body?: unknown;
	signal?: AbortSignal;
	/** Session routes answer 401 as part of their job (no session yet): not a session that ended. */
	sessionRoute?: boolean;
}

async function errorOf(res: Response): Promise<ApiError> {
	let code = `HTTP_${res.status}`;
	let message = res.statusText || 'The server refused the request.';
	try {
		const body = (await res.json()) as { code?: unknown; message?: unknown };
		if (typeof body.code === 'string') code = body.code;
		if (typeof body.message === 'string') message = body.message;
	} catch {
		// Not JSON (a proxy's error page): the status line is all there is.
	}
	const retry = Number(res.headers.get('retry-after'));
	return new ApiError(
		res.status,
		code,
		message,
		Number.isFinite(retry) && retry > 0 ? retry : undefined,
	);
}

export async function request<T>(
	method: string,
	path: string,
	options: RequestOptions = {},
): Promise<T> {
	const headers: Record<string, string> = { accept: 'application/json' };
	if (options.body !== undefined) headers['content-type'] = 'application/json';
	if (WRITES.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
	let res: Response;
	try {
		res = await fetch(withQuery(`${API}${path}`, options.query), {
			method,
			headers,
			body: options.body === undefined ? undefined : JSON.stringify(options.body),
			credentials: 'same-origin',
			cache: 'no-store',
			redirect: 'error',
			signal: options.signal,
		});
	} catch (err) {
		if (options.signal?.aborted) throw err;
		throw new ApiError(
			0,
			'NETWORK_ERROR',
			'The secrets server could not be reached. Check that `n8n-secrets serve` is running, then try again.',
		);
	}
	if (!res.ok) {
		const error = await errorOf(res);
		if (res.status === 401 && !options.sessionRoute && ENDED.has(error.code)) onSessionEnded(error);
		throw error;
	}
	onActivity();
	if (res.status === 204) return undefined as T;
	const text = await res.text();
	return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) =>
	request<T>('GET', path, { query, signal });
export const post = <T>(path: string, body: unknown = {}, query?: Query) =>
	request<T>('POST', path, { body, query });
export const put = <T>(path: string, body: unknown, query?: Query) =>
	request<T>('PUT', path, { body, query });
export const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, { body });
export const del = <T>(path: string, body?: unknown) => request<T>('DELETE', path, { body });

/** A secret's route: names are [A-Za-z0-9_-], but encoded anyway so a path can never be bent. */
export const secretPath = (name: string, rest = '') =>
	`/secrets/${encodeURIComponent(name)}${rest}`;

/** Whether an error is the abort of a request whose view was left: nothing to show. */
export function isAbort(err: unknown): boolean {
	return err instanceof DOMException && err.name === 'AbortError';
}
