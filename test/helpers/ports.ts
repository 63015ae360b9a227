import { type Server, createServer } from 'node:net';

/**
 * `count` distinct TCP ports free on loopback right now, for processes a test starts that cannot be
 * told to pick their own (n8n and its task broker): a developer's own n8n on 5678/5679 must not be in
 * the way. All are held until all are found, so none is handed out twice.
 */
export async function freePorts(count: number): Promise<number[]> {
	const held: Server[] = [];
	try {
		const ports: number[] = [];
		for (let i = 0; i < count; i++) {
			const server = createServer();
			held.push(server);
			await new Promise<void>((resolve, reject) => {
				server.once('error', reject);
				server.listen(0, '127.0.0.1', resolve);
			});
			const address = server.address();
			ports.push(typeof address === 'object' && address ? address.port : 0);
		}
		return ports;
	} finally {
		await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
	}
}
