/**
 * Every query the service runs, each taking the executor of the transaction it belongs to: one module
 * per table under tables/, the rows' conversions to domain objects in mappers.ts, the audit event's
 * one field list in audit-fields.ts, and the row seals every sealed table reads and writes through in
 * row-seals.ts. Every query on tenant data filters by tenant: isolation does not depend on the caller
 * remembering.
 */
import type { TokenInfo } from '../core/model';
import { toTokenInfo, toTokenRow } from './mappers';
import type { SqlExecutor } from './sql';
import { tokens as tokenTable } from './tables/tokens';

export { labelsOf, toLine, toMetadata, toTokenInfo, toVersionInfo } from './mappers';
export { type RowKeys, type SealedExecutor, type Unsealed, withRowKeys } from './row-seals';
export { audit, type AuditHeadRow } from './tables/audit';
export { auditCheckpoints, type AuditCheckpointRow } from './tables/audit-checkpoints';
export { auditPending } from './tables/audit-pending';
export { journals } from './tables/journals';
export {
	dataKeys,
	masterKeys,
	type MasterKeyRow,
	signingKeys,
	type SigningKeyRow,
} from './tables/keys';
export { lines, type LineRow } from './tables/lines';
export { rotationLeases, type RotationLeaseRow } from './tables/rotation-leases';
export { seals } from './tables/seals';
export { secrets, type PageKey, type SecretRow } from './tables/secrets';
export { tenants } from './tables/tenants';
export { type TokenRow } from './tables/tokens';
export { versions, type VersionRow } from './tables/versions';

/** The tokens table, taking and listing tokens as the service has them (TokenInfo). */
export const tokens = {
	...tokenTable,
	insert: (x: SqlExecutor, info: TokenInfo) => tokenTable.insert(x, toTokenRow(info)),
	list: async (x: SqlExecutor, tenant: string) =>
		(await tokenTable.rows(x, tenant)).map(toTokenInfo),
};
