/**
 * The leak check catches leaks in a real Chromium: a value the page put in the DOM, in
 * localStorage, in IndexedDB and in a URL is reported in each of those places (so a passing leak
 * check in the other suites means something).
 */
import { type Suite, startSuite } from './harness';

const VALUE = 'canary-VALUE-e6b1f09a3c7d2458';

let s: Suite;

afterAll(() => s?.close());

it('reports a value planted in the DOM, localStorage, IndexedDB and a URL', async () => {
	s = await startSuite();
	s.remember('the canary', VALUE);
	const page = await s.newPage();
	await page.goto(`${s.url}/`, { waitUntil: 'domcontentloaded' });
	await page.evaluate(async (v: string) => {
		document.body.append(document.createTextNode(v));
		localStorage.setItem('planted', v);
		await new Promise<void>((resolve, reject) => {
			const open = indexedDB.open('planted', 1);
			open.onupgradeneeded = () => open.result.createObjectStore('s');
			open.onsuccess = () => {
				const tx = open.result.transaction('s', 'readwrite');
				tx.objectStore('s').put(v, 'k');
				tx.oncomplete = () => resolve();
				tx.onerror = () => reject(tx.error);
			};
		});
		await (await fetch(`/api/v1/rules?planted=${encodeURIComponent(v)}`)).text();
	}, VALUE);
	const hits = await s.leakCheck();
	const where = hits.map((h) => h.where);
	expect(where).toEqual(
		expect.arrayContaining([
			expect.stringMatching(/^DOM of /),
			'a URL the page asked for',
			expect.stringMatching(/^Chromium profile:.*Local Storage/),
			expect.stringMatching(/^Chromium profile:.*IndexedDB/),
		]),
	);
	expect(JSON.stringify(hits)).not.toContain(VALUE);
});
