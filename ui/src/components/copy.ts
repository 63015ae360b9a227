/** Copy to the clipboard, with a fallback where the Clipboard API is missing (plain HTTP). */
import { toast } from './feedback.js';

/** Copies `text`; `source` is the element showing it, selected for the fallback copy. */
export async function copyText(text: string, source: HTMLElement): Promise<void> {
	try {
		if (!navigator.clipboard) throw new Error('no clipboard API');
		await navigator.clipboard.writeText(text);
	} catch {
		const range = document.createRange();
		range.selectNodeContents(source);
		const selection = window.getSelection();
		selection?.removeAllRanges();
		selection?.addRange(range);
		// Deprecated but the only copy without the Clipboard API (a non-secure context).
		const copied = document.execCommand('copy');
		selection?.removeAllRanges();
		if (!copied) {
			toast('Copying was refused by the browser: select the text and copy it by hand.', 'error');
			return;
		}
	}
	toast('Copied to the clipboard.', 'info');
}
