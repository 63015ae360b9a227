import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeBaseDescription,
	INodeTypeDescription,
} from 'n8n-workflow';

import { searchSecretNames, testSecretsStore } from '../../../src/n8n/node-support';
import { router } from './actions/router';
import { versionDescription } from './actions/versionDescription';

export class SecretsV1 implements INodeType {
	description: INodeTypeDescription;

	constructor(baseDescription: INodeTypeBaseDescription) {
		this.description = { ...baseDescription, ...versionDescription };
	}

	methods = {
		listSearch: { searchSecretNames },
		credentialTest: { secretsStoreApiTest: testSecretsStore },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
