import { type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import * as create from './create.operation';
import * as deleteSecret from './delete.operation';
import * as get from './get.operation';
import * as list from './list.operation';
import * as promote from './promote.operation';
import * as restore from './restore.operation';
import * as reveal from './reveal.operation';
import * as rollback from './rollback.operation';
import * as rotate from './rotate.operation';
import * as setValue from './setValue.operation';
import * as stage from './stage.operation';
import * as update from './update.operation';
import * as versions from './versions.operation';

export const operations = {
	create,
	update,
	setValue,
	rotate,
	stage,
	promote,
	rollback,
	get,
	list,
	versions,
	delete: deleteSecret,
	restore,
	reveal,
};

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['secret'] } },
		options: [
			{
				name: 'Create',
				value: 'create',
				action: 'Create a secret',
				description: 'Create a secret, with a first value if given',
			},
			{
				name: 'Delete',
				value: 'delete',
				action: 'Delete a secret',
				description: 'Soft-delete; restorable during the recovery window',
			},
			{
				name: 'Get',
				value: 'get',
				action: 'Get a secret',
				description: 'Metadata, versions and labels; never a value',
			},
			{
				name: 'Get Many',
				value: 'list',
				action: 'Get many secrets',
				description: 'List and search by name prefix, tag, type, environment',
			},
			{ name: 'Get Versions', value: 'versions', action: 'Get versions of a secret' },
			{
				name: 'Promote',
				value: 'promote',
				action: 'Promote the pending version',
				description: 'Pending becomes current; current becomes previous',
			},
			{ name: 'Restore', value: 'restore', action: 'Restore a deleted secret' },
			{
				name: 'Reveal',
				value: 'reveal',
				action: 'Reveal a secret value',
				description: 'Output the value (needs the reveal permission; audited)',
			},
			{ name: 'Rollback', value: 'rollback', action: 'Roll back to the previous version' },
			{
				name: 'Rotate',
				value: 'rotate',
				action: 'Rotate a secret',
				description: 'New value (given or generated) becomes current at once',
			},
			{ name: 'Set Value', value: 'setValue', action: 'Set a secret value' },
			{
				name: 'Stage',
				value: 'stage',
				action: 'Stage a pending version',
				description: 'New value, used only when pinned @pending until promoted',
			},
			{
				name: 'Update',
				value: 'update',
				action: 'Update a secret',
				description: 'Change metadata: rotation policy and interval, tags, bindings; never a value',
			},
		],
		default: 'get',
	},
	...Object.entries(operations).flatMap(([operation, op]) =>
		updateDisplayOptions(
			{ show: { resource: ['secret'], operation: [operation] } },
			op.description,
		),
	),
];
