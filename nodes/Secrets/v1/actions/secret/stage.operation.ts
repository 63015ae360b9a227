import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Session } from '../../../../../src/n8n/node-support';
import {
	environmentOverride,
	secretLocator,
	valueFields,
	writeOptions as writeOptionsField,
} from '../common.descriptions';
import { environment, secretName, valueSource, writeOptions } from '../shared';

export const description: INodeProperties[] = [
	secretLocator,
	environmentOverride,
	...valueFields,
	writeOptionsField,
];

/** A pending version: used only when pinned ([[secret:name@pending]]) until it is promoted. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject> {
	const v = await s.service.stage(s.caller, {
		name: secretName.call(this, i),
		environment: environment.call(this, i, s),
		...valueSource.call(this, i),
		...writeOptions.call(this, i),
	});
	return { name: secretName.call(this, i), ...v };
}
