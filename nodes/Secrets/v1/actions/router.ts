import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { Scrubber } from '../../../../src/core/scrub';
import { errorItem, nodeError, openSession } from '../../../../src/n8n/node-support';
import * as audit from './audit/Audit.resource';
import * as maintenance from './maintenance/Maintenance.resource';
import * as secret from './secret/Secret.resource';
import type { OperationExecute } from './shared';
import * as token from './token/Token.resource';

const resources: Record<string, Record<string, { execute: OperationExecute }>> = {
	secret: secret.operations,
	maintenance: maintenance.operations,
	audit: audit.operations,
	token: token.operations,
};

/** One operation per item; errors keep their item index, or become items with "Continue On Fail". */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const session = await openSession(this);
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		const resource = this.getNodeParameter('resource', i) as string;
		const operation = this.getNodeParameter('operation', i) as string;
		// A value typed into the node (set value) must not come back in an error about it.
		const scrubber = new Scrubber();
		if (
			resource === 'secret' &&
			(operation === 'setValue' || this.getNodeParameter('valueSource', i, '') === 'value')
		) {
			scrubber.add(String(this.getNodeParameter('value', i, '')));
		}
		try {
			const op = resources[resource]?.[operation];
			if (!op) throw new Error(`Unknown operation ${resource}/${operation}`);
			const result = await op.execute.call(this, i, session);
			for (const json of Array.isArray(result) ? result : [result]) {
				out.push({ json: json as IDataObject, pairedItem: { item: i } });
			}
		} catch (err) {
			if (this.continueOnFail()) {
				out.push({ json: errorItem(err, scrubber), pairedItem: { item: i } });
				continue;
			}
			throw nodeError(this.getNode(), err, i, scrubber);
		}
	}
	return [out];
}
