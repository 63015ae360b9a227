import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { ROLES } from '../../../../../src/core/model';
import type { Session } from '../../../../../src/n8n/node-support';

export const description: INodeProperties[] = [
	{
		displayName: 'Subject',
		name: 'subject',
		type: 'string',
		default: 'n8n',
		required: true,
		description: 'Who uses the token; shown in the audit trail',
	},
	{
		displayName: 'Role',
		name: 'role',
		type: 'options',
		options: Object.keys(ROLES).map((r) => ({ name: r, value: r })),
		default: 'user',
	},
	{
		displayName: 'Environments',
		name: 'environments',
		type: 'string',
		default: '',
		description: 'Comma-separated; empty for all',
	},
	{
		displayName: 'Secret Name Patterns',
		name: 'secrets',
		type: 'string',
		default: '',
		placeholder: 'stripe-*, payroll-*',
		description: 'Comma-separated globs; empty for all',
	},
	{
		displayName: 'Lifetime',
		name: 'ttl',
		type: 'string',
		default: '90d',
		description: 'Like 90d, 12h or never',
	},
];

const list = (v: string) =>
	v
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);

/** Outputs the token once: store it in a credential; it cannot be shown again. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject> {
	const { token, info } = await s.service.createToken(s.caller, {
		subject: this.getNodeParameter('subject', i) as string,
		role: this.getNodeParameter('role', i) as keyof typeof ROLES,
		environments: list(this.getNodeParameter('environments', i, '') as string),
		secrets: list(this.getNodeParameter('secrets', i, '') as string),
		ttl: this.getNodeParameter('ttl', i, '90d') as string,
	});
	return { token, ...info };
}
