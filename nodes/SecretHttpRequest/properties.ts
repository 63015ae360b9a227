import type { INodeProperties } from 'n8n-workflow';

import { secretLocator } from '../../src/n8n/descriptions';

const nameValue = (what: string) => ({
	displayName: 'Parameter',
	name: 'parameters',
	values: [
		{ displayName: 'Name', name: 'name', type: 'string' as const, default: '' },
		{
			displayName: 'Value',
			name: 'value',
			type: 'string' as const,
			default: '',
			description: `${what} value; may contain references such as [[secret:api-key]]`,
		},
	],
});

/** The fields of the Secret HTTP Request node. */
export const properties: INodeProperties[] = [
	{
		displayName: 'Credential',
		name: 'authentication',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Secrets Store',
				value: 'secretsStore',
				description: 'References in any field; pick how the request authenticates below',
			},
			{
				name: 'Secret Reference Auth',
				value: 'secretReferenceAuth',
				description: 'The credential decides how the request authenticates',
			},
		],
		default: 'secretsStore',
	},
	{
		displayName: 'Method',
		name: 'method',
		type: 'options',
		options: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map((m) => ({
			name: m,
			value: m,
		})),
		default: 'GET',
	},
	{
		displayName: 'URL',
		name: 'url',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'https://api.example.com/v1/things',
		description: 'References may appear in the path and query, not in the host',
	},
	{
		displayName: 'Authenticate With',
		name: 'authPlacement',
		type: 'options',
		displayOptions: { show: { authentication: ['secretsStore'] } },
		options: [
			{ name: 'Bearer Token', value: 'bearer', description: 'Authorization: Bearer <secret>' },
			{ name: 'Header', value: 'header' },
			{ name: 'Query Parameter', value: 'query' },
			{ name: 'Basic Auth (Password From Secret)', value: 'basic' },
			{ name: 'None (References in Fields Only)', value: 'none' },
		],
		default: 'bearer',
	},
	{
		...secretLocator,
		displayOptions: {
			show: {
				authentication: ['secretsStore'],
				authPlacement: ['bearer', 'header', 'query', 'basic'],
			},
		},
	},
	{
		displayName: 'Header or Parameter Name',
		name: 'authName',
		type: 'string',
		default: 'X-API-Key',
		displayOptions: {
			show: { authentication: ['secretsStore'], authPlacement: ['header', 'query'] },
		},
	},
	{
		displayName: 'User',
		name: 'authUser',
		type: 'string',
		default: '',
		displayOptions: { show: { authentication: ['secretsStore'], authPlacement: ['basic'] } },
	},
	{
		displayName: 'Query Parameters',
		name: 'query',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		placeholder: 'Add Parameter',
		options: [nameValue('Query parameter')],
	},
	{
		displayName: 'Headers',
		name: 'headers',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		placeholder: 'Add Header',
		options: [nameValue('Header')],
	},
	{
		displayName: 'Body',
		name: 'bodyType',
		type: 'options',
		options: [
			{ name: 'None', value: 'none' },
			{ name: 'JSON', value: 'json' },
			{ name: 'Form (URL-Encoded)', value: 'form' },
			{ name: 'Raw', value: 'raw' },
		],
		default: 'none',
		displayOptions: { hide: { method: ['GET', 'HEAD'] } },
	},
	{
		displayName: 'JSON',
		name: 'jsonBody',
		type: 'json',
		default: '{}',
		displayOptions: { show: { bodyType: ['json'] } },
		description: 'Any string in it may contain references',
	},
	{
		displayName: 'Form Fields',
		name: 'form',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		displayOptions: { show: { bodyType: ['form'] } },
		options: [nameValue('Form field')],
	},
	{
		displayName: 'Raw Body',
		name: 'rawBody',
		type: 'string',
		typeOptions: { rows: 4 },
		default: '',
		displayOptions: { show: { bodyType: ['raw'] } },
	},
	{
		displayName: 'Content Type',
		name: 'rawContentType',
		type: 'string',
		default: 'text/plain',
		displayOptions: { show: { bodyType: ['raw'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Follow Redirects',
				name: 'followRedirects',
				type: 'boolean',
				default: true,
				description:
					'Whether to follow redirects; each hop resolves its secrets again for its own host',
			},
			{ displayName: 'Max Redirects', name: 'maxRedirects', type: 'number', default: 5 },
			{
				displayName: 'Never Error',
				name: 'neverError',
				type: 'boolean',
				default: false,
				description: 'Whether to output 4xx and 5xx responses instead of failing',
			},
			{
				displayName: 'Response Format',
				name: 'responseFormat',
				type: 'options',
				options: [
					{ name: 'Autodetect', value: 'autodetect' },
					{ name: 'JSON', value: 'json' },
					{ name: 'Text', value: 'text' },
					{ name: 'File (Binary)', value: 'binary' },
				],
				default: 'autodetect',
			},
			{
				displayName: 'Include Response Headers and Status',
				name: 'fullResponse',
				type: 'boolean',
				default: false,
				description: 'Whether to output status code and headers beside the body',
			},
			{ displayName: 'Timeout (Ms)', name: 'timeout', type: 'number', default: 30000 },
		],
	},
];
