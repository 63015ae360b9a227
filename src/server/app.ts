/**
 * The HTTP API on fastify: the route table, bearer tokens, request ids, body limits, errors as
 * `{ code, message }` with a fitting status (never a 500 for bad input), and logs that carry method,
 * path, status, duration and error codes only: never a header, a body, a value or a token.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';

import { SecretsError, isSecretsError } from '../core/errors';
import { CONTEXT_HEADERS, type N8nContext } from '../core/model';
import * as schema from '../core/schemas';
import { registerGraphql } from '../graphql/register';
import type { Caller, SecretsService } from '../service/secrets-service';
import { openApiDocument } from './openapi';
import { Relay, type RelayOptions } from './relay';
import { ROUTES, type Route, routeInput } from './routes';

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

/**
 * How long a client may take: an API's requests are small, so a client that dribbles its headers or
 * body (slowloris) is cut off rather than holding a connection for a minute.
 */
export interface ServerTimeouts {
	/** Until the request headers are complete (408 REQUEST_TIMEOUT after it); default 10 s. */
	headersMs?: number;
	/** Until the whole request (headers and body) is received; default 30 s. */
	requestMs?: number;
	/** How long an idle keep-alive connection stays open; default 5 s. */
	keepAliveMs?: number;
	/** How often Node checks the two deadlines above; default 1 s. */
	checkIntervalMs?: number;
}

export const DEFAULT_TIMEOUTS: Required<ServerTimeouts> = {
	headersMs: 10_000,
	requestMs: 30_000,
	keepAliveMs: 5_000,
	checkIntervalMs: 1_000,
};

export interface ServerOptions {
	service: SecretsService;
	/** Largest request body accepted, in bytes (413 PAYLOAD_TOO_LARGE above it). */
	bodyLimit?: number;
	relay?: RelayOptions;
	log?: Logger;
	https?: { cert: string | Buffer; key: string | Buffer };
	timeouts?: ServerTimeouts;
}

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

function checkParams(params: unknown): Record<string, string> {
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
function checkQueryText(query: unknown): void {
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

/** What Node's HTTP parser reports on a connection, as the coded error the client is sent. */
function clientErrorOf(err: NodeJS.ErrnoException): SecretsError {
	switch (err.code) {
		case 'ERR_HTTP_REQUEST_TIMEOUT':
			return new SecretsError(
				'REQUEST_TIMEOUT',
				'The request took too long to arrive; send its headers and body without pausing.',
			);
		case 'HPE_HEADER_OVERFLOW':
			return new SecretsError(
				'HEADERS_TOO_LARGE',
				'The request line and headers are larger than the server accepts (16 KiB).',
			);
		default:
			return new SecretsError('BAD_REQUEST', 'The request is not valid HTTP/1.1.');
	}
}

/**
 * Answers what Node's HTTP server would otherwise answer itself (a bare 400, 408 or 431) as JSON
 * `{ code, message }`, then closes the connection. Nothing of the request is written back.
 */
function clientErrorHandler(log: Logger) {
	return (err: NodeJS.ErrnoException, socket: Duplex): void => {
		if (err.code === 'ECONNRESET' || socket.destroyed) return;
		const e = clientErrorOf(err);
		log({ level: 'warn', msg: 'client error', status: e.httpStatus, code: e.code });
		// As Node itself: write only if no response has started on this socket, or the peer would
		// read our bytes as part of it.
		const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
		if (socket.writable && (!inFlight || !inFlight.headersSent)) {
			const body = JSON.stringify(e.toJSON());
			socket.write(
				`HTTP/1.1 ${e.httpStatus} ${STATUS_CODES[e.httpStatus]}\r\n` +
					'Content-Type: application/json\r\n' +
					`Content-Length: ${Buffer.byteLength(body)}\r\n` +
					'Cache-Control: no-store\r\nConnection: close\r\n\r\n' +
					body,
			);
		}
		socket.destroy();
	};
}

/** Errors fastify's router raises before any route runs: an over-long or badly encoded path parameter. */
function frameworkErrorOf(err: { code?: string }): SecretsError {
	return err.code === 'FST_ERR_MAX_PARAM_LENGTH'
		? new SecretsError(
				'INVALID_INPUT',
				'Invalid input: a path parameter is longer than any secret name or token id.',
			)
		: new SecretsError(
				'INVALID_INPUT',
				'Invalid input: the request path is not valid UTF-8 percent-encoding.',
			);
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
	const log = options.log ?? defaultLog;
	const relay = new Relay(options.service, options.relay);
	const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
	// Node reads these at creation (and requires headers <= request); fastify passes them through.
	const nodeServerOptions = {
		headersTimeout: timeouts.headersMs,
		requestTimeout: timeouts.requestMs,
		connectionsCheckingInterval: timeouts.checkIntervalMs,
	};
	let closing = false;
	const app = Fastify({
		logger: false,
		bodyLimit: options.bodyLimit ?? 256 * 1024,
		genReqId: (req) => {
			const given = req.headers['x-request-id'];
			return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given)
				? given
				: randomUUID();
		},
		// A secret name is at most 128 characters, 384 percent-encoded; longer ones get our 400.
		routerOptions: { maxParamLength: 1024 },
		requestTimeout: timeouts.requestMs,
		keepAliveTimeout: timeouts.keepAliveMs,
		// Our own 503 while closing (below), with a code like every other error.
		return503OnClosing: false,
		forceCloseConnections: 'idle',
		clientErrorHandler: clientErrorHandler(log),
		frameworkErrors: (err, _req, reply) => {
			const e = frameworkErrorOf(err as { code?: string });
			void (reply as FastifyReply)
				.status(e.httpStatus)
				.header('cache-control', 'no-store')
				.send(e.toJSON());
		},
		...(options.https
			? { https: { ...options.https, ...nodeServerOptions } }
			: { http: nodeServerOptions }),
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
		if (closing) {
			reply.header('connection', 'close');
			throw new SecretsError(
				'SERVER_UNAVAILABLE',
				'The server is shutting down; send the request again (to another replica).',
			);
		}
	});
	app.addHook('preClose', async () => {
		closing = true;
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
		// The path is shown only when it is plain: whatever a client sends is not written back.
		const path = req.url.split('?')[0];
		const shown = /^[A-Za-z0-9._~/-]{1,200}$/.test(path) ? ` ${path}` : '';
		void reply.status(404).send({
			code: 'ROUTE_NOT_FOUND',
			message: `No route ${req.method}${shown}. The routes are listed at ${API_PREFIX}/openapi.json.`,
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

	app.post(`${API_PREFIX}/relay`, async (req) => {
		checkQueryText(req.query);
		return relay.perform(callerOf(req), req.body ?? {});
	});

	await registerGraphql(app, {
		service: options.service,
		prefix: API_PREFIX,
		callerOf,
		toHttpError,
		log,
	});

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
			const params = checkParams(req.params);
			checkQueryText(req.query);
			const body = req.body ?? {};
			if (typeof body !== 'object' || Array.isArray(body))
				throw new SecretsError('INVALID_INPUT', 'The request body must be a JSON object.');
			const input = routeInput(
				route,
				params,
				(req.query ?? {}) as Record<string, unknown>,
				body as Record<string, unknown>,
			);
			const result = await service.run(route.operation, callerOf(req), input);
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
