import { type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import * as due from './due.operation';
import * as expiring from './expiring.operation';
import * as stats from './stats.operation';

export const operations = { expiring, due, stats };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['maintenance'] } },
		options: [
			{ name: 'Get Due for Rotation', value: 'due', action: 'Get secrets due for rotation' },
			{ name: 'Get Expiring', value: 'expiring', action: 'Get secrets expiring soon' },
			{ name: 'Get Statistics', value: 'stats', action: 'Get statistics' },
		],
		default: 'due',
	},
	...Object.entries(operations).flatMap(([operation, op]) =>
		updateDisplayOptions(
			{ show: { resource: ['maintenance'], operation: [operation] } },
			op.description,
		),
	),
];
