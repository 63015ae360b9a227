/**
 * Who is signed in, and what they may do. The access token is sent once to exchange it for the
 * session cookie (httpOnly: this page never sees it) and is not kept anywhere; the CSRF proof lives
 * in memory only, so a reload asks the server for it again.
 */
import { ApiError, request, setCsrfToken } from './api.js';
import type { SessionInfo } from './types.js';

export type Who = Omit<SessionInfo, 'csrfToken'>;

let current: Who | null = null;

function adopt(info: SessionInfo): Who {
	const { csrfToken, ...rest } = info;
	setCsrfToken(csrfToken);
	current = rest;
	return rest;
}

export function who(): Who | null {
	return current;
}

/** Whether the session holds a scope (`admin` holds every scope). */
export function can(scope: string): boolean {
	return !!current && (current.scopes.includes('admin') || current.scopes.includes(scope));
}

/** The live session after a reload, or null with the reason the server gave (none: never signed in). */
export async function resume(): Promise<{ who: Who | null; ended?: ApiError }> {
	try {
		return { who: adopt(await request<SessionInfo>('GET', '/session', { sessionRoute: true })) };
	} catch (err) {
		if (err instanceof ApiError && err.status === 401)
			return { who: null, ended: err.code === 'SESSION_REQUIRED' ? undefined : err };
		throw err;
	}
}

export async function signIn(token: string): Promise<Who> {
	return adopt(
		await request<SessionInfo>('POST', '/session', { body: { token }, sessionRoute: true }),
	);
}

export async function signOut(): Promise<void> {
	try {
		await request<void>('DELETE', '/session', { sessionRoute: true });
	} finally {
		forget();
	}
}

/** Drops what the page knew about the session (after sign-out or when the server ended it). */
export function forget(): void {
	current = null;
	setCsrfToken(null);
}
