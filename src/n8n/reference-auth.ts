/** What the Secret Reference Auth credential does to a request, kept here so it can be tested. */
import type { ICredentialDataDecryptedObject, IHttpRequestOptions } from 'n8n-workflow';

import {
	allowsAnyHost,
	destinationOfUrl,
	formatDestination,
	hostOfPattern,
} from '../core/matching';
import { resolveReferenceAuth } from '../outbound/reference-auth';
import { RequestSecrets } from '../outbound/resolution';
import type { ReferenceAuthFields } from '../outbound/spec';
import { backendFor, callerOf, connectionFromCredential } from './connection';

const FIELDS = ['reference', 'headerName', 'queryName', 'userReference', 'passReference'] as const;

/**
 * The credential's placement and references, without its connection and token: what the Secret
 * HTTP Request hands the engine (and, in remote mode, the relay). An empty field is left out.
 */
export function referenceAuthOf(credentials: ICredentialDataDecryptedObject): ReferenceAuthFields {
	const placement = credentials.placement || 'bearer';
	const fields = { placement } as ReferenceAuthFields;
	for (const f of FIELDS) {
		const v = credentials[f];
		if (v !== undefined && v !== null && v !== '') fields[f] = String(v);
	}
	return fields;
}

/**
 * Where the request goes. n8n's own HTTP Request node still builds requests in the older `request`
 * format, with the address in `uri` instead of `url`.
 */
function destinationOf(options: IHttpRequestOptions & { uri?: string }): string {
	return formatDestination(destinationOfUrl(options.url ?? options.uri ?? '', options.baseURL));
}

/** The credential's `authenticate`, for n8n's own requests (the HTTP Request node and others). */
export async function applySecretReferenceAuth(
	credentials: ICredentialDataDecryptedObject,
	requestOptions: IHttpRequestOptions,
): Promise<IHttpRequestOptions> {
	const conn = connectionFromCredential(credentials);
	// A credential's authenticate is not told which workflow runs it; the audit event says so.
	const secrets = new RequestSecrets(
		await backendFor(conn),
		callerOf(conn, { node: 'Secret Reference Auth credential' }),
		conn.environment,
		destinationOf(requestOptions),
	);
	const part = await resolveReferenceAuth(referenceAuthOf(credentials), secrets);
	const out: IHttpRequestOptions = {
		...requestOptions,
		headers: { ...(requestOptions.headers ?? {}) },
	};
	if ('header' in part) out.headers![part.header] = part.value;
	else if ('query' in part) out.qs = { ...(requestOptions.qs ?? {}), [part.query]: part.value };
	else out.auth = part.basic;
	if (secrets.hasBoundSecrets) {
		// n8n itself then refuses to carry the credential to any other host, redirects included.
		out.sendCredentialsOnCrossOriginRedirect = false;
		if (!allowsAnyHost(secrets.boundHosts))
			out.allowedDomains = [...new Set(secrets.boundHosts.map(hostOfPattern))].join(',');
	}
	return out;
}
