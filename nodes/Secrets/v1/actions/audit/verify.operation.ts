import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Session } from '../../../../../src/n8n/node-support';

export const description: INodeProperties[] = [];

/** `{ ok, events, brokenAt? }`: an IF node after it can alert when the chain is broken. */
export async function execute(
	this: IExecuteFunctions,
	_i: number,
	s: Session,
): Promise<IDataObject> {
	return (await s.service.verifyAudit(s.caller)) as unknown as IDataObject;
}
