import { X509Certificate } from 'node:crypto';

import { SecretsError } from './errors';
import type { SecretType } from './model';

/** 64 KiB: larger than any certificate chain or key we expect, small enough to keep rows cheap. */
export const MAX_VALUE_BYTES = 64 * 1024;

/** Validity a value carries inside itself (a certificate's notBefore/notAfter). */
export interface IntrinsicValidity {
	notBefore?: string;
	expiresAt?: string;
}

function invalid(type: SecretType, what: string): SecretsError {
	return new SecretsError('INVALID_INPUT', `The value is not a valid ${type}: ${what}.`, {
		details: { field: 'value', type },
	});
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const PEM_PRIVATE_KEY =
	/^-----BEGIN (?:OPENSSH |RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY-----[\s\S]+-----END (?:OPENSSH |RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY-----\s*$/;

function checkCertificate(value: string): IntrinsicValidity {
	const pem = PEM_CERT.exec(value);
	if (!pem)
		throw invalid('CERTIFICATE', 'expected a PEM block starting with -----BEGIN CERTIFICATE-----');
	let cert: X509Certificate;
	try {
		cert = new X509Certificate(pem[0]);
	} catch {
		throw invalid('CERTIFICATE', 'the PEM block does not parse as an X.509 certificate');
	}
	return {
		notBefore: new Date(cert.validFrom).toISOString(),
		expiresAt: new Date(cert.validTo).toISOString(),
	};
}

function checkJsonObject(type: SecretType, value: string, hint: string): void {
	let parsed: unknown;
	try {
		parsed = JSON.parse(value);
	} catch {
		throw invalid(type, `expected a JSON object (${hint})`);
	}
	if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
		throw invalid(type, `expected a JSON object (${hint})`);
	}
}

function checkEncryptionKey(value: string): void {
	const v = value.trim();
	let bytes = 0;
	if (/^[0-9a-fA-F]+$/.test(v) && v.length % 2 === 0) bytes = v.length / 2;
	else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) bytes = Buffer.from(v, 'base64').length;
	else throw invalid('ENCRYPTION_KEY', 'expected hex or base64 key material');
	if (bytes < 16)
		throw invalid('ENCRYPTION_KEY', 'key material must be at least 16 bytes (128 bits)');
}

/**
 * Checks a value against its type before it is encrypted, and returns the validity the value itself
 * declares (a certificate's notAfter becomes the version's expiry).
 */
export function checkValue(type: SecretType, value: string): IntrinsicValidity {
	if (value.length === 0) throw invalid(type, 'the value is empty');
	if (Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES) {
		throw invalid(type, `the value is larger than ${MAX_VALUE_BYTES} bytes`);
	}
	switch (type) {
		case 'CERTIFICATE':
			return checkCertificate(value);
		case 'DATABASE_CREDENTIAL':
			checkJsonObject(type, value, 'for example {"user":"app","password":"...","host":"db"}');
			return {};
		case 'SSH_KEY':
			if (!PEM_PRIVATE_KEY.test(value.trim()) && !/^ssh-[a-z0-9-]+ [A-Za-z0-9+/=]+/.test(value)) {
				throw invalid(type, 'expected a PEM private key (-----BEGIN ... PRIVATE KEY-----)');
			}
			return {};
		case 'ENCRYPTION_KEY':
			checkEncryptionKey(value);
			return {};
		case 'OAUTH_TOKEN':
			if (value.trimStart().startsWith('{')) {
				checkJsonObject(
					type,
					value,
					'a token response such as {"access_token":"...","refresh_token":"..."}',
				);
				return {};
			}
			if (/\s/.test(value)) throw invalid(type, 'it contains whitespace or a line break');
			return {};
		case 'API_KEY':
		case 'WEBHOOK_SECRET':
			// These travel in headers and URLs, where whitespace or line breaks break requests silently.
			if (/\s/.test(value)) throw invalid(type, 'it contains whitespace or a line break');
			return {};
		case 'PASSWORD':
			if (/[\r\n]/.test(value)) throw invalid(type, 'it contains a line break');
			return {};
		case 'CUSTOM':
			return {};
	}
}
