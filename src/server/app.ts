/**
 * The HTTP API on fastify: the route table, bearer tokens, request ids, body limits, errors as
 * `{ code, message }` with a fitting status (never a 500 for bad input), and logs that carry method,
 * path, status, duration and error codes only: never a header, a body, a value or a token.
 */
import { randomUUID } from 'node:crypto';

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

import { SecretsError, isSecretsError } from '../core/errors';
import { registerGraphql } from '../graphql/register';
import type { SecretsService } from '../service/secrets-service';
import { clientErrorHandler, frameworkErrorOf, toHttpError } from './http-errors';
import { type Logger, defaultLog } from './log';
import { openApiDocument } from './openapi';
import { Relay, type RelayOptions } from './relay';
import { SECURITY_HEADERS, registerPage } from './page';
import { callerOf, checkParams, checkQueryText } from './request';
import { ROUTES, type Route, routeInput } from './routes';
import { type SessionOptions, Sessions } from './session';

export const API_PREFIX = '/api/v1';

const GRAPHIQL_PATH = new RegExp(`^${API_PREFIX}/graphiql(/|\\?|$)`);
const HEADERS_BUT_CSP = Object.fromEntries(
	Object.entries(SECURITY_HEADERS).filter(([name]) => name !== 'content-security-policy'),
);

export { type LogLine, type Logger, formatLogLine } from './log';

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
	/** The Secrets page's sessions: timeouts and sign-in rate limit. */
	sessions?: SessionOptions;
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
	const log = options.log ?? defaultLog;
	const relay = new Relay(options.service, options.relay);
	const sessions = new Sessions(options.service, !!options.https, options.sessions);
	const callerFor = (req: FastifyRequest) => callerOf(req, sessions.tokenOf(req));
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
				.headers(SECURITY_HEADERS)
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
		// GraphiQL (off unless N8N_SECRETS_GRAPHIQL=true) is inline script that loads its libraries from
		// unpkg.com: everything but the CSP still applies to it (docs/SERVER.md warns about it).
		reply.headers(GRAPHIQL_PATH.test(req.url) ? HEADERS_BUT_CSP : SECURITY_HEADERS);
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

	sessions.register(app, API_PREFIX);
	registerPage(app, API_PREFIX, options.service.recoveryWindowDays);
	for (const route of ROUTES) registerRoute(app, options.service, route, callerFor);

	app.post(`${API_PREFIX}/relay`, async (req) => {
		checkQueryText(req.query);
		return relay.perform(callerFor(req), req.body ?? {});
	});

	await registerGraphql(app, {
		service: options.service,
		prefix: API_PREFIX,
		callerOf: callerFor,
		toHttpError,
		log,
	});

	app.addHook('onClose', async () => {
		await relay.close();
	});
	return app;
}

function registerRoute(
	app: FastifyInstance,
	service: SecretsService,
	route: Route,
	callerFor: (req: FastifyRequest) => ReturnType<typeof callerOf>,
): void {
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
			const result = await service.run(route.operation, callerFor(req), input);
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
