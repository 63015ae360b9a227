import { type INodeTypeDescription, NodeConnectionTypes } from 'n8n-workflow';

import * as audit from './audit/Audit.resource';
import * as maintenance from './maintenance/Maintenance.resource';
import * as secret from './secret/Secret.resource';
import * as token from './token/Token.resource';

export const versionDescription: INodeTypeDescription = {
	displayName: 'Secrets',
	name: 'secrets',
	// Relative to the node's entry file (Secrets.node.js), which is where n8n resolves icons from.
	icon: { light: 'file:../../icons/secrets.svg', dark: 'file:../../icons/secrets.dark.svg' },
	group: ['transform'],
	version: 1,
	subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
	description: 'Manage secrets by name: create, rotate, roll back, audit and issue tokens',
	defaults: { name: 'Secrets' },
	inputs: [NodeConnectionTypes.Main],
	outputs: [NodeConnectionTypes.Main],
	usableAsTool: true,
	credentials: [{ name: 'secretsStoreApi', required: true, testedBy: 'secretsStoreApiTest' }],
	properties: [
		{
			displayName: 'Resource',
			name: 'resource',
			type: 'options',
			noDataExpression: true,
			options: [
				{ name: 'Secret', value: 'secret' },
				{ name: 'Maintenance', value: 'maintenance' },
				{ name: 'Audit', value: 'audit' },
				{ name: 'Token', value: 'token' },
			],
			default: 'secret',
		},
		...secret.description,
		...maintenance.description,
		...audit.description,
		...token.description,
	],
};
