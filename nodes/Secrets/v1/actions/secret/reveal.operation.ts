import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { VersionSelector } from '../../../../../src/core/model';
import type { Session } from '../../../../../src/n8n/node-support';
import { environmentOverride, secretLocator } from '../common.descriptions';
import { environment, secretName } from '../shared';

export const description: INodeProperties[] = [
	{
		displayName:
			"Reveal puts the value into the workflow's data, where everyone who can see executions can read it. It needs a token with the reveal permission and is audited as a reveal.",
		name: 'revealNotice',
		type: 'notice',
		default: '',
	},
	secretLocator,
	environmentOverride,
	{
		displayName: 'Version',
		name: 'version',
		type: 'options',
		options: [
			{ name: 'Current', value: 'current' },
			{ name: 'Previous', value: 'previous' },
			{ name: 'Pending', value: 'pending' },
		],
		default: 'current',
	},
];

/** The only operation that outputs a value. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject> {
	const label = this.getNodeParameter('version', i, 'current') as
		| 'current'
		| 'previous'
		| 'pending';
	const selector: VersionSelector = { label };
	const r = await s.service.reveal(s.caller, {
		name: secretName.call(this, i),
		environment: environment.call(this, i, s),
		selector,
	});
	return {
		name: r.name,
		environment: r.environment,
		version: r.version,
		value: r.value,
		expiresAt: r.expiresAt,
	};
}
