/**
 * Sign-in: one masked field for an access token, exchanged for a session cookie. The field is emptied
 * as soon as the request is sent; the token is kept nowhere by the page.
 */
import { ApiError } from '../api.js';
import { el, icon, prose } from '../dom.js';
import { callout, errorBox } from '../components/feedback.js';
import { field, secretInput } from '../components/fields.js';
import { type Who, signIn } from '../session.js';

export function renderSignIn(
	root: HTMLElement,
	notice: string | null,
	onSignedIn: (who: Who) => void,
): void {
	const token = field(
		'Access token',
		secretInput({ name: 'token', 'data-test': 'signin-token', required: true }),
		{
			hint: el(
				'span',
				null,
				...prose(
					'From `n8n-secrets init` or `n8n-secrets token create`. It is exchanged for a session and not kept by this page.',
				),
			),
		},
	);
	const submit = el(
		'button',
		{ type: 'submit', class: 'btn btn-primary btn-block', 'data-test': 'signin-submit' },
		'Sign in',
	);
	const messages = el('div', { class: 'form-errors' });
	let wait: ReturnType<typeof setInterval> | undefined;

	const form = el(
		'form',
		{ class: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-title' },
		notice
			? el('div', { 'data-test': 'signin-notice' }, callout('warning', el('p', null, notice)))
			: null,
		token.root,
		messages,
		submit,
	);

	function rateLimited(seconds: number): void {
		let left = seconds;
		submit.disabled = true;
		const tick = () => {
			submit.textContent = left > 0 ? `Try again in ${left} s` : 'Sign in';
			if (left <= 0) {
				clearInterval(wait);
				submit.disabled = false;
			}
			left -= 1;
		};
		tick();
		wait = setInterval(tick, 1000);
	}

	form.addEventListener('submit', async (event) => {
		event.preventDefault();
		const value = token.control.value.trim();
		// The token leaves the field at once: only the request body carries it, once.
		token.control.value = '';
		messages.replaceChildren();
		if (!value) {
			token.setError('Paste an access token.');
			token.control.focus();
			return;
		}
		token.setError(null);
		submit.disabled = true;
		form.setAttribute('aria-busy', 'true');
		try {
			const who = await signIn(value);
			clearInterval(wait);
			onSignedIn(who);
		} catch (err) {
			messages.replaceChildren(errorBox(err, 'Sign-in failed'));
			submit.disabled = false;
			form.removeAttribute('aria-busy');
			if (err instanceof ApiError && err.status === 429 && err.retryAfter)
				rateLimited(err.retryAfter);
			token.control.focus();
		}
	});

	root.replaceChildren(
		el(
			'main',
			{ class: 'signin', id: 'main', tabindex: -1 },
			el(
				'div',
				{ class: 'signin-card' },
				el(
					'div',
					{ class: 'brand brand-large' },
					el('span', { class: 'brand-mark' }, icon('key', 20)),
					'n8n Secrets',
				),
				el('h1', { id: 'signin-title', class: 'signin-title' }, 'Sign in'),
				el(
					'p',
					{ class: 'muted' },
					'Manage the secrets your n8n workflows use, without ever showing their values.',
				),
				form,
			),
		),
	);
	// Focus lands in the field, so the notice is read with it.
	if (notice)
		token.control.setAttribute(
			'aria-describedby',
			`signin-notice ${token.control.getAttribute('aria-describedby') ?? ''}`.trim(),
		);
	token.control.focus();
}
