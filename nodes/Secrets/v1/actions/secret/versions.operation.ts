import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Session } from '../../../../../src/n8n/node-support';
import { environmentOverride, secretLocator } from '../common.descriptions';
import { environment, secretName } from '../shared';

export const description: INodeProperties[] = [secretLocator, environmentOverride];

export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject[]> {
	const name = secretName.call(this, i);
	const versions = await s.service.listVersions(s.caller, {
		name,
		environment: environment.call(this, i, s),
	});
	return versions.map((v) => ({ name, ...v }));
}
