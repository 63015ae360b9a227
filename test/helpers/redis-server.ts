/**
 * A private Redis for a suite: Debian's redis-server started on a free loopback port in the suite's
 * own folder (never a developer's Redis, and every key in it is the suite's), a small RESP client to
 * read it, and MONITOR recorded to a file: every command any client sent, with its arguments.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { type Socket, connect } from 'node:net';

import { freePorts } from './ports';

/** A RESP2 reply: status and bulk strings as bytes, integers, arrays, nil, or an error reply. */
export type Reply = Buffer | number | null | Error | Reply[];

/** Whether `redis-server` can be started here. */
export function redisServerInstalled(): boolean {
	return spawnSync('redis-server', ['--version']).status === 0;
}

/** Parses one reply at `at`; undefined when the buffer does not hold all of it yet. */
function parse(buf: Buffer, at: number): { value: Reply; next: number } | undefined {
	const eol = buf.indexOf('\r\n', at);
	if (eol < 0) return undefined;
	const head = buf.toString('utf8', at + 1, eol);
	const after = eol + 2;
	switch (String.fromCharCode(buf[at])) {
		case '+':
			return { value: buf.subarray(at + 1, eol), next: after };
		case '-':
			return { value: new Error(head), next: after };
		case ':':
			return { value: Number(head), next: after };
		case '$': {
			const n = Number(head);
			if (n < 0) return { value: null, next: after };
			if (buf.length < after + n + 2) return undefined;
			return { value: buf.subarray(after, after + n), next: after + n + 2 };
		}
		case '*': {
			const n = Number(head);
			if (n < 0) return { value: null, next: after };
			const items: Reply[] = [];
			let next = after;
			for (let i = 0; i < n; i++) {
				const item = parse(buf, next);
				if (!item) return undefined;
				items.push(item.value);
				next = item.next;
			}
			return { value: items, next };
		}
		default:
			throw new Error(`Unexpected RESP reply type ${JSON.stringify(buf[at])}`);
	}
}

/** One connection; commands are answered in the order they were sent. */
export class RedisClient {
	private buffer = Buffer.alloc(0);
	private readonly waiting: { resolve(r: Reply): void; reject(e: Error): void }[] = [];

	private constructor(private readonly socket: Socket) {
		socket.on('data', (chunk) => {
			this.buffer = Buffer.concat([this.buffer, chunk]);
			for (;;) {
				const reply = this.buffer.length ? parse(this.buffer, 0) : undefined;
				if (!reply) break;
				this.buffer = this.buffer.subarray(reply.next);
				this.waiting.shift()?.resolve(reply.value);
			}
		});
		socket.on('error', (err) => {
			for (const w of this.waiting.splice(0)) w.reject(err);
		});
	}

	static connect(port: number): Promise<RedisClient> {
		return new Promise((resolve, reject) => {
			const socket = connect(port, '127.0.0.1', () => resolve(new RedisClient(socket)));
			socket.once('error', reject);
		});
	}

	command(...args: (string | Buffer)[]): Promise<Reply> {
		const parts = args.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(a)));
		const frame = Buffer.concat([
			Buffer.from(`*${parts.length}\r\n`),
			...parts.flatMap((p) => [Buffer.from(`$${p.length}\r\n`), p, Buffer.from('\r\n')]),
		]);
		return new Promise((resolve, reject) => {
			this.waiting.push({
				resolve: (r) => (r instanceof Error ? reject(r) : resolve(r)),
				reject,
			});
			this.socket.write(frame);
		});
	}

	close(): void {
		this.socket.end();
	}
}

/** Every byte of a reply, nested arrays included, one element per line. */
function flatten(reply: Reply): Buffer[] {
	if (Array.isArray(reply)) return reply.flatMap(flatten);
	if (Buffer.isBuffer(reply)) return [reply];
	return [Buffer.from(String(reply))];
}

/** How each type of key is read in full. */
const READ_BY_TYPE: Record<string, (key: Buffer) => (string | Buffer)[]> = {
	string: (k) => ['GET', k],
	hash: (k) => ['HGETALL', k],
	list: (k) => ['LRANGE', k, '0', '-1'],
	set: (k) => ['SMEMBERS', k],
	zset: (k) => ['ZRANGE', k, '0', '-1', 'WITHSCORES'],
	stream: (k) => ['XRANGE', k, '-', '+'],
};

