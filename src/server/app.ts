/**
 * The HTTP API on fastify: the route table, bearer tokens, request ids, body limits, errors as
 * `{ code, message }` with a fitting status (never a 500 for bad input), and logs that carry method,
 * path, status, duration and error codes only: never a header, a body, a value or a token.
 */
import { randomUUID } from 'node:crypto';

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

import { SecretsError, isSecretsError } from '../core/errors';
import { CONTEXT_HEADERS, type N8nContext } from '../core/model';
import type { Caller, SecretsService } from '../service/secrets-service';
import { openApiDocument } from './openapi';
import { Relay, type RelayOptions } from './relay';
import { ROUTES, type Route, parseQuery } from './routes';

export const API_PREFIX = '/api/v1';

/** One structured log line (JSON). Only the fields named here are ever written. */
export interface LogLine {
	level: 'info' | 'warn' | 'error';
	msg: string;
	reqId?: string;
	method?: string;
	path?: string;
	status?: number;
	ms?: number;
	code?: string;
}

export type Logger = (line: LogLine) => void;

export interface ServerOptions {
	service: SecretsService;
	/** Largest request body accepted, in bytes (413 PAYLOAD_TOO_LARGE above it). */
	bodyLimit?: number;
	relay?: RelayOptions;
	log?: Logger;
	https?: { cert: string | Buffer; key: string | Buffer };
}

/** The n8n context a remote node sends (header values percent-encoded), for the audit trail. */
function contextOf(req: FastifyRequest): N8nContext | undefined {
	const context: N8nContext = {};
	for (const [field, header] of CONTEXT_HEADERS) {
		const v = req.headers[header];
		if (typeof v !== 'string' || !v) continue;
		try {
			context[field] = decodeURIComponent(v).slice(0, 500);
		} catch {
			context[field] = v.slice(0, 500);
		}
	}
	return Object.keys(context).length ? context : undefined;
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

function callerOf(req: FastifyRequest): Caller {
	return { token: bearer(req), context: contextOf(req) };
}

/** Every error, ours or fastify's, as a coded JSON answer. */
function toHttpError(err: unknown): SecretsError {
	if (isSecretsError(err)) return err;
	const e = err as { code?: string; statusCode?: number; message?: string; validation?: unknown };
	switch (e.code) {
		case 'FST_ERR_CTP_BODY_TOO_LARGE':
			return new SecretsError(
				'PAYLOAD_TOO_LARGE',
				'The request body is larger than the server accepts.',
			);
		case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
			return new SecretsError(
				'UNSUPPORTED_MEDIA_TYPE',
				'Send the request body as JSON (Content-Type: application/json).',
			);
		case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
		case 'FST_ERR_CTP_EMPTY_JSON_BODY':
		case 'FST_ERR_CTP_INVALID_JSON_BODY':
			return new SecretsError('INVALID_INPUT', 'The request body is not valid JSON.');
	}
	if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
		const mapped = new SecretsError('INVALID_INPUT', 'The request is malformed.');
		Object.defineProperty(mapped, 'httpStatus', { value: e.statusCode });
		return mapped;
	}
	return new SecretsError(
		'INTERNAL',
		'An unexpected internal error occurred; see the server log.',
		{
			cause: err,
		},
	);
}

/** One log line as written: JSON with the time first. */
export function formatLogLine(line: LogLine): string {
	return `${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`;
}

