import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { SECRET_TYPES } from '../../../../../src/core/model';
import type { Session } from '../../../../../src/n8n/node-support';

export const description: INodeProperties[] = [
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		description: 'Whether to return all results or only up to a given limit',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
		displayOptions: { show: { returnAll: [false] } },
	},
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		options: [
			{ displayName: 'Name Starts With', name: 'prefix', type: 'string', default: '' },
			{ displayName: 'Tag', name: 'tag', type: 'string', default: '' },
			{
				displayName: 'Type',
				name: 'type',
				type: 'options',
				options: SECRET_TYPES.map((t) => ({ name: t, value: t })),
				default: 'API_KEY',
			},
			{
				displayName: 'Environment',
				name: 'environment',
				type: 'string',
				default: '',
				description: 'Only secrets with a value there',
			},
			{ displayName: 'Include Deleted', name: 'includeDeleted', type: 'boolean', default: false },
		],
	},
];

export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject[]> {
	const returnAll = this.getNodeParameter('returnAll', i, false) as boolean;
	const limit = returnAll ? Infinity : (this.getNodeParameter('limit', i, 50) as number);
	const f = this.getNodeParameter('filters', i, {}) as IDataObject;
	const out: IDataObject[] = [];
	let cursor: string | undefined;
	do {
		const page = await s.service.listSecrets(s.caller, {
			prefix: (f.prefix as string) || undefined,
			tag: (f.tag as string) || undefined,
			type: (f.type as (typeof SECRET_TYPES)[number]) || undefined,
			environment: (f.environment as string) || undefined,
			includeDeleted: f.includeDeleted === true,
			cursor,
			limit: Math.min(500, Math.max(1, limit - out.length)),
		});
		out.push(...(page.items as unknown as IDataObject[]));
		cursor = page.nextCursor;
	} while (cursor && out.length < limit);
	return out;
}