export interface RedisDump {
	/** How many keys of each type. */
	types: Record<string, number>;
	/** Every key's name, type and full contents. */
	data: Buffer;
}

export interface PrivateRedis {
	port: number;
	/** Every key in the server, read by its type (a type not listed is read with DUMP). */
	dumpAll(): Promise<RedisDump>;
	/** Ends the MONITOR recording (its file is then complete). */
	stopMonitor(): Promise<void>;
	/** Stops recording MONITOR and the server (without saving). */
	stop(): Promise<void>;
}

async function waitForPing(port: number, child: ChildProcess, log: string): Promise<void> {
	const deadline = Date.now() + 10_000;
	for (;;) {
		if (child.exitCode !== null)
			throw new Error(`redis-server exited with ${child.exitCode}; see ${log}`);
		try {
			const client = await RedisClient.connect(port);
			const pong = await client.command('PING');
			client.close();
			if (String(pong) === 'PONG') return;
		} catch {
			// Not listening yet.
		}
		if (Date.now() > deadline) throw new Error(`redis-server did not answer PING; see ${log}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

/** Records MONITOR's stream (every command any client sends) to a file, until the returned stop. */
async function recordMonitor(port: number, file: string): Promise<() => Promise<void>> {
	const socket = connect(port, '127.0.0.1');
	const recording = createWriteStream(file);
	socket.pipe(recording);
	// MONITOR answers +OK once it records; commands sent after that are all in the file.
	await new Promise<void>((resolve, reject) => {
		socket.once('error', reject);
		socket.once('data', () => resolve());
		socket.write('MONITOR\r\n');
	});
	return async () => {
		const closed = new Promise<void>((resolve) => recording.once('close', () => resolve()));
		socket.end();
		await closed;
	};
}

/**
 * Starts redis-server on a free port with its files in `dir` (no snapshots, no append-only file),
 * its log in `log`, and MONITOR recorded to `monitorFile` from the first command on.
 */
export async function startRedis(
	dir: string,
	log: string,
	monitorFile: string,
): Promise<PrivateRedis> {
	const [port] = await freePorts(1);
	const fd = openSync(log, 'a');
	const child = spawn(
		'redis-server',
		[
			'--port',
			String(port),
			'--bind',
			'127.0.0.1',
			'--save',
			'',
			'--appendonly',
			'no',
			'--dir',
			dir,
		],
		{ stdio: ['ignore', fd, fd] },
	);
	closeSync(fd);
	await waitForPing(port, child, log);
	let stopMonitor: (() => Promise<void>) | undefined = await recordMonitor(port, monitorFile);
	const endMonitor = async () => {
		const stopping = stopMonitor;
		stopMonitor = undefined;
		await stopping?.();
	};
	return {
		port,
		async dumpAll() {
			const client = await RedisClient.connect(port);
			try {
				const types: Record<string, number> = {};
				const out: Buffer[] = [];
				let cursor = '0';
				do {
					const [next, keys] = (await client.command('SCAN', cursor, 'COUNT', '1000')) as [
						Buffer,
						Buffer[],
					];
					cursor = next.toString();
					for (const key of keys) {
						const type = String(await client.command('TYPE', key));
						types[type] = (types[type] ?? 0) + 1;
						const read = READ_BY_TYPE[type] ?? ((k: Buffer) => ['DUMP', k]);
						out.push(key, Buffer.from(`\n${type}\n`));
						out.push(
							...flatten(await client.command(...read(key))).flatMap((b) => [b, Buffer.from('\n')]),
						);
					}
				} while (cursor !== '0');
				return { types, data: Buffer.concat(out) };
			} finally {
				client.close();
			}
		},
		stopMonitor: endMonitor,
		async stop() {
			await endMonitor();
			if (child.exitCode !== null) return;
			const exited = new Promise((resolve) => child.once('exit', resolve));
			child.kill('SIGTERM');
			await exited;
		},
	};
}
