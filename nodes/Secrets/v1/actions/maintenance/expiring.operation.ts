import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Session } from '../../../../../src/n8n/node-support';

export const description: INodeProperties[] = [
	{
		displayName: 'Within Days',
		name: 'withinDays',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 14,
	},
	{
		displayName: 'Environment',
		name: 'environment',
		type: 'string',
		default: '',
		description: 'Empty for all environments',
	},
];

/** Current values that expire within N days, or have expired: one item each. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject[]> {
	const env = (this.getNodeParameter('environment', i, '') as string).trim();
	const items = await s.service.expiring(s.caller, {
		withinDays: this.getNodeParameter('withinDays', i, 14) as number,
		environment: env || undefined,
	});
	return items as unknown as IDataObject[];
}
