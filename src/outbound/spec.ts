/**
 * The outbound request, declared once: what the Secret HTTP Request node sends (itself in embedded
 * mode, through `POST /relay` in remote mode), what the relay validates its body with, and what the
 * remote client posts. It holds references (`[[secret:…]]`), never values; the engine (perform.ts)
 * resolves them per hop.
 */
import { z } from 'zod';

import * as schema from '../core/schemas';

const pair = z.object({ name: z.string().max(1000), value: z.string().max(100_000) }).strict();

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type Method = (typeof METHODS)[number];

/** The Secret Reference Auth credential's fields (references and placement, never its token). */
export const referenceAuthFields = z
	.object({
		placement: z.enum(['bearer', 'header', 'query', 'basic']),
		reference: z.string().max(1000).optional(),
		headerName: z.string().max(200).optional(),
		queryName: z.string().max(200).optional(),
		userReference: z.string().max(1000).optional(),
		passReference: z.string().max(1000).optional(),
	})
	.strict();
export type ReferenceAuthFields = z.output<typeof referenceAuthFields>;

const requestFields = {
	method: z.enum(METHODS),
	url: z.string().min(1).max(8192),
	query: z.array(pair).max(200).default([]),
	headers: z.array(pair).max(200).default([]),
	bodyType: z.enum(['none', 'json', 'form', 'raw']).default('none'),
	/** JSON text for `json`, the raw text for `raw`. */
	body: z.string().optional(),
	form: z.array(pair).max(500).optional(),
	rawContentType: z.string().max(200).optional(),
	/** A secret picked by name, placed as a bearer token, a header, a query parameter or basic auth. */
	auth: z
		.object({
			placement: z.enum(['none', 'bearer', 'header', 'query', 'basic']),
			secret: schema.secretName.optional(),
			name: z.string().max(200).optional(),
			user: z.string().max(1000).optional(),
		})
		.strict()
		.default({ placement: 'none' }),
	/** With the Secret Reference Auth credential: its fields decide how the request authenticates. */
	referenceAuth: referenceAuthFields.optional(),
	timeoutMs: z.number().int().min(1).max(300_000).default(30_000),
	followRedirects: z.boolean().default(true),
	maxRedirects: z.number().int().min(0).max(20).default(5),
	responseFormat: z.enum(['autodetect', 'json', 'text', 'binary']).default('autodetect'),
	/** Return a 4xx/5xx answer instead of failing with `UPSTREAM_ERROR`. */
	neverError: z.boolean().default(false),
};

export const outboundRequest = z.object(requestFields).strict();
/** A request with every default filled in: what the engine performs. */
export type OutboundRequest = z.output<typeof outboundRequest>;
export type BodyType = OutboundRequest['bodyType'];
export type ResponseFormat = OutboundRequest['responseFormat'];
export type AuthPlacement = OutboundRequest['auth']['placement'];

/** `POST /relay`'s body: the request and the environment whose values it is sent with. */
export const relayInput = z
	.object({ environment: schema.environmentName, ...requestFields })
	.strict();
export type RelayInput = z.input<typeof relayInput>;

/** The upstream's answer, scrubbed of every value resolved for the request. */
export interface OutboundResponse {
	statusCode: number;
	headers: Record<string, unknown>;
	body: unknown;
	/** Set when the body is binary (the n8n node stores it with n8n's binary helpers). */
	binary?: { data: Buffer; mimeType: string };
	/** The last hop's URL. */
	url: string;
}

/** What the relay answers: the scrubbed response, a binary body as base64. */
export type RelayResponse = Omit<OutboundResponse, 'binary'> & {
	binary?: { data: string; mimeType: string };
};

export function toRelayResponse(r: OutboundResponse): RelayResponse {
	const { binary } = r;
	return { ...r, binary: binary && { ...binary, data: binary.data.toString('base64') } };
}

export function fromRelayResponse(r: RelayResponse): OutboundResponse {
	const { binary } = r;
	return { ...r, binary: binary && { ...binary, data: Buffer.from(binary.data, 'base64') } };
}
