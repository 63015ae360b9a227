import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * How a node reaches the secrets store: where it is, the access token it acts with, and the
 * environment whose values it gets. Tested by the Secrets node (`testedBy: 'secretsStoreApiTest'`),
 * which checks the token against the store itself.
 */
export class SecretsStoreApi implements ICredentialType {
	name = 'secretsStoreApi';

	displayName = 'Secrets Store API';

	icon: Icon = { light: 'file:../icons/secrets.svg', dark: 'file:../icons/secrets.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'Connection',
			name: 'connection',
			type: 'options',
			options: [
				{
					name: 'Embedded (Store on This n8n Host)',
					value: 'embedded',
					description: 'The store file of this n8n host, opened with its N8N_SECRETS_MASTER_KEY',
				},
				{
					name: 'Remote (n8n-secrets serve)',
					value: 'remote',
					description:
						'A secrets server (n8n-secrets serve) reached over HTTPS; the master key stays on that server',
				},
			],
			default: 'embedded',
		},
		{
			displayName: 'Server URL',
			name: 'url',
			type: 'string',
			default: '',
			placeholder: 'https://secrets.internal:8200',
			hint: 'Where n8n-secrets serve listens. Secret HTTP Request sends its requests through the server (relay), so values never reach n8n.',
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
			hint: 'Create one on the Secrets page (Tokens) or with "n8n-secrets token create". Its role decides what workflows may do: "user" to send secrets in requests, "operator" to rotate them, "revealer" to output them.',
		},
		{
			displayName: 'Environment',
			name: 'environment',
			type: 'string',
			default: 'production',
			required: true,
			hint: 'Which value of each secret this credential gets. Give staging and production their own credential; workflows stay the same.',
		},
	];
}
