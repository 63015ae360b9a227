import {
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	NodeConnectionTypes,
} from 'n8n-workflow';

import {
	searchSecretNames,
	testSecretReferenceAuth,
	testSecretsStore,
} from '../../src/n8n/node-support';
import { execute } from './execute';
import { properties } from './properties';

/**
 * One operation, so one class: the versioned layout starts when a second version is needed. Requests
 * go through n8n's own request helper, so the instance's proxy and SSRF settings apply.
 */
export class SecretHttpRequest implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Secret HTTP Request',
		name: 'secretHttpRequest',
		icon: { light: 'file:../../icons/secrets.svg', dark: 'file:../../icons/secrets.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["method"] + ": " + $parameter["url"]}}',
		description:
			'Call an API with secrets referenced by name ([[secret:stripe-key]]); the values never enter workflow data',
		// The package has no public home yet: n8n's page on installing and updating community nodes.
		documentationUrl:
			'https://docs.n8n.io/integrations/community-nodes/installation-and-management/',
		defaults: { name: 'Secret HTTP Request' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'secretsStoreApi',
				required: true,
				testedBy: 'secretsStoreApiTest',
				displayOptions: { show: { authentication: ['secretsStore'] } },
			},
			{
				name: 'secretReferenceAuth',
				required: true,
				testedBy: 'secretReferenceAuthTest',
				displayOptions: { show: { authentication: ['secretReferenceAuth'] } },
			},
		],
		properties,
	};

	methods = {
		listSearch: { searchSecretNames },
		credentialTest: {
			secretsStoreApiTest: testSecretsStore,
			secretReferenceAuthTest: testSecretReferenceAuth,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return execute.call(this);
	}
}
