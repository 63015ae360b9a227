import type { INodeProperties } from 'n8n-workflow';

export { secretLocator } from '../../../../src/n8n/descriptions';

export const environmentOverride: INodeProperties = {
	displayName: 'Environment',
	name: 'environment',
	type: 'string',
	default: '',
	placeholder: "The credential's environment",
	description:
		"Leave empty for the credential's environment; * is the value shared by all environments",
};

export const valueFields: INodeProperties[] = [
	{
		displayName: 'Value Source',
		name: 'valueSource',
		type: 'options',
		options: [
			{
				name: 'Generate a Random Value',
				value: 'generate',
				description: 'The value never leaves the store',
			},
			{ name: 'Use a Given Value', value: 'value' },
		],
		default: 'generate',
	},
	{
		displayName: 'Value',
		name: 'value',
		type: 'string',
		typeOptions: { password: true },
		default: '',
		displayOptions: { show: { valueSource: ['value'] } },
	},
	{
		displayName: 'Length',
		name: 'length',
		type: 'number',
		typeOptions: { minValue: 8, maxValue: 4096 },
		default: 32,
		displayOptions: { show: { valueSource: ['generate'] } },
	},
	{
		displayName: 'Alphabet',
		name: 'alphabet',
		type: 'options',
		options: [
			{ name: 'Letters and Digits', value: 'alphanumeric' },
			{ name: 'Hex', value: 'hex' },
			{ name: 'Base64url', value: 'base64url' },
			{ name: 'Printable ASCII', value: 'ascii-printable' },
		],
		default: 'alphanumeric',
		displayOptions: { show: { valueSource: ['generate'] } },
	},
];

export const writeOptions: INodeProperties = {
	displayName: 'Options',
	name: 'writeOptions',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Expected Version',
			name: 'expectedVersion',
			type: 'number',
			default: 0,
			description: 'Write only if the latest version is still this one (check-and-set)',
		},
		{ displayName: 'Expires At', name: 'expiresAt', type: 'dateTime', default: '' },
		{ displayName: 'Not Before', name: 'notBefore', type: 'dateTime', default: '' },
		{
			displayName: 'Reason',
			name: 'reason',
			type: 'string',
			default: '',
			description: 'Recorded in the audit trail',
		},
	],
};

/** The policies as the nodes offer them; what each means is in src/core/rotation.ts. */
export const rotationPolicyOptions = [
	{
		name: 'Automatic',
		value: 'AUTOMATIC',
		description:
			'A rotation workflow (Secrets Trigger "Due for Rotation", or the nightly example) replaces the value every N days',
	},
	{
		name: 'Manual',
		value: 'MANUAL',
		description:
			'A person rotates it; with an interval, the Secrets Trigger "Rotation Reminder" fires when it is reached',
	},
	{
		name: 'On Demand',
		value: 'ON_DEMAND',
		description: 'Rotated only when someone asks; never due, no interval',
	},
];

/** Who rotates a new secret, and how often: the interval is asked for only where the policy has one. */
export const rotationFields: INodeProperties[] = [
	{
		displayName: 'Rotation Policy',
		name: 'rotationPolicy',
		type: 'options',
		options: rotationPolicyOptions,
		default: 'MANUAL',
		description: 'Who rotates the value, and whether it falls due by time',
	},
	{
		displayName: 'Rotate Every (Days)',
		name: 'rotationIntervalDays',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 3650 },
		default: 90,
		required: true,
		description: 'Days a value may be used before the rotation workflow replaces it',
		displayOptions: { show: { rotationPolicy: ['AUTOMATIC'] } },
	},
	{
		displayName: 'Remind Every (Days)',
		name: 'rotationIntervalDays',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 3650 },
		default: 0,
		description:
			'Days a value may be used before a person is reminded to rotate it; 0 for no reminder',
		displayOptions: { show: { rotationPolicy: ['MANUAL'] } },
	},
];
