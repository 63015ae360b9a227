/**
 * The operations the n8n nodes and the CLI call, whether the service runs in their process
 * (SecretsService) or behind `n8n-secrets serve` (RemoteSecrets): one interface, two transports.
 */
import type { SecretsService } from './secrets-service';

export type SecretsApi = Pick<
	SecretsService,
	| 'whoami'
	| 'createSecret'
	| 'updateSecret'
	| 'setValue'
	| 'stage'
	| 'promote'
	| 'rollback'
	| 'rotate'
	| 'getSecret'
	| 'listSecrets'
	| 'listVersions'
	| 'deleteSecret'
	| 'restoreSecret'
	| 'purgeSecret'
	| 'use'
	| 'reveal'
	| 'expiring'
	| 'dueForRotation'
	| 'stats'
	| 'maintenance'
	| 'listAudit'
	| 'verifyAudit'
	| 'createToken'
	| 'revokeToken'
	| 'listTokens'
	| 'close'
>;

/** What resolving references for an outgoing request needs: `use`, or the relay's variant of it. */
export type ValueSource = Pick<SecretsService, 'use'>;
