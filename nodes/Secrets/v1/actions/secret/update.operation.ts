import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { RotationPolicy } from '../../../../../src/core/model';
import type { Session } from '../../../../../src/n8n/node-support';
import { rotationPolicyOptions, secretLocator } from '../common.descriptions';
import { secretName } from '../shared';
import { list } from './create.operation';

export const description: INodeProperties[] = [
	secretLocator,
	{
		displayName: 'Update Fields',
		name: 'updateFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		description: 'Only the fields added here change; the rest stay as they are',
		options: [
			{ displayName: 'Description', name: 'description', type: 'string', default: '' },
			{
				displayName: 'Tags',
				name: 'tags',
				type: 'string',
				default: '',
				description: 'Comma-separated; replaces every tag (empty removes them all)',
			},
			{
				displayName: 'Rotation Policy',
				name: 'rotationPolicy',
				type: 'options',
				options: rotationPolicyOptions,
				default: 'MANUAL',
				description:
					'Who rotates the value. Automatic needs an interval (here or already set); On Demand drops the interval.',
			},
			{
				displayName: 'Rotation Interval (Days)',
				name: 'rotationIntervalDays',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 3650 },
				default: 90,
				description:
					'Days a value may be used before it is due (Automatic: rotated; Manual: a reminder). 0 removes the interval.',
			},
			{
				displayName: 'Allowed Hosts',
				name: 'allowedHosts',
				type: 'string',
				default: '',
				placeholder: 'https://api.stripe.com, *.stripe.com',
				description:
					'Comma-separated; replaces the binding (empty unbinds). Needs the reveal permission too.',
			},
			{
				displayName: 'Allowed Consumers',
				name: 'allowedConsumers',
				type: 'string',
				default: '',
				description:
					'Comma-separated token subjects (globs); replaces the list. Needs the reveal permission too.',
			},
			{
				displayName: 'Max Versions',
				name: 'maxVersions',
				type: 'number',
				typeOptions: { minValue: 2, maxValue: 1000 },
				default: 10,
				description: 'Versions per environment that keep their value',
			},
		],
	},
];

/** Changes a secret's metadata; the output is the metadata afterwards (never a value). */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject> {
	const f = this.getNodeParameter('updateFields', i, {}) as IDataObject;
	const given = (k: string) => f[k] !== undefined;
	const updated = await s.service.updateSecret(s.caller, {
		name: secretName.call(this, i),
		description: given('description') ? String(f.description) : undefined,
		tags: given('tags') ? (list(f.tags) ?? []) : undefined,
		rotationPolicy: given('rotationPolicy') ? (f.rotationPolicy as RotationPolicy) : undefined,
		rotationIntervalDays: given('rotationIntervalDays')
			? Number(f.rotationIntervalDays) > 0
				? Number(f.rotationIntervalDays)
				: null
			: undefined,
		allowedHosts: given('allowedHosts') ? (list(f.allowedHosts) ?? []) : undefined,
		allowedConsumers: given('allowedConsumers') ? (list(f.allowedConsumers) ?? []) : undefined,
		maxVersions: given('maxVersions') ? Number(f.maxVersions) : undefined,
	});
	return updated as unknown as IDataObject;
}
