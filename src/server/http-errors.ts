/**
 * Every error as the coded JSON answer `{ code, message }` with a fitting status: ours, fastify's,
 * and what Node's HTTP parser would otherwise answer itself. Nothing of the request is written back.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import { SecretsError, isSecretsError } from '../core/errors';
import type { Logger } from './log';
import { SECURITY_HEADERS } from './page';

/** Every error, ours or fastify's, as a coded JSON answer. */
export function toHttpError(err: unknown): SecretsError {
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
export function clientErrorHandler(log: Logger) {
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
					'Cache-Control: no-store\r\nConnection: close\r\n' +
					Object.entries(SECURITY_HEADERS)
						.map(([name, value]) => `${name}: ${value}\r\n`)
						.join('') +
					'\r\n' +
					body,
			);
		}
		socket.destroy();
	};
}

/** Errors fastify's router raises before any route runs: an over-long or badly encoded path parameter. */
export function frameworkErrorOf(err: { code?: string }): SecretsError {
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
