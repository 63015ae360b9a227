import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Session } from '../../../../../src/n8n/node-support';

export const description: INodeProperties[] = [
	{
		displayName: 'Environment',
		name: 'environment',
		type: 'string',
		default: '',
		description: 'Empty for all environments',
	},
];

/** Secrets whose current value is older than their rotation interval: one item each. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject[]> {
	const env = (this.getNodeParameter('environment', i, '') as string).trim();
	return (await s.service.dueForRotation(s.caller, {
		environment: env || undefined,
	})) as unknown as IDataObject[];
}
