import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	IExecuteFunctions,
	IHttpRequestMethods,
	INodeExecutionData,
} from 'n8n-workflow';

import {
	backendFor,
	callerOf,
	connectionFromCredential,
	remoteFor,
} from '../../src/n8n/connection';
import { errorItem, n8nContext, nodeError } from '../../src/n8n/node-support';
import {
	type AuthPlacement,
	type BodyType,
	type ResponseFormat,
	type SecretRequestSpec,
	performSecretRequest,
	relaySecretRequest,
} from '../../src/n8n/secret-request';
import { Scrubber } from '../../src/core/scrub';

/** A JSON parameter arrives as text when typed, as an object when set by an expression. */
function jsonText(value: unknown): string {
	return typeof value === 'string' ? value : JSON.stringify(value);
}

type Pairs = { parameters?: { name: string; value: string }[] };

function spec(
	this: IExecuteFunctions,
	i: number,
	referenceAuth: ICredentialDataDecryptedObject | undefined,
): SecretRequestSpec {
	const options = this.getNodeParameter('options', i, {}) as IDataObject;
	const method = this.getNodeParameter('method', i) as IHttpRequestMethods;
	const bodyType =
		method === 'GET' || method === 'HEAD'
			? 'none'
			: (this.getNodeParameter('bodyType', i, 'none') as BodyType);
	const placement = referenceAuth
		? 'none'
		: (this.getNodeParameter('authPlacement', i, 'none') as AuthPlacement);
	return {
		method,
		url: this.getNodeParameter('url', i) as string,
		query: (this.getNodeParameter('query', i, {}) as Pairs).parameters ?? [],
		headers: (this.getNodeParameter('headers', i, {}) as Pairs).parameters ?? [],
		bodyType,
		body:
			bodyType === 'json'
				? jsonText(this.getNodeParameter('jsonBody', i, '{}'))
				: bodyType === 'raw'
					? (this.getNodeParameter('rawBody', i, '') as string)
					: undefined,
		form:
			bodyType === 'form'
				? ((this.getNodeParameter('form', i, {}) as Pairs).parameters ?? [])
				: undefined,
		rawContentType:
			bodyType === 'raw'
				? (this.getNodeParameter('rawContentType', i, 'text/plain') as string)
				: undefined,
		auth: {
			placement,
			secret:
				placement === 'none'
					? undefined
					: (this.getNodeParameter('secret', i, '', { extractValue: true }) as string),
			name:
				placement === 'header' || placement === 'query'
					? (this.getNodeParameter('authName', i, '') as string)
					: undefined,
			user:
				placement === 'basic' ? (this.getNodeParameter('authUser', i, '') as string) : undefined,
		},
		referenceAuth,
		timeoutMs: Number(options.timeout ?? 30000),
		followRedirects: options.followRedirects !== false,
		maxRedirects: Number(options.maxRedirects ?? 5),
		responseFormat: (options.responseFormat as ResponseFormat) ?? 'autodetect',
		fullResponse: options.fullResponse === true,
		neverError: options.neverError === true,
	};
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const out: INodeExecutionData[] = [];
	const useReferenceAuth = this.getNodeParameter('authentication', 0) === 'secretReferenceAuth';
	const credentials = await this.getCredentials(
		useReferenceAuth ? 'secretReferenceAuth' : 'secretsStoreApi',
	);
	const conn = connectionFromCredential(credentials);
	const service = await backendFor(conn);
	const caller = callerOf(conn, n8nContext(this));
	for (let i = 0; i < items.length; i++) {
		const scrubber = new Scrubber();
		try {
			const s = spec.call(this, i, useReferenceAuth ? credentials : undefined);
			// Remote: the server sends the request, so no value ever enters this n8n process.
			const result =
				conn.connection === 'remote'
					? await relaySecretRequest(s, remoteFor(conn.url!), caller, conn.environment)
					: await performSecretRequest(
							s,
							service,
							caller,
							conn.environment,
							(options) => this.helpers.httpRequest(options),
							scrubber,
						);
			const { response } = result;
			const json: IDataObject = s.fullResponse
				? {
						statusCode: response.statusCode,
						headers: response.headers,
						body: response.body as IDataObject,
					}
				: response.body !== undefined && typeof response.body === 'object' && response.body !== null
					? (response.body as IDataObject)
					: { data: response.body as string };
			const item: INodeExecutionData = { json, pairedItem: { item: i } };
			if (response.binary) {
				item.binary = {
					data: await this.helpers.prepareBinaryData(
						response.binary.data,
						undefined,
						response.binary.mimeType,
					),
				};
			}
			out.push(item);
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
