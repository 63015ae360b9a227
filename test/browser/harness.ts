/**
 * The browser suite's harness: a real `serve` on loopback over a test store (SQLite, or PostgreSQL in
 * the browser-postgres project), a real headless Chromium with a fresh profile, tokens per role, and
 * the recording the leak check needs (the serve log, every network answer and URL the page saw).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Browser, Page } from 'puppeteer-core';

import { formatLogLine } from '../../src/server/app';
import { type RunningServer, startServer } from '../../src/server/serve';
import { createTestStore, type TestStore } from '../helpers/store';
import { type Hit, type Place, filesUnder, isRevealAnswer, isTokenAnswer, scan } from './leak';

/**
 * puppeteer-core ships ES modules only, which jest's CommonJS module system cannot load; Node 24's
 * own require can (require(esm)), so it is loaded with Node's, outside jest's registry (jest swaps
 * the createRequire of `require('node:module')` for its own; getBuiltinModule gives Node's).
 */
const nodeRequire = process.getBuiltinModule('node:module').createRequire(__filename);
const puppeteer = nodeRequire('puppeteer-core') as typeof import('puppeteer-core');

/** Debian's Chromium, or the one CHROMIUM_PATH names. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const ROLE_NAMES = ['admin', 'operator', 'viewer', 'user', 'revealer', 'auditor'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** What one page saw: its network answers, the URLs it asked for, its console errors. */
export interface Recording {
	answers: Place[];
	/** Answers whose body could not be read (a redirect, a page closed mid-answer). */
	unreadable: string[];
	/**
	 * Requests the page itself cancelled (it left a view while they ran): the browser discarded their
	 * answers, so there is nothing of them left to search.
	 */
	aborted: string[];
	urls: string[];
	consoleErrors: string[];
	pending: Promise<unknown>[];
}

