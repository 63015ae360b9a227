/**
 * The queue-mode suite's secrets, tokens, n8n credentials and workflows: each workflow is a webhook
 * (its path is also the upstream path it calls) followed by one node of the package, or by n8n's own
 * HTTP Request with the Secret Reference Auth credential.
 */
import {
	plainRequest,
	referenceAuthRequest,
	revealNode,
	secretRequest,
	webhookWorkflow,
} from './queue-workflows';

/** The values the suite stores; all of them are searched for by the leak audit. */
export interface QueueValues {
	production: string;
	staging: string;
	rotatingOld: string;
	rotatingNew: string;
	remote: string;
	revealMe: string;
}

type Cli = (args: string[], input?: string) => Promise<{ stdout: string }>;

export interface QueueTokens {
	/** `user`: embedded credentials (the value is used in the worker, never output). */
	user: string;
	/** `relay`: remote Secret HTTP Request (the server sends the request). */
	relay: string;
	/** `runtime`: remote Secret Reference Auth (the value crosses to the worker for its request). */
	runtime: string;
}

/** Writes the secrets through the CLI and creates the tokens the credentials hold. */
export async function seedStore(cli: Cli, values: QueueValues): Promise<QueueTokens> {
	const set = (name: string, env: string, value: string, ...more: string[]) =>
		cli(['secret', 'set', name, '--env', env, '--value-stdin', ...more], value);
	await set('stripe-key', 'production', values.production, '--type', 'API_KEY');
	await set('stripe-key', 'staging', values.staging);
	await set('rotating-key', 'production', values.rotatingOld);
	await set('reveal-me', 'production', values.revealMe);
	// Bound to the upstream: the relay sends only secrets bound to hosts.
	await set('remote-key', 'production', values.remote, '--allowed-host', '127.0.0.1');
	const token = async (role: string, subject: string) =>
		(await cli(['token', 'create', '--role', role, '--subject', subject])).stdout.trim();
	return {
		user: await token('user', 'n8n-queue'),
		relay: await token('relay', 'n8n-queue-relay'),
		runtime: await token('runtime', 'n8n-queue-runtime'),
	};
}

/** Workflow ids, by webhook path. */
export const WORKFLOW_IDS = {
	'q-production': 'qwfproduction000',
	'q-staging': 'qwfstaging000000',
	'q-rotating': 'qwfrotating00000',
	'q-reveal-user': 'qwfrevealuser000',
	'q-relay': 'qwfrelay00000000',
	'q-reference': 'qwfreference0000',
	'q-reveal-runtime': 'qwfrevealrt00000',
	'q-baseline': 'qwfbaseline00000',
} as const;

/** The credentials (plain `data`: n8n encrypts it on import) and the workflows using them. */
export function queueFixtures(upstream: string, serveUrl: string, tokens: QueueTokens) {
	const embedded = (environment: string) => ({
		connection: 'embedded',
		token: tokens.user,
		environment,
	});
	const remote = (token: string) => ({
		connection: 'remote',
		url: serveUrl,
		token,
		environment: 'production',
	});
	const credentials = [
		{ id: 'qcredproduction0', type: 'secretsStoreApi', data: embedded('production') },
		{ id: 'qcredstaging0000', type: 'secretsStoreApi', data: embedded('staging') },
		{ id: 'qcredrelay000000', type: 'secretsStoreApi', data: remote(tokens.relay) },
		{ id: 'qcredruntime0000', type: 'secretsStoreApi', data: remote(tokens.runtime) },
		{
			id: 'qcredreference00',
			type: 'secretReferenceAuth',
			data: {
				...remote(tokens.runtime),
				placement: 'header',
				headerName: 'X-Api-Key',
				reference: '[[secret:remote-key]]',
			},
		},
	].map((c) => ({ ...c, name: c.id }));
	const cred = (id: string) => ({ id, name: id });
	const echo = (path: string) => `${upstream}/echo/${path}`;
	const node: Record<keyof typeof WORKFLOW_IDS, Record<string, unknown>> = {
		'q-production': secretRequest(echo('q-production'), 'stripe-key', cred('qcredproduction0')),
		'q-staging': secretRequest(echo('q-staging'), 'stripe-key', cred('qcredstaging0000')),
		'q-rotating': secretRequest(echo('q-rotating'), 'rotating-key', cred('qcredproduction0')),
		'q-reveal-user': revealNode('reveal-me', cred('qcredproduction0')),
		'q-relay': secretRequest(echo('q-relay'), 'remote-key', cred('qcredrelay000000')),
		'q-reference': referenceAuthRequest(`${upstream}/q-reference`, cred('qcredreference00')),
		'q-reveal-runtime': revealNode('reveal-me', cred('qcredruntime0000')),
		'q-baseline': plainRequest(`${upstream}/q-baseline`),
	};
	const workflows = Object.entries(WORKFLOW_IDS).map(([path, id]) =>
		webhookWorkflow(id, path, node[path as keyof typeof WORKFLOW_IDS]),
	);
	return { credentials, workflows };
}
