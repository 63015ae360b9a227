/**
 * DOM building without HTML: every string becomes a text node or an attribute value, never markup, so
 * a secret's description holding `<script>` shows as those characters.
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];

type Listener = (event: Event) => void;
export type Attrs = Record<string, string | number | boolean | null | undefined | Listener>;

/**
 * Properties set on the element rather than as attributes: a typed value (a secret, a token) must
 * never end up in an attribute, where it would show in the DOM inspector and in `outerHTML`.
 */
const PROPERTIES = new Set(['value', 'checked']);

function append(parent: Node, child: Child): void {
	if (child === null || child === undefined || child === false) return;
	if (Array.isArray(child)) {
		for (const c of child as readonly Child[]) append(parent, c);
		return;
	}
	parent.appendChild(
		child instanceof Node ? child : document.createTextNode(String(child as string | number)),
	);
}

export function el<K extends keyof HTMLElementTagNameMap>(
	tag: K,
	attrs?: Attrs | null,
	...children: Child[]
): HTMLElementTagNameMap[K] {
	const node = document.createElement(tag);
	for (const [key, value] of Object.entries(attrs ?? {})) {
		if (value === null || value === undefined || value === false) continue;
		if (typeof value === 'function') node.addEventListener(key.slice(2).toLowerCase(), value);
		else if (PROPERTIES.has(key)) (node as unknown as Record<string, unknown>)[key] = value;
		else
			node.setAttribute(key === 'className' ? 'class' : key, value === true ? '' : String(value));
	}
	append(node, children);
	return node;
}

/** Replaces an element's children (text nodes included, so nothing shown before stays in the DOM). */
export function clear(node: Element, ...children: Child[]): void {
	node.replaceChildren();
	append(node, children);
}

/** Appends children the way `el` does (nulls and false skipped, strings as text). */
export function add(parent: Element, ...children: Child[]): void {
	append(parent, children);
}

let ids = 0;
/** A document-unique id for label/control and aria-describedby pairs. */
export function uid(prefix: string): string {
	ids += 1;
	return `${prefix}-${ids}`;
}

const SVG = 'http://www.w3.org/2000/svg';

type Shape = readonly [string, Readonly<Record<string, string | number>>];
const ICONS = {
	key: [
		['circle', { cx: 7.5, cy: 15.5, r: 4.5 }],
		['path', { d: 'M10.7 12.3 20 3M15.5 7.5l3 3M13 10l2 2' }],
	],
	lock: [
		['rect', { x: 5, y: 11, width: 14, height: 10, rx: 2 }],
		['path', { d: 'M8 11V7a4 4 0 0 1 8 0v4' }],
	],
	search: [
		['circle', { cx: 11, cy: 11, r: 7 }],
		['path', { d: 'm20 20-4-4' }],
	],
	plus: [['path', { d: 'M12 5v14M5 12h14' }]],
	more: [
		['circle', { cx: 5, cy: 12, r: 1.4, fill: 'currentColor' }],
		['circle', { cx: 12, cy: 12, r: 1.4, fill: 'currentColor' }],
		['circle', { cx: 19, cy: 12, r: 1.4, fill: 'currentColor' }],
	],
	copy: [
		['rect', { x: 9, y: 9, width: 11, height: 11, rx: 2 }],
		['path', { d: 'M5 15V5a2 2 0 0 1 2-2h8' }],
	],
	eye: [
		['path', { d: 'M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z' }],
		['circle', { cx: 12, cy: 12, r: 3 }],
	],
	rotate: [['path', { d: 'M20 12a8 8 0 1 1-2.4-5.7M20 4v5h-5' }]],
	undo: [['path', { d: 'M9 14 4 9l5-5M4 9h10a6 6 0 0 1 0 12h-3' }]],
	upload: [['path', { d: 'M12 16V4M7 9l5-5 5 5M5 20h14' }]],
	edit: [['path', { d: 'M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4' }]],
	trash: [['path', { d: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3' }]],
	logout: [['path', { d: 'M15 4h4v16h-4M10 17l5-5-5-5M15 12H3' }]],
	shield: [['path', { d: 'M12 3 20 6v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z' }]],
	badge: [
		['rect', { x: 3, y: 6, width: 18, height: 12, rx: 2 }],
		['circle', { cx: 8.5, cy: 12, r: 2 }],
		['path', { d: 'M13 10h5M13 14h4' }],
	],
	audit: [
		['rect', { x: 5, y: 3, width: 14, height: 18, rx: 2 }],
		['path', { d: 'M9 8h6M9 12h6M9 16h3' }],
	],
	left: [['path', { d: 'm15 18-6-6 6-6' }]],
	right: [['path', { d: 'm9 18 6-6-6-6' }]],
	close: [['path', { d: 'M6 6l12 12M18 6 6 18' }]],
	check: [['path', { d: 'm5 12 5 5 9-10' }]],
	alert: [['path', { d: 'M12 3 22 20H2zM12 10v4M12 17v.5' }]],
	clock: [
		['circle', { cx: 12, cy: 12, r: 9 }],
		['path', { d: 'M12 7v5l3 2' }],
	],
	restore: [['path', { d: 'M4 12a8 8 0 1 0 2.4-5.7M4 4v5h5' }]],
} satisfies Record<string, readonly Shape[]>;
export type IconName = keyof typeof ICONS;

/** A decorative inline icon (hidden from assistive technology: the control next to it has the text). */
export function icon(name: IconName, size = 16): SVGSVGElement {
	const svg = document.createElementNS(SVG, 'svg');
	for (const [k, v] of Object.entries({
		width: size,
		height: size,
		viewBox: '0 0 24 24',
		fill: 'none',
		stroke: 'currentColor',
		'stroke-width': 2,
		'stroke-linecap': 'round',
		'stroke-linejoin': 'round',
		'aria-hidden': 'true',
		focusable: 'false',
		class: 'icon',
	}))
		svg.setAttribute(k, String(v));
	for (const [tag, attrs] of ICONS[name] as readonly Shape[]) {
		const shape = document.createElementNS(SVG, tag);
		for (const [k, v] of Object.entries(attrs)) shape.setAttribute(k, String(v));
		svg.appendChild(shape);
	}
	return svg;
}

/** A button with an optional leading icon; `kind` picks the look (primary, secondary, danger, ghost). */
export function button(
	label: string,
	attrs: Attrs & { kind?: 'primary' | 'secondary' | 'danger' | 'ghost' | 'link' } = {},
	iconName?: IconName,
): HTMLButtonElement {
	const { kind = 'secondary', className, ...rest } = attrs;
	const classes = ['btn', `btn-${String(kind)}`, className].filter(Boolean).join(' ');
	return el(
		'button',
		{ type: 'button', class: classes, ...rest },
		iconName ? icon(iconName) : null,
		el('span', null, label),
	);
}

/** A link styled as a button: for navigation to another view. */
export function linkButton(label: string, href: string, attrs: Attrs = {}): HTMLAnchorElement {
	return el('a', { href, class: 'btn btn-secondary', ...attrs }, label);
}

/**
 * Text whose `backquoted` parts are commands (the API's messages and the page's hints write them so):
 * those parts become <code> elements, everything stays text.
 */
export function prose(text: string): Child[] {
	return text.split('`').map((part, i) => (i % 2 === 1 ? el('code', null, part) : part));
}
