import { type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import * as list from './list.operation';
import * as verify from './verify.operation';

export const operations = { list, verify };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['audit'] } },
		options: [
			{ name: 'Get Many', value: 'list', action: 'Get audit events' },
			{ name: 'Verify', value: 'verify', action: 'Verify the audit chain' },
		],
		default: 'list',
	},
	...Object.entries(operations).flatMap(([operation, op]) =>
		updateDisplayOptions({ show: { resource: ['audit'], operation: [operation] } }, op.description),
	),
];
