import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	IHttpRequestOptions,
	INodeProperties,
	Icon,
} from 'n8n-workflow';

import { applySecretReferenceAuth } from '../src/n8n/reference-auth';

/**
 * Authentication from secret references, resolved at request time: n8n's own HTTP Request node lists
 * it under "Predefined Credential Type" (it has `authenticate`). The credential holds references such
 * as `[[secret:stripe-key]]`, never values; each request resolves them for its own destination host,
 * so a secret bound to api.stripe.com is refused for any other host.
 */
export class SecretReferenceAuth implements ICredentialType {
	name = 'secretReferenceAuth';

	displayName = 'Secret Reference Auth';

	icon: Icon = { light: 'file:../icons/secrets.svg', dark: 'file:../icons/secrets.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'Connection',
			name: 'connection',
			type: 'options',
			options: [
				{ name: 'Embedded (Store on This n8n Host)', value: 'embedded' },
				{ name: 'Remote (n8n-secrets serve)', value: 'remote' },
			],
			default: 'embedded',
		},
		{
			displayName: 'Server URL',
			name: 'url',
			type: 'string',
			default: '',
			placeholder: 'https://secrets.internal:8200',
			hint: 'Where n8n-secrets serve listens',
			required: true,
			displayOptions: { show: { connection: ['remote'] } },
		},
		{
			displayName: 'Access Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			hint: 'Create one on the Secrets page (Tokens) or with "n8n-secrets token create". Embedded: a "user" token (it may use secrets in requests, never see them). Remote: a "runtime" token (n8n itself sends this request, so the value must reach n8n; give that role to n8n hosts only).',
		},
		{
			displayName: 'Environment',
			name: 'environment',
			type: 'string',
			default: 'production',
			required: true,
			hint: 'Which value of each secret this credential sends',
		},
		{
			displayName: 'Send As',
			name: 'placement',
			type: 'options',
			options: [
				{ name: 'Bearer Token', value: 'bearer', description: 'Authorization: Bearer …' },
				{ name: 'Header', value: 'header', description: 'A header of your choice' },
				{ name: 'Query Parameter', value: 'query' },
				{ name: 'Basic Auth', value: 'basic', description: 'User and password' },
			],
			default: 'bearer',
		},
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'X-API-Key',
			displayOptions: { show: { placement: ['header'] } },
		},
		{
			displayName: 'Parameter Name',
			name: 'queryName',
			type: 'string',
			default: 'api_key',
			displayOptions: { show: { placement: ['query'] } },
		},
		{
			displayName: 'Value',
			name: 'reference',
			type: 'string',
			default: '',
			placeholder: '[[secret:stripe-key]]',
			required: true,
			hint: 'Text with secret references, e.g. [[secret:stripe-key]] or Token [[secret:api-key]]. Pinned versions: [[secret:name@previous]], [[secret:name#3]]. Saving tests that every reference resolves.',
			displayOptions: { show: { placement: ['bearer', 'header', 'query'] } },
		},
		{
			displayName: 'User',
			name: 'userReference',
			type: 'string',
			default: '',
			placeholder: 'app or [[secret:db-user]]',
			hint: 'A user name, or a reference to one',
			displayOptions: { show: { placement: ['basic'] } },
		},
		{
			displayName: 'Password Reference',
			name: 'passReference',
			type: 'string',
			default: '',
			placeholder: '[[secret:db-password]]',
			required: true,
			hint: 'A reference to the password, e.g. [[secret:db-password]]',
			displayOptions: { show: { placement: ['basic'] } },
		},
	];

	authenticate = async (
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> => applySecretReferenceAuth(credentials, requestOptions);
}
