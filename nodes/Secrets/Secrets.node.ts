import {
	type INodeTypeBaseDescription,
	type IVersionedNodeType,
	VersionedNodeType,
} from 'n8n-workflow';

import { SecretsV1 } from './v1/SecretsV1.node';

export class Secrets extends VersionedNodeType {
	constructor() {
		const baseDescription: INodeTypeBaseDescription = {
			displayName: 'Secrets',
			name: 'secrets',
			icon: { light: 'file:../../icons/secrets.svg', dark: 'file:../../icons/secrets.dark.svg' },
			group: ['transform'],
			subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
			description: 'Manage secrets by name: create, rotate, roll back, audit and issue tokens',
			// The package has no public home yet: n8n's page on installing and updating community nodes.
			documentationUrl:
				'https://docs.n8n.io/integrations/community-nodes/installation-and-management/',
			defaultVersion: 1,
		};
		const nodeVersions: IVersionedNodeType['nodeVersions'] = { 1: new SecretsV1(baseDescription) };
		super(nodeVersions, baseDescription);
	}
}
