import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Session } from '../../../../../src/n8n/node-support';
import { secretLocator } from '../common.descriptions';
import { secretName } from '../shared';

export const description: INodeProperties[] = [secretLocator];

export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject> {
	return (await s.service.deleteSecret(
		s.caller,
		secretName.call(this, i),
	)) as unknown as IDataObject;
}
