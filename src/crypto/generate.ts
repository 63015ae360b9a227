import { randomInt } from 'node:crypto';

export const ALPHABETS = {
	alphanumeric: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
	hex: '0123456789abcdef',
	base64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
	'ascii-printable':
		'!#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~',
} as const;
export type Alphabet = keyof typeof ALPHABETS;

/** A uniformly random string: `randomInt` rejects biased draws, unlike `byte % alphabet.length`. */
export function generateValue(length: number, alphabet: Alphabet): string {
	const chars = ALPHABETS[alphabet];
	let out = '';
	for (let i = 0; i < length; i++) out += chars[randomInt(chars.length)];
	return out;
}
