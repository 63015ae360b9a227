/**
 * The page's entry: sign-in or the signed-in layout (navigation by permission, who is signed in,
 * sign-out), the route switch, and the end of a session, wherever it is noticed.
 */
import { ApiError, handleActivity, handleSessionEnd } from './api.js';
import { type IconName, button, el, icon } from './dom.js';
import { clearToasts, errorBox, toast } from './components/feedback.js';
import { closeAllModals } from './components/modal.js';
import { loadRules } from './rules.js';
import { type Route, hrefOf, parseRoute } from './router.js';
import { type Who, can, forget, resume, signOut, who } from './session.js';
import type { ViewContext } from './view.js';
import { renderAudit } from './views/audit.js';
import { renderSecret } from './views/secret-page.js';
import { renderSecretsList } from './views/secrets-list.js';
import { renderSignIn } from './views/signin.js';
import { renderTokens } from './views/tokens.js';
import { renderMissing } from './views/missing.js';

const ENDED_NOTICE = 'Your session ended (idle or time limit); sign in again.';

const app = document.getElementById('app')!;
let leaving: { controller: AbortController; cleanups: (() => void)[] } | null = null;
let sessionTimer: ReturnType<typeof setTimeout> | undefined;
let firstView = true;

function leaveView(): void {
	if (!leaving) return;
	leaving.controller.abort();
	for (const cleanup of leaving.cleanups) cleanup();
	leaving = null;
}

function noticeFor(error: ApiError | undefined): string | null {
	if (!error) return null;
	if (error.code === 'SESSION_EXPIRED' || error.code === 'SESSION_REQUIRED') return ENDED_NOTICE;
	return `Your session ended: ${error.code}: ${error.message}`;
}

function showSignIn(notice: string | null): void {
	clearTimeout(sessionTimer);
	leaveView();
	closeAllModals();
	clearToasts();
	document.title = 'Sign in · n8n Secrets';
	renderSignIn(app, notice, () => {
		// The sign-in form (and the focus in it) is gone: focus goes to the first page's heading.
		firstView = false;
		showShell();
	});
}

function endSession(error: ApiError): void {
	forget();
	showSignIn(noticeFor(error));
}

/**
 * Asks the server when the session should have ended (idle or absolute limit), so an unattended page
 * goes back to sign-in instead of showing what it showed.
 */
function watchSession(): void {
	const session = who();
	if (!session) return;
	clearTimeout(sessionTimer);
	const idle = session.idleTimeoutSeconds * 1000 + 1500;
	const absolute = Date.parse(session.expiresAt) - Date.now() + 1000;
	sessionTimer = setTimeout(
		async () => {
			try {
				const { who: still, ended } = await resume();
				if (!still) endSession(ended ?? new ApiError(401, 'SESSION_EXPIRED', ENDED_NOTICE));
			} catch {
				// Unreachable server: the next request says so.
			}
		},
		Math.max(1000, Math.min(idle, absolute)),
	);
}

const NAV: {
	label: string;
	href: string;
	icon: IconName;
	view: Route['view'];
	allowed: () => boolean;
}[] = [
	{ label: 'Secrets', href: hrefOf.secrets(), icon: 'key', view: 'secrets', allowed: () => true },
	{
		label: 'Tokens',
		href: hrefOf.tokens(),
		icon: 'badge',
		view: 'tokens',
		allowed: () => can('admin'),
	},
	{
		label: 'Audit',
		href: hrefOf.audit(),
		icon: 'audit',
		view: 'audit',
		allowed: () => can('audit:read'),
	},
];

