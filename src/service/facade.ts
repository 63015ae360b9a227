/**
 * SecretsApi's methods over the operation table: each method names its operation and puts its
 * arguments into the operation's one input object. The in-process service runs that through the
 * runner; the remote client sends it over HTTP as the table's REST exposure says. Both are this class.
 */
import type { AuditEvent, Page, SecretMetadata, TokenInfo, VersionInfo } from '../core/model';
import type * as schema from '../core/schemas';
import type {
	Caller,
	DueItem,
	ExpiringItem,
	MaintenanceResult,
	ResolvedValue,
	SecretsApi,
	Stats,
	UsageItem,
	VerifyAuditResult,
	WhoAmI,
} from './api';
import type { OperationName } from './operations';

export abstract class OperationsApi implements SecretsApi {
	/** Runs one operation of the table with its input. */
	abstract run(name: OperationName, caller: Caller, input: unknown): Promise<unknown>;
	abstract close(): Promise<void>;
	/** Over the network the runtime's `use` is `resolve`: the value crosses into its process. */
	protected readonly useOperation: 'use' | 'resolve' = 'use';

	private op<T>(name: OperationName, caller: Caller, input: unknown = {}): Promise<T> {
		return this.run(name, caller, input) as Promise<T>;
	}

	whoami(caller: Caller): Promise<WhoAmI> {
		return this.op('whoami', caller);
	}
	createSecret(caller: Caller, input: schema.CreateSecretInput): Promise<SecretMetadata> {
		return this.op('createSecret', caller, input);
	}
	updateSecret(caller: Caller, input: schema.UpdateSecretInput): Promise<SecretMetadata> {
		return this.op('updateSecret', caller, input);
	}
	setValue(caller: Caller, input: schema.SetValueInput): Promise<VersionInfo> {
		return this.op('setValue', caller, input);
	}
	stage(caller: Caller, input: schema.RotateInput): Promise<VersionInfo> {
		return this.op('stage', caller, input);
	}
	promote(caller: Caller, input: schema.LineInput): Promise<VersionInfo> {
		return this.op('promote', caller, input);
	}
	rollback(caller: Caller, input: schema.LineInput): Promise<VersionInfo> {
		return this.op('rollback', caller, input);
	}
	rotate(caller: Caller, input: schema.RotateInput): Promise<VersionInfo> {
		return this.op('rotate', caller, input);
	}
	getSecret(caller: Caller, name: string): Promise<SecretMetadata> {
		return this.op('getSecret', caller, { name });
	}
	listSecrets(caller: Caller, input?: schema.ListSecretsInput): Promise<Page<SecretMetadata>> {
		return this.op('listSecrets', caller, input);
	}
	listVersions(
		caller: Caller,
		input: { name: string; environment: string },
	): Promise<VersionInfo[]> {
		return this.op('listVersions', caller, input);
	}
	deleteSecret(caller: Caller, name: string, reason?: string): Promise<SecretMetadata> {
		return this.op('deleteSecret', caller, reason === undefined ? { name } : { name, reason });
	}
	restoreSecret(caller: Caller, name: string): Promise<SecretMetadata> {
		return this.op('restoreSecret', caller, { name });
	}
	async purgeSecret(caller: Caller, name: string): Promise<void> {
		await this.op('purgeSecret', caller, { name });
	}
	use(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue> {
		return this.op(this.useOperation, caller, input);
	}
	reveal(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue> {
		return this.op('reveal', caller, input);
	}
	expiring(caller: Caller, input?: schema.WithinDaysInput): Promise<ExpiringItem[]> {
		return this.op('expiring', caller, input);
	}
	dueForRotation(caller: Caller, input?: schema.DueInput): Promise<DueItem[]> {
		return this.op('dueForRotation', caller, input);
	}
	stats(caller: Caller): Promise<Stats> {
		return this.op('stats', caller);
	}
	maintenance(caller: Caller): Promise<MaintenanceResult> {
		return this.op('maintenance', caller);
	}
	listAudit(caller: Caller, input?: schema.AuditQueryInput): Promise<Page<AuditEvent>> {
		return this.op('listAudit', caller, input);
	}
	secretUsage(
		caller: Caller,
		input: { name: string; limit?: number },
	): Promise<{ items: UsageItem[] }> {
		return this.op('secretUsage', caller, input);
	}
	verifyAudit(caller: Caller): Promise<VerifyAuditResult> {
		return this.op('verifyAudit', caller);
	}
	createToken(
		caller: Caller,
		input: schema.CreateTokenInput,
	): Promise<{ token: string; info: TokenInfo }> {
		return this.op('createToken', caller, input);
	}
	revokeToken(caller: Caller, tokenId: string): Promise<TokenInfo> {
		return this.op('revokeToken', caller, { jti: tokenId });
	}
	listTokens(caller: Caller): Promise<TokenInfo[]> {
		return this.op('listTokens', caller);
	}
}
