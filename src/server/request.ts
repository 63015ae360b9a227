/**
 * What the server reads from a request before an operation runs: the bearer token (or the page's
 * session), the n8n context
 * headers (recorded, never obeyed), and path and query text checked against the service's own rules.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';

import { SecretsError } from '../core/errors';
import { CONTEXT_HEADERS, type N8nContext } from '../core/model';
import * as schema from '../core/schemas';
import type { Caller } from '../service/api';

/**
 * The n8n context a remote node sends (header values percent-encoded), for the audit trail. It is
 * recorded, not obeyed: a control character or broken encoding becomes U+FFFD rather than failing
 * the request (or, with a NUL, the audit write of a denial on PostgreSQL).
 */
function contextOf(req: FastifyRequest): N8nContext | undefined {
	const context: N8nContext = {};
	for (const [field, header] of CONTEXT_HEADERS) {
		const v = req.headers[header];
		if (typeof v !== 'string' || !v) continue;
		let text: string;
		try {
			text = decodeURIComponent(v);
		} catch {
			text = v;
		}
		context[field] = schema.replaceForbiddenCharacters(clip(text, 500));
	}
	return Object.keys(context).length ? context : undefined;
}

/** The first `max` UTF-16 units, without cutting a surrogate pair in half. */
function clip(s: string, max: number): string {
	if (s.length <= max) return s;
	const code = s.charCodeAt(max - 1);
	return s.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Path parameters, checked before anything else: the same rules as the service's own inputs. */
const PATH_PARAMS: Record<string, z.ZodTypeAny> = {
	name: z.object({ name: schema.secretName }),
	jti: z.object({ jti: schema.tokenId }),
};

export function checkParams(params: unknown): Record<string, string> {
	const given = (params ?? {}) as Record<string, string>;
	for (const [key, value] of Object.entries(given)) {
		const rule = PATH_PARAMS[key];
		if (rule) schema.parseInput(rule, { [key]: value });
	}
	return given;
}

/**
 * Every query value, before the route's own schema: none may hold a NUL, another control character
 * (tab and newline aside) or an unpaired surrogate, which no store keeps as given.
 */
export function checkQueryText(query: unknown): void {
	if (!query || typeof query !== 'object') return;
	for (const [key, value] of Object.entries(query)) {
		const values: unknown[] = Array.isArray(value) ? value : [value];
		if (
			values.some(
				(v) => typeof v === 'string' && schema.hasForbiddenCharacter(v, { multiline: true }),
			)
		)
			throw new SecretsError(
				'INVALID_INPUT',
				`Invalid input: query parameter ${JSON.stringify(key.slice(0, 40))} holds a control character or text that is not valid Unicode.`,
			);
	}
}

function bearer(req: FastifyRequest): string {
	const h = req.headers.authorization;
	if (typeof h !== 'string' || !/^Bearer\s+\S+$/i.test(h.trim())) {
		throw new SecretsError(
			'TOKEN_INVALID',
			'Send the access token as "Authorization: Bearer <token>". `n8n-secrets token create` issues one.',
		);
	}
	return h.trim().replace(/^Bearer\s+/i, '');
}

/**
 * Who a request runs as: its bearer token, or the token behind its Secrets page session (which
 * session.ts has checked for liveness, origin and CSRF proof before any route runs).
 */
export function callerOf(req: FastifyRequest, sessionToken?: string): Caller {
	return { token: sessionToken ?? bearer(req), context: contextOf(req) };
}
