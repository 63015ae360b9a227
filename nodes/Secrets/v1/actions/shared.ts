import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { Alphabet } from '../../../../src/crypto/generate';
import type { Session } from '../../../../src/n8n/node-support';

export type OperationExecute = (
	this: IExecuteFunctions,
	i: number,
	s: Session,
) => Promise<IDataObject | IDataObject[]>;

export function secretName(this: IExecuteFunctions, i: number): string {
	return this.getNodeParameter('secret', i, '', { extractValue: true }) as string;
}

export function environment(this: IExecuteFunctions, i: number, s: Session): string {
	const given = (this.getNodeParameter('environment', i, '') as string).trim();
	return given || s.conn.environment;
}

/** Either `{ value }` or `{ generate }` for the store to make the value itself. */
export function valueSource(
	this: IExecuteFunctions,
	i: number,
): { value?: string; generate?: { length: number; alphabet: Alphabet } } {
	if (this.getNodeParameter('valueSource', i, 'generate') === 'value') {
		return { value: this.getNodeParameter('value', i) as string };
	}
	return {
		generate: {
			length: this.getNodeParameter('length', i, 32) as number,
			alphabet: this.getNodeParameter('alphabet', i, 'alphanumeric') as Alphabet,
		},
	};
}

export function writeOptions(this: IExecuteFunctions, i: number) {
	const o = this.getNodeParameter('writeOptions', i, {}) as IDataObject;
	const date = (v: unknown) => (typeof v === 'string' && v ? new Date(v).toISOString() : undefined);
	return {
		expectedVersion:
			typeof o.expectedVersion === 'number' && o.expectedVersion > 0
				? o.expectedVersion
				: undefined,
		expiresAt: date(o.expiresAt),
		notBefore: date(o.notBefore),
		reason: typeof o.reason === 'string' && o.reason ? o.reason : undefined,
	};
}
