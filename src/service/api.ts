/**
 * The contract of the secrets backend: what the n8n nodes, the CLI and the servers call, whether the
 * service runs in their process (SecretsService) or behind `n8n-secrets serve` (RemoteSecrets). It is
 * declared here, on its own, rather than derived from either implementation; both implement it, and
 * the operation table (operations.ts) decides how each method is exposed and guarded.
 */
import type {
	AuditEvent,
	N8nContext,
	Page,
	Principal,
	SecretMetadata,
	SecretType,
	TokenInfo,
	VersionInfo,
} from '../core/model';
import type { RotationAction } from '../core/rotation';
import type * as schema from '../core/schemas';
import type { VerifyResult } from './audit-chain';

/** Who is calling: the access token, and where in n8n the call comes from. */
export interface Caller {
	token: string;
	context?: N8nContext;
}

export interface ResolvedValue {
	name: string;
	environment: string;
	/** The environment line the value came from: the caller's, or `*` for a shared default. */
	servedFrom: string;
	version: number;
	value: string;
	type: SecretType;
	expiresAt: string | null;
	/** The hosts the secret is bound to (empty: unbound), so a sender can refuse redirects elsewhere. */
	allowedHosts: string[];
}

export interface ExpiringItem {
	name: string;
	type: SecretType;
	environment: string;
	version: number;
	expiresAt: string;
	daysLeft: number;
	expired: boolean;
}

export interface DueItem {
	name: string;
	type: SecretType;
	environment: string;
	rotationPolicy: SecretMetadata['rotationPolicy'];
	/** `rotate`: AUTOMATIC, the rotation workflow replaces the value; `remind`: MANUAL, a person is reminded. */
	action: RotationAction;
	rotationIntervalDays: number;
	/** When the current value was written: the start of its rotation interval. */
	currentSince: string;
	dueAt: string;
	overdueDays: number;
}

export interface Stats {
	secrets: number;
	deleted: number;
	byType: Record<string, number>;
	byEnvironment: Record<string, number>;
	/** AUTOMATIC secrets whose interval has passed: the rotation workflow's work. */
	dueForRotation: number;
	/** MANUAL secrets whose interval has passed: reminders for a person. */
	remindersDue: number;
	expiringWithin30Days: number;
	expired: number;
}

export interface ReencryptProgress {
	tenant: string;
	done: number;
	total: number;
}

/** The chain's check; `checkpoint` when an auditor's signed statement was checked against it. */
export type VerifyAuditResult = VerifyResult & {
	checkpoint?: { seq: number; found: 'in-store' | 'archived' };
};

/** What an access token may do, as `whoami` answers it. */
export type WhoAmI = Omit<Principal, 'expiresAt'> & { expiresAt: string | null };

/** One workflow's uses of a secret ("Used by"); `workflowId` null: uses outside any workflow. */
export interface UsageItem {
	workflowId: string | null;
	workflowName: string | null;
	uses: number;
	lastUsedAt: string;
	lastExecutionId: string | null;
	lastEnvironment: string | null;
	lastNode: string | null;
	lastActor: string;
	lastDestinationHost: string | null;
}

export interface MaintenanceResult {
	purged: string[];
	retentionApplied: number;
}

export interface SecretsApi {
	whoami(caller: Caller): Promise<WhoAmI>;
	createSecret(caller: Caller, input: schema.CreateSecretInput): Promise<SecretMetadata>;
	updateSecret(caller: Caller, input: schema.UpdateSecretInput): Promise<SecretMetadata>;
	setValue(caller: Caller, input: schema.SetValueInput): Promise<VersionInfo>;
	stage(caller: Caller, input: schema.RotateInput): Promise<VersionInfo>;
	promote(caller: Caller, input: schema.LineInput): Promise<VersionInfo>;
	rollback(caller: Caller, input: schema.LineInput): Promise<VersionInfo>;
	rotate(caller: Caller, input: schema.RotateInput): Promise<VersionInfo>;
	getSecret(caller: Caller, name: string): Promise<SecretMetadata>;
	listSecrets(caller: Caller, input?: schema.ListSecretsInput): Promise<Page<SecretMetadata>>;
	listVersions(
		caller: Caller,
		input: { name: string; environment: string },
	): Promise<VersionInfo[]>;
	deleteSecret(caller: Caller, name: string, reason?: string): Promise<SecretMetadata>;
	restoreSecret(caller: Caller, name: string): Promise<SecretMetadata>;
	purgeSecret(caller: Caller, name: string): Promise<void>;
	/** The value for the package's own code to send somewhere; never into workflow data. */
	use(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue>;
	/** The plaintext as output (audited as reveal). */
	reveal(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue>;
	expiring(caller: Caller, input?: schema.WithinDaysInput): Promise<ExpiringItem[]>;
	dueForRotation(caller: Caller, input?: schema.DueInput): Promise<DueItem[]>;
	stats(caller: Caller): Promise<Stats>;
	maintenance(caller: Caller): Promise<MaintenanceResult>;
	listAudit(caller: Caller, input?: schema.AuditQueryInput): Promise<Page<AuditEvent>>;
	secretUsage(
		caller: Caller,
		input: { name: string; limit?: number },
	): Promise<{ items: UsageItem[] }>;
	verifyAudit(caller: Caller): Promise<VerifyAuditResult>;
	createToken(
		caller: Caller,
		input: schema.CreateTokenInput,
	): Promise<{ token: string; info: TokenInfo }>;
	revokeToken(caller: Caller, tokenId: string): Promise<TokenInfo>;
	listTokens(caller: Caller): Promise<TokenInfo[]>;
	close(): Promise<void>;
}

/** What resolving references for an outgoing request needs: `use`, or the relay's variant of it. */
export type ValueSource = Pick<SecretsApi, 'use'>;
