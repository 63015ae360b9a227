import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Session } from '../../../../../src/n8n/node-support';

export const description: INodeProperties[] = [
	{
		displayName: 'Token ID',
		name: 'jti',
		type: 'string',
		default: '',
		required: true,
		description: 'The jti shown when the token was created or listed',
	},
];

export async function execute(
	this: IExecuteFunctions,
	i: number,
	s: Session,
): Promise<IDataObject> {
	return (await s.service.revokeToken(
		s.caller,
		this.getNodeParameter('jti', i) as string,
	)) as unknown as IDataObject;
}