export interface Suite {
	t: TestStore;
	server: RunningServer;
	url: string;
	/** serve's log, as it would have written it. */
	logs: string[];
	browser: Browser;
	tokens: Record<RoleName, string>;
	/** label -> value: every value and token the suite made (the leak check's search list). */
	values: Map<string, string>;
	/** Values revealed on purpose: allowed in the reveal call's answer only. */
	revealed: Set<string>;
	recordings: Recording[];
	/** A recorded page; `isolated`: in a context of its own (its own cookies, as another person). */
	newPage(options?: { isolated?: boolean }): Promise<Page>;
	remember(label: string, value: string): void;
	rememberToken(label: string, token: string): void;
	/** Mints a token in-process (never over the network, so never in a page's answer). */
	mint(role: RoleName | 'runtime', subject?: string): Promise<string>;
	/**
	 * Every version's value of every secret (or of the named ones), read in-process with the admin
	 * token, remembered. Each read is a reveal in the audit trail.
	 */
	harvest(names?: string[]): Promise<void>;
	/** A Bearer call from outside the browser. */
	api(
		method: string,
		path: string,
		o?: { token?: string; body?: unknown; headers?: Record<string, string> },
	): Promise<{ status: number; body: Answer }>;
	/** Closes the browser and searches every place; the suite cannot drive a page after it. */
	leakCheck(): Promise<Hit[]>;
	close(): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary JSON, asserted field by field
export type Answer = any;

/** Headless Chromium with `profile` as its fresh --user-data-dir, nothing it fetches on its own. */
export function launchBrowser(profile: string): Promise<Browser> {
	return puppeteer.launch({
		executablePath: CHROMIUM,
		headless: true,
		userDataDir: profile,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
}

export async function startSuite(options: { env?: Record<string, string> } = {}): Promise<Suite> {
	const t = await createTestStore();
	const logs: string[] = [];
	const server = await startServer({
		env: { ...t.storeEnv, N8N_SECRETS_MASTER_KEY: t.keyBase64, ...options.env },
		host: '127.0.0.1',
		port: 0,
		log: (line) => logs.push(formatLogLine(line)),
	});
	const profile = mkdtempSync(join(tmpdir(), 'n8n-secrets-chromium-'));
	const browser = await launchBrowser(profile);
	const admin = { token: t.admin.token };
	const values = new Map<string, string>();
	const revealed = new Set<string>();
	const accessTokens = new Set<string>();
	const rememberToken = (label: string, token: string): void => {
		values.set(label, token);
		accessTokens.add(token);
	};
	rememberToken("the store's first admin token", admin.token);
	const recordings: Recording[] = [];
	let browserOpen = true;

	const mint = async (role: RoleName | 'runtime', subject: string = role): Promise<string> => {
		const { token } = await server.service.createToken(admin, {
			subject,
			role,
			environments: [],
			secrets: [],
			ttl: '1d',
		});
		rememberToken(`token of ${subject}`, token);
		return token;
	};
	const tokens = {} as Record<RoleName, string>;
	for (const role of ROLE_NAMES) tokens[role] = await mint(role);

	const api: Suite['api'] = async (method, path, o = {}) => {
		const headers: Record<string, string> = { ...o.headers };
		if (o.token) headers.authorization = `Bearer ${o.token}`;
		if (o.body !== undefined) headers['content-type'] = 'application/json';
		const res = await fetch(`${server.url}${path}`, {
			method,
			headers,
			body: o.body === undefined ? undefined : JSON.stringify(o.body),
		});
		const text = await res.text();
		let body: unknown = text;
		try {
			body = JSON.parse(text);
		} catch {
			// not JSON
		}
		return { status: res.status, body };
	};

	const harvest = async (names?: string[]): Promise<void> => {
		let cursor: string | undefined;
		do {
			const page = await server.service.listSecrets(admin, { limit: 1000, cursor });
			for (const s of page.items.filter((x) => !names || names.includes(x.name)))
				for (const line of s.environments) {
					const versions = await server.service.listVersions(admin, {
						name: s.name,
						environment: line.environment,
					});
					for (const v of versions) {
						if (v.destroyedAt) continue;
						const r = await server.service.reveal(admin, {
							name: s.name,
							environment: line.environment,
							selector: { version: v.version },
						});
						values.set(`${s.name} ${line.environment} v${v.version}`, r.value);
					}
				}
			cursor = page.nextCursor;
		} while (cursor);
	};

	const newPage = async (o: { isolated?: boolean } = {}): Promise<Page> => {
		const page = o.isolated
			? await (await browser.createBrowserContext()).newPage()
			: await browser.newPage();
		await page.setViewport({ width: 1366, height: 900 });
		const rec: Recording = {
			answers: [],
			unreadable: [],
			aborted: [],
			urls: [],
			consoleErrors: [],
			pending: [],
		};
		recordings.push(rec);
		page.on('request', (req) => rec.urls.push(req.url()));
		page.on('requestfailed', (req) => {
			if (req.failure()?.errorText === 'net::ERR_ABORTED') rec.aborted.push(req.url());
		});
		page.on('response', (res) => {
			const url = res.url();
			// No body to read: a redirect, 204 No Content, 304 Not Modified.
			if ((res.status() >= 300 && res.status() < 400) || res.status() === 204) return;
			rec.pending.push(
				within(10_000, res.buffer()).then(
					(data) => rec.answers.push({ where: `answer ${res.status()} ${url}`, data, url }),
					() => rec.unreadable.push(url),
				),
			);
		});
		page.on('console', (m) => {
			if (m.type() === 'error') rec.consoleErrors.push(m.text());
		});
		page.on('pageerror', (e) => rec.consoleErrors.push(`pageerror: ${String(e)}`));
		return page;
	};

	const storePlaces = async (label: string): Promise<Place[]> =>
		t.kind === 'sqlite'
			? filesUnder(t.dir, label)
			: (await t.dump()).map((data, i) => ({ where: `${label}: table dump ${i}`, data }));

	const closeBrowser = async (): Promise<void> => {
		if (!browserOpen) return;
		browserOpen = false;
		await browser.close();
	};

	const leakCheck = async (): Promise<Hit[]> => {
		await harvest();
		const places: Place[] = [];
		for (const page of await browser.pages()) {
			const html = await within(10_000, page.content());
			// What a form control holds is not in the markup; a value left in a field counts too.
			const fields = (await within(
				10_000,
				page.evaluate(
					"Array.from(document.querySelectorAll('input, textarea, select')).map((e) => e.value).join('\\n')",
				),
			)) as string;
			places.push({ where: `DOM of ${page.url()}`, data: Buffer.from(`${html}\n${fields}`) });
		}
		for (const rec of recordings) {
			await Promise.all(rec.pending);
			places.push(...rec.answers);
			places.push({ where: 'a URL the page asked for', data: Buffer.from(rec.urls.join('\n')) });
		}
		places.push(...(await storePlaces('store (open)')));
		await closeBrowser();
		places.push(...filesUnder(profile, 'Chromium profile'));
		await server.close();
		places.push(...(await storePlaces('store (closed)')));
		places.push({ where: 'serve log', data: Buffer.from(logs.join('')) });
		checkCoverage(
			places,
			revealed,
			recordings.flatMap((r) => r.unreadable.filter((u) => !r.aborted.includes(u))),
		);
		return scan(
			values,
			places,
			(value, place) =>
				(revealed.has(value) && isRevealAnswer(place.url)) ||
				(accessTokens.has(value) && isTokenAnswer(place.url)),
		);
	};

	return {
		t,
		server,
		url: server.url,
		logs,
		browser,
		tokens,
		values,
		revealed,
		recordings,
		newPage,
		remember: (label, value) => values.set(label, value),
		rememberToken,
		mint,
		harvest,
		api,
		leakCheck,
		async close() {
			await closeBrowser().catch(() => undefined);
			await server.close();
			await t.cleanup();
			rmSync(profile, { recursive: true, force: true });
		},
	};
}

/** A promise that gives up after `ms`: a stuck step fails instead of hanging the suite. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	return Promise.race([
		promise,
		new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
		}),
	]).finally(() => clearTimeout(timer));
}

/**
 * A leak check that searched nothing proves nothing: every kind of place must have been there to
 * search, and each value revealed on purpose must have been seen in its reveal answer (so the
 * network recording works).
 */
function checkCoverage(
	places: readonly Place[],
	revealed: ReadonlySet<string>,
	unreadable: readonly string[],
): void {
	const api = unreadable.filter((u) => new URL(u).pathname.startsWith('/api/'));
	if (api.length) throw new Error(`the leak check could not read these answers: ${api.join(', ')}`);
	const kinds = [
		'serve log',
		'store (open)',
		'store (closed)',
		'Chromium profile',
		'answer ',
		'DOM of ',
	];
	const missing = kinds.filter(
		(k) => !places.some((p) => p.where.startsWith(k) && p.data.length > 0),
	);
	if (missing.length)
		throw new Error(`the leak check had nothing to search in: ${missing.join(', ')}`);
	for (const value of revealed)
		if (!places.some((p) => isRevealAnswer(p.url) && p.data.includes(value)))
			throw new Error('a value revealed on purpose is in no recorded reveal answer');
}
