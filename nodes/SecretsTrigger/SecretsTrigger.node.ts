import {
	type IDataObject,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type IPollFunctions,
	NodeConnectionTypes,
} from 'n8n-workflow';

import { nodeError, openSession, testSecretsStore } from '../../src/n8n/node-support';
import { type TriggerEvent, type TriggerState, pollSecretEvents } from '../../src/n8n/trigger';

export class SecretsTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Secrets Trigger',
		name: 'secretsTrigger',
		icon: { light: 'file:../../icons/secrets.svg', dark: 'file:../../icons/secrets.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["event"]}}',
		description:
			'Starts a workflow when secrets near expiry, fall due for rotation or for a rotation reminder, change, or are denied',
		// The package has no public home yet: n8n's page on installing and updating community nodes.
		documentationUrl:
			'https://docs.n8n.io/integrations/community-nodes/installation-and-management/',
		defaults: { name: 'Secrets Trigger' },
		polling: true,
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'secretsStoreApi', required: true, testedBy: 'secretsStoreApiTest' }],
		properties: [
			{
				displayName: 'Event',
				name: 'event',
				type: 'options',
				options: [
					{
						name: 'Expiring Soon',
						value: 'expiring',
						description: 'A current value expires within N days (or has expired)',
					},
					{
						name: 'Due for Rotation',
						value: 'due',
						description:
							'An AUTOMATIC secret is older than its rotation interval: rotate it in this workflow',
					},
					{
						name: 'Rotation Reminder',
						value: 'reminder',
						description:
							'A MANUAL secret is older than its rotation interval: remind a person to rotate it',
					},
					{
						name: 'Value Changed',
						value: 'changed',
						description:
							'Created, set, rotated, promoted, rolled back or deleted (needs audit:read)',
					},
					{
						name: 'Access Denied',
						value: 'denied',
						description: 'Someone was refused a secret (needs audit:read)',
					},
				],
				default: 'expiring',
			},
			{
				displayName: 'Within Days',
				name: 'withinDays',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 14,
				displayOptions: { show: { event: ['expiring'] } },
			},
			{
				displayName: 'Environment',
				name: 'environment',
				type: 'string',
				default: '',
				description: 'Empty for all environments the token may see',
				displayOptions: { show: { event: ['expiring', 'due', 'reminder'] } },
			},
		],
	};

	methods = { credentialTest: { secretsStoreApiTest: testSecretsStore } };

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		const event = this.getNodeParameter('event') as TriggerEvent;
		const state = this.getWorkflowStaticData('node') as TriggerState & IDataObject;
		try {
			const { service, caller } = await openSession(this);
			const items = await pollSecretEvents(
				service,
				caller,
				{
					event,
					withinDays:
						event === 'expiring' ? (this.getNodeParameter('withinDays', 14) as number) : 0,
					environment:
						event === 'expiring' || event === 'due' || event === 'reminder'
							? (this.getNodeParameter('environment', '') as string) || undefined
							: undefined,
				},
				state,
				this.getMode() === 'manual',
			);
			return items.length ? [this.helpers.returnJsonArray(items)] : null;
		} catch (err) {
			throw nodeError(this.getNode(), err, 0);
		}
	}
}
