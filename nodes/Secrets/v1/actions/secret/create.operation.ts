import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { type RotationPolicy, SECRET_TYPES } from '../../../../../src/core/model';
import type { Session } from '../../../../../src/n8n/node-support';
import {
	environmentOverride,
	rotationFields,
	valueFields,
	writeOptions as writeOptionsField,
} from '../common.descriptions';
import { environment, valueSource, writeOptions } from '../shared';

export const description: INodeProperties[] = [
	{
		displayName: 'Name',
		name: 'name',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'stripe-key',
	},
	{
		displayName: 'Type',
		name: 'type',
		type: 'options',
		options: SECRET_TYPES.map((t) => ({
			name: t
				.replace(/_/g, ' ')
				.toLowerCase()
				.replace(/^./, (c) => c.toUpperCase()),
			value: t,
		})),
		default: 'API_KEY',
	},
	environmentOverride,
	...valueFields,
	...rotationFields,
	{
		displayName: 'Metadata',
		name: 'metadata',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		options: [
			{ displayName: 'Description', name: 'description', type: 'string', default: '' },
			{
				displayName: 'Tags',
				name: 'tags',
				type: 'string',
				default: '',
				description: 'Comma-separated',
			},
			{
				displayName: 'Allowed Hosts',
				name: 'allowedHosts',
				type: 'string',
				default: '',
				placeholder: 'https://api.stripe.com, *.stripe.com',
				description:
					'Comma-separated: the value is only ever sent to these destinations (a host, *.domain, https://host for HTTPS on 443 only, host:port, or * for anywhere). The relay of remote mode only sends bound secrets.',
			},
			{
				displayName: 'Allowed Consumers',
				name: 'allowedConsumers',
				type: 'string',
				default: '',
				description: 'Comma-separated token subjects (globs)',
			},
		],
	},
	writeOptionsField,
];

export const list = (v: unknown) =>
	typeof v === 'string' && v.trim()
		? v
				.split(',')
				.map((s) => s.trim())
				.filter(Boolean)
		: undefined;

export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject> {
	const meta = this.getNodeParameter('metadata', i, {}) as IDataObject;
	const rotationPolicy = this.getNodeParameter('rotationPolicy', i, 'MANUAL') as RotationPolicy;
	// ON_DEMAND has no interval; for MANUAL, 0 means no reminder.
	const interval =
		rotationPolicy === 'ON_DEMAND'
			? 0
			: (this.getNodeParameter('rotationIntervalDays', i, 0) as number);
	const { expiresAt, notBefore, reason } = writeOptions.call(this, i);
	const created = await s.service.createSecret(s.caller, {
		name: this.getNodeParameter('name', i) as string,
		type: this.getNodeParameter('type', i) as (typeof SECRET_TYPES)[number],
		environment: environment.call(this, i, s),
		...valueSource.call(this, i),
		description: typeof meta.description === 'string' ? meta.description : undefined,
		tags: list(meta.tags),
		rotationPolicy,
		rotationIntervalDays: interval > 0 ? interval : undefined,
		allowedHosts: list(meta.allowedHosts),
		allowedConsumers: list(meta.allowedConsumers),
		expiresAt,
		notBefore,
		reason,
	});
	return created as unknown as IDataObject;
}
