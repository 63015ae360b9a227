/** Node parameters more than one node of the package shows. */
import type { INodeProperties } from 'n8n-workflow';

/** A secret picked from a searchable list of the names the credential's token may see, or typed. */
export const secretLocator: INodeProperties = {
	displayName: 'Secret',
	name: 'secret',
	type: 'resourceLocator',
	default: { mode: 'list', value: '' },
	required: true,
	modes: [
		{
			displayName: 'From List',
			name: 'list',
			type: 'list',
			typeOptions: { searchListMethod: 'searchSecretNames', searchable: true },
		},
		{
			displayName: 'By Name',
			name: 'name',
			type: 'string',
			placeholder: 'stripe-key',
			validation: [
				{
					type: 'regex',
					properties: {
						regex: '^[A-Za-z0-9_-]{1,128}$',
						errorMessage: 'Letters, digits, - and _ only',
					},
				},
			],
		},
	],
};
