/**
 * The Secrets page: its files (built into dist/ui by `npm run build`) served at `/` and `/ui/…` from
 * memory, the security headers every answer of the server carries, and `GET /api/v1/rules`, the
 * store's own input rules for the page to check fields as they are typed. The page holds no rule of
 * its own beyond those: it calls the same API, and the service decides.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

import { SecretsError } from '../core/errors';
import { AUDIT_ACTIONS, ROLES, ROTATION_POLICIES, SECRET_TYPES } from '../core/model';
import * as schema from '../core/schemas';

/**
 * No inline script or style, nothing from another origin, no framing, no plugins, forms and
 * requests only to this origin: markup that slipped through could neither run nor send anything.
 */
export const CONTENT_SECURITY_POLICY = [
	"default-src 'none'",
	"script-src 'self'",
	"style-src 'self'",
	"img-src 'self' data:",
	"font-src 'self'",
	"connect-src 'self'",
	"form-action 'self'",
	"base-uri 'none'",
	"frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
	'content-security-policy': CONTENT_SECURITY_POLICY,
	'x-content-type-options': 'nosniff',
	'referrer-policy': 'no-referrer',
	'x-frame-options': 'DENY',
	'cross-origin-opener-policy': 'same-origin',
	'cross-origin-resource-policy': 'same-origin',
	'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

const TYPES: Record<string, string> = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
	'.ico': 'image/x-icon',
	'.json': 'application/json; charset=utf-8',
};

/** The built page: dist/ui of the package this module belongs to (source or built layout). */
export function pageDirectory(): string | undefined {
	let dir = __dirname;
	for (let i = 0; i < 5; i++) {
		if (existsSync(path.join(dir, 'package.json'))) {
			const ui = path.join(dir, 'dist', 'ui');
			return existsSync(path.join(ui, 'index.html')) ? ui : undefined;
		}
		dir = path.dirname(dir);
	}
	return undefined;
}

function filesOf(root: string): Map<string, { body: Buffer; type: string }> {
	const files = new Map<string, { body: Buffer; type: string }>();
	const walk = (dir: string) => {
		for (const name of readdirSync(dir)) {
			const full = path.join(dir, name);
			if (statSync(full).isDirectory()) walk(full);
			else if (TYPES[path.extname(name)])
				files.set(path.relative(root, full).split(path.sep).join('/'), {
					body: readFileSync(full),
					type: TYPES[path.extname(name)],
				});
		}
	};
	walk(root);
	return files;
}

function patternOf(s: z.ZodTypeAny): { pattern: string; message: string } {
	const check = (s as z.ZodString)._def.checks?.find((c) => c.kind === 'regex') as
		| { regex: RegExp; message?: string }
		| undefined;
	if (!check) throw new Error('the rule has no pattern');
	return { pattern: check.regex.source, message: check.message ?? '' };
}

/** The store's own input rules, from the same schemas the service validates with. */
export function pageRules(recoveryWindowDays: number) {
	const token = schema.createTokenInput as unknown as z.ZodEffects<z.AnyZodObject>;
	const shape = token._def.schema.shape as Record<string, z.ZodTypeAny>;
	const globs = (shape.secrets as z.ZodDefault<z.ZodArray<z.ZodString>>)._def.innerType.element;
	const ttl = (schema.ttl as z.ZodUnion<[z.ZodTypeAny, z.ZodTypeAny, z.ZodString]>).options[2];
	return {
		secretName: patternOf(schema.secretName),
		environmentName: patternOf(schema.environmentName),
		tag: patternOf(schema.tag),
		namePattern: patternOf(globs),
		subject: patternOf(shape.subject),
		ttl: { ...patternOf(ttl), examples: ['90d', '12h', '30m', 'never'] },
		types: [...SECRET_TYPES],
		rotationPolicies: [...ROTATION_POLICIES],
		roles: ROLES,
		auditActions: [...AUDIT_ACTIONS],
		recoveryWindowDays,
	};
}

/**
 * Serves the page and the rules. When dist/ui is missing (a checkout that was not built), `/` says
 * how to build it instead of failing obscurely.
 */
export function registerPage(
	app: FastifyInstance,
	prefix: string,
	recoveryWindowDays: number,
	root = pageDirectory(),
): void {
	const files = root ? filesOf(root) : new Map();
	const rules = pageRules(recoveryWindowDays);
	app.get(`${prefix}/rules`, async () => rules);

	const send = (file: string) => {
		const found = files.get(file);
		if (!found)
			throw root
				? new SecretsError('ROUTE_NOT_FOUND', `The Secrets page has no file ${file}.`)
				: new SecretsError(
						'PAGE_NOT_BUILT',
						'The Secrets page is not built in this installation: run `npm run build`.',
					);
		return found;
	};
	app.get('/', async (_req, reply) => {
		const { body, type } = send('index.html');
		return reply.type(type).send(body);
	});
	app.get('/ui/*', async (req, reply) => {
		const file = (req.params as { '*': string })['*'];
		if (!/^[A-Za-z0-9._/-]{1,200}$/.test(file) || file.includes('..'))
			throw new SecretsError('ROUTE_NOT_FOUND', 'The Secrets page has no such file.');
		const { body, type } = send(file);
		return reply.type(type).send(body);
	});
}
