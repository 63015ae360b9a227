/**
 * What every node of the package shares: the connection from its credential, the n8n context for
 * the audit trail, errors turned into n8n node errors with the item index, the secret-name list
 * search and the credential tests.
 */
import {
	type ICredentialTestFunctions,
	type ICredentialsDecrypted,
	type IExecuteFunctions,
	type ILoadOptionsFunctions,
	type INode,
	type INodeCredentialTestResult,
	type INodeListSearchResult,
	type IPollFunctions,
	NodeOperationError,
} from 'n8n-workflow';

import { isSecretsError } from '../core/errors';
import { findReferences } from '../core/reference';
import { sampleDestination } from '../core/matching';
import type { N8nContext } from '../core/model';
import type { Scrubber } from '../core/scrub';
import type { SecretsApi } from '../service/api';
import type { Caller } from '../service/secrets-service';
import {
	type SecretsConnection,
	backendFor,
	callerOf,
	connectionFromCredential,
} from './connection';

export const STORE_CREDENTIAL = 'secretsStoreApi';

export interface Session {
	conn: SecretsConnection;
	service: SecretsApi;
	caller: Caller;
}

type ContextFunctions = IExecuteFunctions | IPollFunctions;

/** Where in n8n a call comes from: it is written into every audit event. */
export function n8nContext(fns: ContextFunctions): N8nContext {
	const workflow = fns.getWorkflow();
	const executionId = 'getExecutionId' in fns ? fns.getExecutionId() : undefined;
	return {
		workflowId: workflow.id ? String(workflow.id) : undefined,
		workflowName: workflow.name,
		executionId: executionId || undefined,
		node: fns.getNode().name,
		mode: fns.getMode(),
	};
}

export async function openSession(fns: ContextFunctions | ILoadOptionsFunctions): Promise<Session> {
	const data = await fns.getCredentials(STORE_CREDENTIAL);
	const conn = connectionFromCredential(data);
	const service = await backendFor(conn);
	const context =
		'getMode' in fns && 'getWorkflow' in fns ? n8nContext(fns as ContextFunctions) : undefined;
	return { conn, service, caller: callerOf(conn, context) };
}

/**
 * A node error the user can act on: the stable code leads the message, the item index is kept, and
 * anything resolved during the item is scrubbed out of message and description.
 */
export function nodeError(
	node: INode,
	err: unknown,
	itemIndex: number,
	scrubber?: Scrubber,
): NodeOperationError {
	const clean = scrubber
		? scrubber.scrubError(err)
		: err instanceof Error
			? err
			: new Error(String(err));
	if (isSecretsError(err)) {
		return new NodeOperationError(node, `${err.code}: ${clean.message}`, {
			itemIndex,
			description: `Error code ${err.code}. The message names what to change; no secret value is ever part of it.`,
		});
	}
	return new NodeOperationError(node, clean.message, { itemIndex });
}

/** The item an error becomes with "Continue On Fail": the code and the scrubbed message. */
export function errorItem(err: unknown, scrubber?: Scrubber): { error: string; code?: string } {
	const clean = scrubber
		? scrubber.scrubError(err)
		: err instanceof Error
			? err
			: new Error(String(err));
	return isSecretsError(err) ? { error: clean.message, code: err.code } : { error: clean.message };
}

/** Resource-locator list search: secret names the credential's token may list, by prefix. */
export async function searchSecretNames(
	this: ILoadOptionsFunctions,
	filter?: string,
	paginationToken?: string,
): Promise<INodeListSearchResult> {
	const { service, caller, conn } = await openSession(this);
	const page = await service.listSecrets(caller, {
		prefix: filter || undefined,
		cursor: paginationToken,
		limit: 100,
	});
	return {
		results: page.items.map((s) => {
			const line = s.environments.find((l) => l.environment === conn.environment);
			return {
				name: s.name,
				value: s.name,
				description: `${s.type}${line ? `, v${line.currentVersion} in ${conn.environment}` : `, no value in ${conn.environment}`}`,
			};
		}),
		paginationToken: page.nextCursor,
	};
}

function describe(err: unknown): string {
	if (!isSecretsError(err)) return err instanceof Error ? err.message : String(err);
	switch (err.code) {
		case 'STORE_NOT_INITIALIZED':
			return `Unknown store: ${err.message}`;
		case 'SERVER_UNAVAILABLE':
			return `Server unreachable: ${err.message}`;
		case 'TOKEN_EXPIRED':
		case 'TOKEN_REVOKED':
		case 'TOKEN_INVALID':
			return `The access token is not usable: ${err.message}`;
		default:
			return `${err.code}: ${err.message}`;
	}
}

/**
 * Checks a Secrets Store credential against the store itself: the store opens with this host's
 * master key, the token is valid and not revoked, and it may act in the chosen environment.
 */
export async function testSecretsStore(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		const conn = connectionFromCredential(credential.data ?? {});
		const service = await backendFor(conn);
		const me = await service.whoami(callerOf(conn));
		if (me.environments.length > 0 && !me.environments.includes(conn.environment)) {
			return {
				status: 'Error',
				message: `Wrong environment: the token may act in ${me.environments.join(', ')}, not in "${conn.environment}".`,
			};
		}
		return {
			status: 'OK',
			message: `Connected as ${me.subject} (${me.scopes.join(', ')}) in ${conn.environment}.`,
		};
	} catch (err) {
		return { status: 'Error', message: describe(err) };
	}
}

/**
 * Checks a Secret Reference Auth credential: every reference it holds resolves (with `use`, for a host
 * the secret may go to), and nothing is shown: the result names versions, never values.
 */
export async function testSecretReferenceAuth(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		const data = credential.data ?? {};
		const conn = connectionFromCredential(data);
		const service = await backendFor(conn);
		const caller = callerOf(conn, { node: 'credential test', mode: 'credential-test' });
		await service.whoami(caller);
		const fields = ['reference', 'userReference', 'passReference'].map((f) =>
			String(data[f] ?? ''),
		);
		const refs = fields.flatMap((text) => findReferences(text));
		if (refs.length === 0)
			return { status: 'Error', message: 'The credential holds no [[secret:…]] reference.' };
		const resolved: string[] = [];
		for (const ref of refs) {
			const meta = await service.getSecret(caller, ref.name);
			const bound = meta.allowedHosts[0];
			const host = bound === undefined ? undefined : sampleDestination(bound);
			const r = await service.use(caller, {
				name: ref.name,
				environment: conn.environment,
				selector: ref.selector,
				destinationHost: host,
			});
			resolved.push(
				`${ref.name} v${r.version}${meta.allowedHosts.length ? ` (only for ${meta.allowedHosts.join(', ')})` : ''}`,
			);
		}
		return { status: 'OK', message: `Resolves in ${conn.environment}: ${resolved.join('; ')}.` };
	} catch (err) {
		return { status: 'Error', message: describe(err) };
	}
}
