import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Session } from '../../../../../src/n8n/node-support';

export const description: INodeProperties[] = [];

export async function execute(
	this: IExecuteFunctions,
	_i: number,
	s: Session,
): Promise<IDataObject> {
	return (await s.service.stats(s.caller)) as unknown as IDataObject;
}
