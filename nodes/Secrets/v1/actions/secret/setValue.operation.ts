import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Session } from '../../../../../src/n8n/node-support';
import {
	environmentOverride,
	secretLocator,
	writeOptions as writeOptionsField,
} from '../common.descriptions';
import { environment, secretName, writeOptions } from '../shared';

export const description: INodeProperties[] = [
	{
		displayName:
			'A value typed here is saved in the workflow. To keep it out, use Rotate with a generated value, an expression from a previous step, or the n8n-secrets CLI.',
		name: 'setValueNotice',
		type: 'notice',
		default: '',
	},
	secretLocator,
	environmentOverride,
	{
		displayName: 'Value',
		name: 'value',
		type: 'string',
		typeOptions: { password: true },
		default: '',
		required: true,
	},
	writeOptionsField,
];

/** A new version that becomes current at once; the old one becomes `previous`. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject> {
	const v = await s.service.setValue(s.caller, {
		name: secretName.call(this, i),
		environment: environment.call(this, i, s),
		value: this.getNodeParameter('value', i) as string,
		...writeOptions.call(this, i),
	});
	return { name: secretName.call(this, i), ...v };
}
