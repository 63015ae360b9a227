import { el } from '../dom.js';
import { hrefOf } from '../router.js';
import { pageHeader } from '../view.js';

export function renderMissing(root: HTMLElement): void {
	root.append(
		pageHeader('Page not found', 'There is no page at this address.'),
		el('p', null, el('a', { href: hrefOf.secrets() }, 'Go to the secrets')),
	);
}
