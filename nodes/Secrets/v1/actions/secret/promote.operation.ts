import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Session } from '../../../../../src/n8n/node-support';
import {
	environmentOverride,
	secretLocator,
	writeOptions as writeOptionsField,
} from '../common.descriptions';
import { environment, secretName, writeOptions } from '../shared';

export const description: INodeProperties[] = [
	secretLocator,
	environmentOverride,
	writeOptionsField,
];

export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject> {
	const { expectedVersion, reason } = writeOptions.call(this, i);
	const v = await s.service.promote(s.caller, {
		name: secretName.call(this, i),
		environment: environment.call(this, i, s),
		expectedVersion,
		reason,
	});
	return { name: secretName.call(this, i), ...v };
}
