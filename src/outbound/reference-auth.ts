/**
 * What the Secret Reference Auth credential adds to a request, resolved for the request's
 * destination: the Secret HTTP Request's hops (perform.ts) and n8n's own requests through the
 * credential's `authenticate` (src/n8n/reference-auth.ts) apply it, each to its own request shape.
 */
import { hasReferences } from '../core/reference';
import type { RequestSecrets } from './resolution';
import type { ReferenceAuthFields } from './spec';

export type ReferenceAuthPart =
	| { header: string; value: string }
	| { query: string; value: string }
	| { basic: { username: string; password: string } };

export async function resolveReferenceAuth(
	fields: Partial<ReferenceAuthFields>,
	secrets: RequestSecrets,
): Promise<ReferenceAuthPart> {
	const text = (field: Exclude<keyof ReferenceAuthFields, 'placement'>) => fields[field] ?? '';
	switch (fields.placement) {
		case 'header':
			return {
				header: text('headerName') || 'X-API-Key',
				value: await secrets.resolve(text('reference')),
			};
		case 'query':
			return {
				query: text('queryName') || 'api_key',
				value: await secrets.resolve(text('reference')),
			};
		case 'basic': {
			const username = await secrets.resolve(text('userReference'));
			const password = await secrets.resolve(text('passReference'));
			// Only text that holds a resolved value is scrubbed: a literal `app:` is not a secret.
			const resolved = hasReferences(text('userReference')) || hasReferences(text('passReference'));
			return { basic: resolved ? secrets.basicAuth(username, password) : { username, password } };
		}
		default:
			return {
				header: 'Authorization',
				value: `Bearer ${await secrets.resolve(text('reference'))}`,
			};
	}
}
