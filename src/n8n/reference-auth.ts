/** What the Secret Reference Auth credential does to a request, kept here so it can be tested. */
import type { ICredentialDataDecryptedObject, IHttpRequestOptions } from 'n8n-workflow';

import {
	allowsAnyHost,
	destinationOfUrl,
	formatDestination,
	hostOfPattern,
} from '../core/matching';
import { hasReferences } from '../core/reference';
import { backendFor, callerOf, connectionFromCredential } from './connection';
import { RequestSecrets } from './references';

/**
 * Where the request goes. n8n's own HTTP Request node still builds requests in the older `request`
 * format, with the address in `uri` instead of `url`.
 */
function destinationOf(options: IHttpRequestOptions & { uri?: string }): string {
	return formatDestination(destinationOfUrl(options.url ?? options.uri ?? '', options.baseURL));
}

export async function applySecretReferenceAuth(
	credentials: ICredentialDataDecryptedObject,
	requestOptions: IHttpRequestOptions,
	/** Given by the Secret HTTP Request node, which resolves per hop and scrubs its output. */
	resolver?: RequestSecrets,
): Promise<IHttpRequestOptions> {
	let secrets = resolver;
	if (!secrets) {
		const conn = connectionFromCredential(credentials);
		// A credential's authenticate is not told which workflow runs it; the audit event says so.
		secrets = new RequestSecrets(
			await backendFor(conn),
			callerOf(conn, { node: 'Secret Reference Auth credential' }),
			conn.environment,
			destinationOf(requestOptions),
		);
	}
	const text = (field: string) => String(credentials[field] ?? '');
	const out: IHttpRequestOptions = {
		...requestOptions,
		headers: { ...(requestOptions.headers ?? {}) },
	};
	switch (credentials.placement) {
		case 'header':
			out.headers![text('headerName') || 'X-API-Key'] = await secrets.resolve(text('reference'));
			break;
		case 'query':
			out.qs = {
				...(requestOptions.qs ?? {}),
				[text('queryName') || 'api_key']: await secrets.resolve(text('reference')),
			};
			break;
		case 'basic': {
			const username = await secrets.resolve(text('userReference'));
			const password = await secrets.resolve(text('passReference'));
			// Only text that holds a resolved value is scrubbed: a literal `app:` is not a secret.
			const resolved = hasReferences(text('userReference')) || hasReferences(text('passReference'));
			out.auth = resolved ? secrets.basicAuth(username, password) : { username, password };
			break;
		}
		default:
			out.headers!.Authorization = `Bearer ${await secrets.resolve(text('reference'))}`;
	}
	if (secrets.hasBoundSecrets) {
		// n8n itself then refuses to carry the credential to any other host, redirects included.
		out.sendCredentialsOnCrossOriginRedirect = false;
		if (!allowsAnyHost(secrets.boundHosts))
			out.allowedDomains = [...new Set(secrets.boundHosts.map(hostOfPattern))].join(',');
	}
	return out;
}