function sidebar(session: Who): HTMLElement {
	const signout = button(
		'Sign out',
		{ kind: 'ghost', 'data-test': 'signout', className: 'signout' },
		'logout',
	);
	signout.addEventListener('click', async () => {
		signout.disabled = true;
		try {
			await signOut();
		} catch {
			// The session is forgotten here whatever the server said; its cookie ends with it.
		}
		showSignIn('You signed out.');
	});
	return el(
		'aside',
		{ class: 'sidebar' },
		el(
			'a',
			{ class: 'brand', href: hrefOf.secrets() },
			el('span', { class: 'brand-mark' }, icon('key', 18)),
			'n8n Secrets',
		),
		el(
			'nav',
			{ class: 'nav', 'aria-label': 'Main' },
			el(
				'ul',
				null,
				NAV.filter((n) => n.allowed()).map((n) =>
					el(
						'li',
						null,
						el(
							'a',
							{
								class: 'nav-link',
								href: n.href,
								'data-view': n.view,
								'data-test': `nav-${n.view}`,
							},
							icon(n.icon),
							n.label,
						),
					),
				),
			),
		),
		el(
			'div',
			{ class: 'whoami', 'data-test': 'whoami' },
			el('div', { class: 'whoami-subject', 'data-test': 'whoami-subject' }, session.subject),
			el(
				'div',
				{ class: 'whoami-role' },
				el(
					'span',
					{ class: 'badge badge-neutral', 'data-test': 'whoami-role' },
					session.role ?? 'custom scopes',
				),
				session.environments.length
					? el('span', { class: 'muted' }, ` ${session.environments.join(', ')}`)
					: null,
			),
			signout,
		),
	);
}

function showShell(): void {
	const session = who();
	if (!session) return showSignIn(null);
	const main = el('main', { id: 'main', class: 'main', tabindex: -1 });
	app.replaceChildren(el('div', { class: 'layout' }, sidebar(session), main));
	watchSession();
	route();
}

function route(): void {
	const main = document.getElementById('main');
	if (!who() || !main || main.classList.contains('signin')) return;
	leaveView();
	closeAllModals();
	const current = parseRoute();
	const controller = new AbortController();
	const cleanups: (() => void)[] = [];
	leaving = { controller, cleanups };
	const ctx: ViewContext = { signal: controller.signal, onLeave: (fn) => cleanups.push(fn) };
	for (const link of document.querySelectorAll<HTMLAnchorElement>('.nav-link')) {
		const here =
			link.dataset.view === current.view ||
			(current.view === 'secret' && link.dataset.view === 'secrets');
		if (here) link.setAttribute('aria-current', 'page');
		else link.removeAttribute('aria-current');
	}
	main.replaceChildren();
	switch (current.view) {
		case 'secrets':
			document.title = 'Secrets · n8n Secrets';
			renderSecretsList(main, ctx);
			break;
		case 'secret':
			document.title = `${current.name} · n8n Secrets`;
			renderSecret(main, ctx, current.name);
			break;
		case 'tokens':
			document.title = 'Tokens · n8n Secrets';
			renderTokens(main, ctx);
			break;
		case 'audit':
			document.title = 'Audit · n8n Secrets';
			renderAudit(main, ctx);
			break;
		case 'missing':
			renderMissing(main);
			break;
	}
	// After navigation, focus goes to the new page's heading (screen readers announce it); not on load.
	if (!firstView) main.querySelector<HTMLElement>('h1')?.focus();
	firstView = false;
}

async function boot(): Promise<void> {
	handleSessionEnd(endSession);
	handleActivity(watchSession);
	window.addEventListener('hashchange', route);
	document.querySelector('.skip-link')?.addEventListener('click', (event) => {
		event.preventDefault();
		document.getElementById('main')?.focus();
	});
	try {
		const [, session] = await Promise.all([loadRules(), resume()]);
		if (session.who) showShell();
		else showSignIn(noticeFor(session.ended));
	} catch (err) {
		app.replaceChildren(
			el(
				'main',
				{ class: 'signin', id: 'main' },
				el('div', { class: 'signin-card' }, errorBox(err, 'The page could not start')),
			),
		);
	}
}

window.addEventListener('unhandledrejection', (event) => {
	if (event.reason instanceof DOMException && event.reason.name === 'AbortError') return;
	toast(event.reason instanceof Error ? event.reason.message : 'Something went wrong.', 'error');
});

void boot();