function defaultLog(line: LogLine): void {
	process.stdout.write(formatLogLine(line));
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
	const log = options.log ?? defaultLog;
	const relay = new Relay(options.service, options.relay);
	const app = Fastify({
		logger: false,
		bodyLimit: options.bodyLimit ?? 256 * 1024,
		genReqId: (req) => {
			const given = req.headers['x-request-id'];
			return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given)
				? given
				: randomUUID();
		},
		return503OnClosing: true,
		forceCloseConnections: 'idle',
		...(options.https ? { https: options.https } : {}),
	}) as unknown as FastifyInstance;

	// JSON only, and an empty body is an empty object (POST /secrets/x/restore has none).
	app.removeAllContentTypeParsers();
	app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
		const text = String(body);
		if (text.trim() === '') return done(null, {});
		try {
			done(null, JSON.parse(text));
		} catch {
			done(new SecretsError('INVALID_INPUT', 'The request body is not valid JSON.'), undefined);
		}
	});

	const started = new WeakMap<FastifyRequest, bigint>();
	app.addHook('onRequest', async (req, reply) => {
		started.set(req, process.hrtime.bigint());
		reply.header('x-request-id', req.id);
		reply.header('cache-control', 'no-store');
	});
	app.addHook('onResponse', async (req, reply) => {
		const t0 = started.get(req);
		log({
			level: reply.statusCode >= 500 ? 'error' : 'info',
			msg: 'request',
			reqId: req.id,
			method: req.method,
			path: req.routeOptions.url ?? '(no route)',
			status: reply.statusCode,
			ms: t0 === undefined ? undefined : Number(process.hrtime.bigint() - t0) / 1e6,
			code: (reply as FastifyReply & { errorCode?: string }).errorCode,
		});
	});

	app.setErrorHandler((err, req, reply) => {
		const e = toHttpError(err);
		(reply as FastifyReply & { errorCode?: string }).errorCode = e.code;
		if (e.code === 'INTERNAL') {
			// The cause's message may come from a dependency; log its class and code, not its text.
			const cause = (err as { name?: string; code?: string }) ?? {};
			log({
				level: 'error',
				msg: `internal error: ${cause.name ?? 'Error'}${cause.code ? ` ${cause.code}` : ''}`,
				reqId: req.id,
				code: e.code,
			});
		}
		void reply.status(e.httpStatus).send(e.toJSON());
	});
	app.setNotFoundHandler((req, reply) => {
		(reply as FastifyReply & { errorCode?: string }).errorCode = 'ROUTE_NOT_FOUND';
		void reply.status(404).send({
			code: 'ROUTE_NOT_FOUND',
			message: `No route ${req.method} ${req.url.split('?')[0]}. The routes are listed at ${API_PREFIX}/openapi.json.`,
		});
	});

	app.get('/healthz', async (_req, reply) => {
		try {
			await options.service.ping();
			return { status: 'ok' };
		} catch (err) {
			const e = isSecretsError(err) ? err : toHttpError(err);
			return reply.status(503).send({ status: 'unavailable', code: e.code });
		}
	});
	app.get(`${API_PREFIX}/openapi.json`, async () => openApiDocument());

	for (const route of ROUTES) registerRoute(app, options.service, route);

	app.post(`${API_PREFIX}/relay`, async (req) => relay.perform(callerOf(req), req.body ?? {}));

	app.addHook('onClose', async () => {
		await relay.close();
	});
	return app;
}

function registerRoute(app: FastifyInstance, service: SecretsService, route: Route): void {
	app.route({
		method: route.method,
		url: `${API_PREFIX}${route.path}`,
		handler: async (req, reply) => {
			const caller = callerOf(req);
			const body = req.body ?? {};
			if (typeof body !== 'object' || Array.isArray(body))
				throw new SecretsError('INVALID_INPUT', 'The request body must be a JSON object.');
			const result = await route.handle(service, {
				params: req.params as Record<string, string>,
				query: parseQuery(route, req.query),
				body: body as Record<string, unknown>,
				caller,
			});
			if (route.status) void reply.status(route.status);
			return result ?? {};
		},
	});
}

/**
 * Stops accepting connections, lets requests in flight finish, and closes each keep-alive connection
 * as soon as it is idle (Node only closes those idle at the moment of the call); after `timeoutMs`,
 * whatever is left is cut.
 */
export async function closeGracefully(app: FastifyInstance, timeoutMs = 10_000): Promise<void> {
	const idle = setInterval(() => app.server.closeIdleConnections(), 50);
	const hard = setTimeout(() => app.server.closeAllConnections(), timeoutMs);
	try {
		await app.close();
	} finally {
		clearInterval(idle);
		clearTimeout(hard);
	}
}
