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
	{
		displayName: 'Rotation Policy',
		name: 'rotationPolicy',
		type: 'options',
		options: [
			{ name: 'All', value: '', description: 'Both kinds; each item says which in "action"' },
			{
				name: 'Automatic (to Rotate)',
				value: 'AUTOMATIC',
				description: 'Secrets this workflow should rotate',
			},
			{
				name: 'Manual (Reminders)',
				value: 'MANUAL',
				description: 'Secrets a person should rotate: notify, never rotate them here',
			},
		],
		default: '',
	},
];

/**
 * Secrets whose current value is older than their rotation interval: one item each, with `action`
 * `rotate` (AUTOMATIC) or `remind` (MANUAL).
 */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject[]> {
	const env = (this.getNodeParameter('environment', i, '') as string).trim();
	return (await s.service.dueForRotation(s.caller, {
		environment: env || undefined,
		rotationPolicy:
			(this.getNodeParameter('rotationPolicy', i, '') as 'AUTOMATIC' | 'MANUAL' | '') || undefined,
	})) as unknown as IDataObject[];
}
