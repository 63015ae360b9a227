import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { ROLES } from '../../../../../src/core/model';
import type { Session } from '../../../../../src/n8n/node-support';

export const description: INodeProperties[] = [
	{
		displayName:
			"Create puts the new token into the workflow's data, where everyone who can see executions can read it, as Reveal does with a value. Store it in a credential, then delete the execution, or create tokens with the n8n-secrets CLI instead. It needs an admin token and is audited.",
		name: 'tokenCreateNotice',
		type: 'notice',
		default: '',
	},
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

/**
 * Outputs the token once: store it in a credential; it cannot be shown again. Like a revealed value
 * it is the output by design, so it is not scrubbed; the notice above says where it ends up.
 */
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
