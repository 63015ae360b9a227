import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
} from 'n8n-workflow';

import {
	backendFor,
	callerOf,
	connectionFromCredential,
	remoteFor,
} from '../../src/n8n/connection';
import { errorItem, n8nContext, nodeError } from '../../src/n8n/node-support';
import { referenceAuthOf } from '../../src/n8n/reference-auth';
import { performSecretRequest, relaySecretRequest } from '../../src/n8n/secret-request';
import type {
	AuthPlacement,
	BodyType,
	Method,
	OutboundRequest,
	ResponseFormat,
} from '../../src/outbound/spec';
import { Scrubber } from '../../src/core/scrub';

/** A JSON parameter arrives as text when typed, as an object when set by an expression. */
function jsonText(value: unknown): string {
	return typeof value === 'string' ? value : JSON.stringify(value);
}

type Pairs = { parameters?: { name: string; value: string }[] };

/**
 * The item's request (references, never values), as the outbound engine and the relay take it, and
 * whether the item shows the whole response or its body.
 */
function itemRequest(
	this: IExecuteFunctions,
	i: number,
	referenceAuth: ICredentialDataDecryptedObject | undefined,
): { request: OutboundRequest; fullResponse: boolean } {
	const options = this.getNodeParameter('options', i, {}) as IDataObject;
	const method = this.getNodeParameter('method', i) as Method;
	const bodyType =
		method === 'GET' || method === 'HEAD'
			? 'none'
			: (this.getNodeParameter('bodyType', i, 'none') as BodyType);
	const placement = referenceAuth
		? 'none'
		: (this.getNodeParameter('authPlacement', i, 'none') as AuthPlacement);
	const request: OutboundRequest = {
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
			// An empty pick is no pick: "Pick the secret to authenticate with." in both modes.
			secret:
				placement === 'none'
					? undefined
					: (this.getNodeParameter('secret', i, '', { extractValue: true }) as string) || undefined,
			name:
				placement === 'header' || placement === 'query'
					? (this.getNodeParameter('authName', i, '') as string)
					: undefined,
			user:
				placement === 'basic' ? (this.getNodeParameter('authUser', i, '') as string) : undefined,
		},
		referenceAuth: referenceAuth && referenceAuthOf(referenceAuth),
		timeoutMs: Number(options.timeout ?? 30000),
		followRedirects: options.followRedirects !== false,
		maxRedirects: Number(options.maxRedirects ?? 5),
		responseFormat: (options.responseFormat as ResponseFormat) ?? 'autodetect',
		neverError: options.neverError === true,
	};
	return { request, fullResponse: options.fullResponse === true };
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
			const { request, fullResponse } = itemRequest.call(
				this,
				i,
				useReferenceAuth ? credentials : undefined,
			);
			// Remote: the server sends the request, so no value ever enters this n8n process.
			const response =
				conn.connection === 'remote'
					? await relaySecretRequest(request, remoteFor(conn.url!), caller, conn.environment)
					: await performSecretRequest(
							request,
							service,
							caller,
							conn.environment,
							(options) => this.helpers.httpRequest(options),
							scrubber,
						);
			const json: IDataObject = fullResponse
				? {
						statusCode: response.statusCode,
						headers: response.headers as IDataObject,
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
