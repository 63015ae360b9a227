/**
 * Runs workflows through n8n's real execution engine (n8n-core's WorkflowExecute, n8n-workflow's
 * Workflow), with the package's real node and credential classes. Only what n8n's server would
 * provide around the engine is ours: the node and credential type registries and a credentials store
 * that hands out plain credential data (n8n would decrypt it from its database).
 */
import { randomUUID } from 'node:crypto';

import {
	ExecutionLifecycleHooks,
	LoadOptionsContext,
	PollContext,
	WorkflowExecute,
} from 'n8n-core';
import {
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type IExecuteFunctions,
	type ICredentialType,
	type ICredentials,
	ICredentialsHelper,
	type IHttpRequestOptions,
	type INode,
	type INodeCredentialsDetails,
	type INodeExecutionData,
	type INodeListSearchResult,
	type INodeProperties,
	type INodeType,
	type INodeTypes,
	type IRun,
	type IVersionedNodeType,
	type IWorkflowExecuteAdditionalData,
	type IConnections,
	NodeHelpers,
	Workflow,
} from 'n8n-workflow';

import { SecretReferenceAuth } from '../../credentials/SecretReferenceAuth.credentials';
import { SecretsStoreApi } from '../../credentials/SecretsStoreApi.credentials';
import { SecretHttpRequest } from '../../nodes/SecretHttpRequest/SecretHttpRequest.node';
import { Secrets } from '../../nodes/Secrets/Secrets.node';
import { SecretsTrigger } from '../../nodes/SecretsTrigger/SecretsTrigger.node';

// n8n's logger reports every node error it sees on the console; the tests assert on those errors.
process.env.N8N_LOG_LEVEL ??= 'silent';

/** n8n's Manual Trigger, as far as the engine is concerned: a start node that emits one empty item. */
class ManualTrigger implements INodeType {
	description = {
		displayName: 'Manual Trigger',
		name: 'manualTrigger',
		group: ['trigger'],
		version: 1,
		description: 'Starts the workflow',
		defaults: { name: 'When clicking Execute' },
		inputs: [],
		outputs: ['main'],
		properties: [],
	} as unknown as INodeType['description'];

	async execute(): Promise<INodeExecutionData[][]> {
		return [[{ json: {} }]];
	}
}

/**
 * What n8n's own HTTP Request node does with a "Predefined Credential Type": it hands the request to
 * `httpRequestWithAuthentication`, which applies the credential type's `authenticate`.
 */
class PredefinedCredentialRequest implements INodeType {
	description = {
		displayName: 'Predefined Credential Request',
		name: 'predefinedCredentialRequest',
		group: ['output'],
		version: 1,
		description: 'Sends a GET with a predefined credential type',
		defaults: { name: 'HTTP Request' },
		inputs: ['main'],
		outputs: ['main'],
		credentials: [{ name: 'secretReferenceAuth', required: true }],
		properties: [{ displayName: 'URL', name: 'url', type: 'string', default: '' }],
	} as unknown as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const url = this.getNodeParameter('url', 0) as string;
		const body = (await this.helpers.httpRequestWithAuthentication.call(
			this,
			'secretReferenceAuth',
			{
				url,
				json: true,
			},
		)) as IDataObject;
		return [[{ json: body, pairedItem: { item: 0 } }]];
	}
}

const NODE_TYPES: Record<string, INodeType | IVersionedNodeType> = {
	'test.predefinedCredentialRequest': new PredefinedCredentialRequest(),
	'n8n-nodes-base.manualTrigger': new ManualTrigger(),
	'n8n-nodes-secrets.secretHttpRequest': new SecretHttpRequest(),
	'n8n-nodes-secrets.secrets': new Secrets(),
	'n8n-nodes-secrets.secretsTrigger': new SecretsTrigger(),
};

const CREDENTIAL_TYPES: Record<string, ICredentialType> = {
	secretsStoreApi: new SecretsStoreApi(),
	secretReferenceAuth: new SecretReferenceAuth(),
};

const nodeTypes: INodeTypes = {
	getByName: (type) => NODE_TYPES[type],
	getByNameAndVersion: (type, version) =>
		NodeHelpers.getVersionedNodeType(NODE_TYPES[type], version),
	getKnownTypes: () => ({}),
};

/** Credentials by id, in plain form: what n8n's CredentialsHelper returns after decrypting. */
class TestCredentialsHelper extends ICredentialsHelper {
	constructor(
		private readonly store: Map<string, { type: string; data: ICredentialDataDecryptedObject }>,
	) {
		super();
	}

	getParentTypes(): string[] {
		return [];
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		const type = CREDENTIAL_TYPES[typeName];
		if (typeof type?.authenticate === 'function')
			return type.authenticate(credentials, requestOptions);
		return requestOptions;
	}

	async preAuthentication(): Promise<undefined> {
		return undefined;
	}

	async runPreAuthentication(): Promise<undefined> {
		return undefined;
	}

	async getCredentials(): Promise<ICredentials> {
		throw new Error('not used by the engine in these tests');
	}

	async getDecrypted(
		_additionalData: IWorkflowExecuteAdditionalData,
		nodeCredentials: INodeCredentialsDetails,
		type: string,
	): Promise<ICredentialDataDecryptedObject> {
		const found = nodeCredentials.id ? this.store.get(nodeCredentials.id) : undefined;
		if (!found || found.type !== type)
			throw new Error(`No credential ${nodeCredentials.id} of type ${type}`);
		return { ...found.data };
	}

