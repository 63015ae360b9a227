#!/usr/bin/env node
import { decodeStdin } from './io';
import { runCli } from './program';

function readStdin(): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		process.stdin.on('data', (c: Buffer) => chunks.push(c));
		process.stdin.on('end', () => {
			try {
				resolve(decodeStdin(Buffer.concat(chunks)));
			} catch (err) {
				reject(err);
			}
		});
		process.stdin.on('error', reject);
	});
}

void runCli(process.argv.slice(2), {
	env: process.env,
	stdin: readStdin,
	out: (s) => process.stdout.write(s),
	err: (s) => process.stderr.write(s),
	isTty: Boolean(process.stdout.isTTY),
}).then((code) => {
	process.exitCode = code;
});
