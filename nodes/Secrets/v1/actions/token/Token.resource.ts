import { type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import * as create from './create.operation';
import * as revoke from './revoke.operation';

export const operations = { create, revoke };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['token'] } },
		options: [
			{
				name: 'Create',
				value: 'create',
				action: 'Create an access token',
				description: 'Output a new token once (needs an admin token; audited)',
			},
			{ name: 'Revoke', value: 'revoke', action: 'Revoke an access token' },
		],
		default: 'create',
	},
	...Object.entries(operations).flatMap(([operation, op]) =>
		updateDisplayOptions({ show: { resource: ['token'], operation: [operation] } }, op.description),
	),
];