	async updateCredentials(): Promise<void> {}

	async updateCredentialsOauthTokenData(): Promise<void> {}

	getCredentialsProperties(type: string): INodeProperties[] {
		return CREDENTIAL_TYPES[type]?.properties ?? [];
	}
}

export interface WorkflowJson {
	id?: string;
	name: string;
	nodes: INode[];
	connections: IConnections;
}

export class N8nHarness {
	readonly credentials = new Map<string, { type: string; data: ICredentialDataDecryptedObject }>();

	/** Adds a credential and returns the reference a workflow node uses for it. */
	addCredential(
		type: string,
		name: string,
		data: ICredentialDataDecryptedObject,
	): { id: string; name: string } {
		const id = randomUUID();
		this.credentials.set(id, { type, data });
		return { id, name };
	}

	/** Static data per workflow id, kept between polls as n8n keeps it for an active workflow. */
	private readonly staticData = new Map<string, IDataObject>();

	private workflow(json: WorkflowJson): Workflow {
		const id = json.id ?? randomUUID();
		if (!this.staticData.has(id)) this.staticData.set(id, {});
		return new Workflow({
			id,
			name: json.name,
			nodes: json.nodes,
			connections: json.connections,
			active: false,
			nodeTypes,
			staticData: this.staticData.get(id),
			settings: {},
		});
	}

	/** Runs the workflow from its Manual Trigger, as "Execute workflow" in the editor does. */
	async run(json: WorkflowJson, mode: 'manual' | 'trigger' = 'manual'): Promise<IRun> {
		const workflow = this.workflow(json);
		const start = json.nodes.find((n) => n.type === 'n8n-nodes-base.manualTrigger');
		return new WorkflowExecute(this.additionalData(json, mode), mode).run({
			workflow,
			startNode: start,
		});
	}

	/**
	 * One poll of a polling trigger, as n8n's poller runs it for an active workflow ('trigger') or for
	 * "Fetch test event" ('manual'): the node's own poll() in n8n-core's PollContext.
	 */
	async poll(
		json: WorkflowJson,
		nodeName: string,
		mode: 'manual' | 'trigger' = 'trigger',
	): Promise<INodeExecutionData[][] | null> {
		const workflow = this.workflow(json);
		const node = workflow.getNode(nodeName)!;
		const type = nodeTypes.getByNameAndVersion(node.type, node.typeVersion);
		const context = new PollContext(workflow, node, this.additionalData(json, mode), mode, 'init');
		return type.poll!.call(context);
	}

	/** A resource locator's list search, as the editor calls it while the user types. */
	async listSearch(
		json: WorkflowJson,
		nodeName: string,
		method: string,
		filter?: string,
	): Promise<INodeListSearchResult> {
		const workflow = this.workflow(json);
		const node = workflow.getNode(nodeName)!;
		const type = nodeTypes.getByNameAndVersion(node.type, node.typeVersion);
		const context = new LoadOptionsContext(
			workflow,
			node,
			this.additionalData(json, 'manual'),
			'parameters.secret',
		);
		return type.methods!.listSearch![method].call(context, filter);
	}

	private additionalData(
		json: WorkflowJson,
		mode: 'manual' | 'trigger',
	): IWorkflowExecuteAdditionalData {
		const executionId = String(Math.floor(Math.random() * 1e9));
		return {
			credentialsHelper: new TestCredentialsHelper(this.credentials),
			hooks: new ExecutionLifecycleHooks(mode, executionId, { ...json, active: false } as never),
			executionId,
			currentNodeExecutionIndex: 0,
			restApiUrl: 'http://localhost:5678/rest',
			instanceBaseUrl: 'http://localhost:5678/',
			formBaseUrl: 'http://localhost:5678/form',
			formWaitingBaseUrl: 'http://localhost:5678/form-waiting',
			formTestBaseUrl: 'http://localhost:5678/form-test',
			webhookBaseUrl: 'http://localhost:5678/webhook',
			webhookWaitingBaseUrl: 'http://localhost:5678/webhook-waiting',
			webhookTestBaseUrl: 'http://localhost:5678/webhook-test',
			mcpBaseUrl: 'http://localhost:5678/mcp',
			mcpTestBaseUrl: 'http://localhost:5678/mcp-test',
			variables: {},
			executeWorkflow: async () => {
				throw new Error('sub-workflows are not used in these tests');
			},
			getRunExecutionData: async () => undefined,
			getRuntimeCredential: async () => undefined,
			logAiEvent: () => undefined,
			startRunnerTask: async () => {
				throw new Error('the Code node is not used in these tests');
			},
		} as unknown as IWorkflowExecuteAdditionalData;
	}
}

/** The items a node output in a run, and the error it ended with, if any. */
export function nodeResult(
	run: IRun,
	nodeName: string,
): { items: INodeExecutionData[]; error?: Error } {
	const task = run.data.resultData.runData[nodeName]?.[0];
	return { items: task?.data?.main?.[0] ?? [], error: task?.error as Error | undefined };
}

/** A workflow of a Manual Trigger followed by one node, the shape most node tests need. */
export function manualWorkflow(
	workflow: { id: string; name: string },
	node: Pick<INode, 'name' | 'type' | 'parameters'> & Partial<INode>,
): WorkflowJson {
	return {
		...workflow,
		nodes: [
			{
				id: '1',
				name: 'Start',
				type: 'n8n-nodes-base.manualTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {},
			},
			{ id: '2', typeVersion: 1, position: [200, 0], ...node },
		],
		connections: { Start: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
	};
}
