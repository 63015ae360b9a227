import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Session } from '../../../../../src/n8n/node-support';

export const description: INodeProperties[] = [
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
	},
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		options: [
			{
				displayName: 'Action',
				name: 'action',
				type: 'string',
				default: '',
				placeholder: 'use, reveal, deny, rotate…',
			},
			{
				displayName: 'Actor',
				name: 'actor',
				type: 'string',
				default: '',
				description: 'Token subject',
			},
			{ displayName: 'Execution ID', name: 'executionId', type: 'string', default: '' },
			{ displayName: 'Secret', name: 'secret', type: 'string', default: '' },
			{ displayName: 'Since', name: 'since', type: 'dateTime', default: '' },
			{ displayName: 'Until', name: 'until', type: 'dateTime', default: '' },
			{ displayName: 'Workflow ID', name: 'workflowId', type: 'string', default: '' },
		],
	},
];

export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject[]> {
	const f = this.getNodeParameter('filters', i, {}) as IDataObject;
	const str = (k: string) => (typeof f[k] === 'string' && f[k] ? (f[k] as string) : undefined);
	const date = (k: string) => (str(k) ? new Date(str(k)!).toISOString() : undefined);
	const page = await s.service.listAudit(s.caller, {
		action: str('action'),
		actor: str('actor'),
		executionId: str('executionId'),
		secret: str('secret'),
		workflowId: str('workflowId'),
		since: date('since'),
		until: date('until'),
		limit: Math.min(1000, this.getNodeParameter('limit', i, 50) as number),
	});
	return page.items as unknown as IDataObject[];
}
