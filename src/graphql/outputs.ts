/**
 * What each GraphQL-exposed operation returns, as zod schemas: the GraphQL object types are generated
 * from them, and test/server/graphql-outputs.test.ts parses the service's real results with them
 * (strictly, on both stores), so the GraphQL types cannot drift from what the service returns.
 * `OUTPUTS` is a complete record over the operations the table exposes to GraphQL: a new one without
 * an output here does not compile. Each schema is also checked against the TypeScript type the
 * service declares for it (`conforms`).
 */
import { z } from 'zod';

import {
	AUDIT_ACTIONS,
	type AuditEvent,
	type EnvironmentLine,
	ROTATION_POLICIES,
	SCOPES,
	SECRET_TYPES,
	type SecretMetadata,
	type TokenInfo,
	VERSION_LABELS,
	type VersionInfo,
} from '../core/model';
import type {
	DueItem,
	ExpiringItem,
	MaintenanceResult,
	ResolvedValue,
	Stats,
	UsageItem,
	VerifyAuditResult,
	WhoAmI,
} from '../service/api';
import { CHECKPOINT_TYPE, type CheckpointStatement } from '../service/audit-archive';
import { OPERATIONS, type OperationName } from '../service/operations';

/** The operations the table exposes as a GraphQL query or mutation. */
export type GraphqlOperationName = {
	[K in OperationName]: (typeof OPERATIONS)[K]['graphql'] extends { none: string } ? never : K;
}[OperationName];

const names = new Map<z.ZodTypeAny, string>();

/** The GraphQL name of each object type below. */
export const OUTPUT_NAMES: ReadonlyMap<z.ZodTypeAny, string> = names;

/** An object type of the GraphQL schema: strict, so a field the service adds fails the drift test. */
function object<T extends z.ZodRawShape>(name: string, shape: T, description?: string) {
	const plain = z.object(shape).strict();
	const s = description ? plain.describe(description) : plain;
	names.set(s, name);
	return s;
}

/**
 * `schema`, checked to describe exactly `T` (each way assignable), so the TypeScript type the
 * service declares and the GraphQL type cannot say different things.
 */
function conforms<T>() {
	return <S extends z.ZodTypeAny>(
		s: S & ([z.infer<S>] extends [T] ? ([T] extends [z.infer<S>] ? unknown : never) : never),
	): S => s;
}

const int = z.number().int();
const time = z.string();
const maybeTime = time.nullable();
const texts = z.array(z.string());
const secretType = z.enum(SECRET_TYPES);
const scopes = z.array(z.enum(SCOPES));

const environmentLine = conforms<EnvironmentLine>()(
	object('EnvironmentLine', {
		environment: z.string(),
		currentVersion: int.nullable(),
		previousVersion: int.nullable(),
		pendingVersion: int.nullable(),
		latestVersion: int,
		currentSince: maybeTime,
		currentCreatedAt: maybeTime,
		nextRotationAt: maybeTime,
		previousSince: maybeTime,
		expiresAt: maybeTime,
	}),
);

const secretMetadata = conforms<SecretMetadata>()(
	object(
		'SecretMetadata',
		{
			id: z.string(),
			name: z.string(),
			type: secretType,
			description: z.string(),
			tags: texts,
			rotationPolicy: z.enum(ROTATION_POLICIES),
			rotationIntervalDays: int.nullable(),
			allowedHosts: texts,
			allowedConsumers: texts,
			maxVersions: int,
			previousWindowDays: int,
			createdAt: time,
			createdBy: z.string(),
			updatedAt: time,
			updatedBy: z.string(),
			deletedAt: maybeTime,
			deletedBy: z.string().nullable(),
			nextRotationAt: maybeTime,
			environments: z.array(environmentLine),
		},
		'A secret: its metadata and its environment lines, never a value.',
	),
);

const versionInfo = conforms<VersionInfo>()(
	object('VersionInfo', {
		version: int,
		environment: z.string(),
		labels: z.array(z.enum(VERSION_LABELS)),
		createdAt: time,
		createdBy: z.string(),
		reason: z.string().nullable(),
		notBefore: maybeTime,
		expiresAt: maybeTime,
		destroyedAt: maybeTime,
	}),
);

/** A page of items; `nextCursor`, passed back as `cursor`, gets the next one (absent on the last). */
function page<T extends z.ZodTypeAny>(name: string, item: T) {
	return object(name, { items: z.array(item), nextCursor: z.string().optional() });
}

const auditEvent = conforms<AuditEvent>()(
	object('AuditEvent', {
		seq: int,
		id: z.string(),
		time,
		tenant: z.string(),
		actor: z.string(),
		tokenId: z.string().nullable(),
		action: z.enum(AUDIT_ACTIONS),
		secret: z.string().nullable(),
		environment: z.string().nullable(),
		version: int.nullable(),
		outcome: z.enum(['success', 'denied', 'failure']),
		reason: z.string().nullable(),
		workflowId: z.string().nullable(),
		workflowName: z.string().nullable(),
		executionId: z.string().nullable(),
		node: z.string().nullable(),
		mode: z.string().nullable(),
		destinationHost: z.string().nullable(),
		prevHash: z.string(),
		hash: z.string(),
	}),
);

const tokenInfo = conforms<TokenInfo>()(
	object(
		'TokenInfo',
		{
			jti: z.string(),
			tenant: z.string(),
			subject: z.string(),
			role: z.string(),
			scopes,
			environments: texts,
			secrets: texts,
			createdAt: time,
			createdBy: z.string(),
			expiresAt: maybeTime,
			revokedAt: maybeTime,
		},
		'An access token as listed: its id and limits, never the token.',
	),
);

const expiringItem = conforms<ExpiringItem>()(
	object('ExpiringItem', {
		name: z.string(),
		type: secretType,
		environment: z.string(),
		version: int,
		expiresAt: time,
		daysLeft: int,
		expired: z.boolean(),
	}),
);

const dueItem = conforms<DueItem>()(
	object('DueItem', {
		name: z.string(),
		type: secretType,
		environment: z.string(),
		rotationPolicy: z.enum(ROTATION_POLICIES),
		action: z.enum(['rotate', 'remind']),
		rotationIntervalDays: int,
		currentSince: time,
		dueAt: time,
		overdueDays: int,
	}),
);

const usageItem = conforms<UsageItem>()(
	object('UsageItem', {
		workflowId: z.string().nullable(),
		workflowName: z.string().nullable(),
		uses: int,
		lastUsedAt: time,
		lastExecutionId: z.string().nullable(),
		lastEnvironment: z.string().nullable(),
		lastNode: z.string().nullable(),
		lastActor: z.string(),
		lastDestinationHost: z.string().nullable(),
	}),
);

const counts = z.record(z.string(), int).describe('Counts by name, as a JSON object.');

const stats = conforms<Stats>()(
	object('Stats', {
		secrets: int,
		deleted: int,
		byType: counts,
		byEnvironment: counts,
		dueForRotation: int,
		remindersDue: int,
		expiringWithin30Days: int,
		expired: int,
	}),
);

const verifyAuditResult = conforms<VerifyAuditResult>()(
	object('VerifyAuditResult', {
		ok: z.boolean(),
		events: int,
		archivedThrough: int.optional(),
		integrityAlarms: int.optional(),
		brokenAt: object('BrokenLink', {
			seq: int,
			id: z.string().nullable(),
			problem: z.string(),
		}).optional(),
		checkpoint: object('CheckpointMatch', {
			seq: int,
			found: z.enum(['in-store', 'archived']),
		}).optional(),
	}),
);

const checkpointStatement = conforms<CheckpointStatement>()(
	object(
		'CheckpointStatement',
		{
			type: z.literal(CHECKPOINT_TYPE),
			tenant: z.string(),
			seq: int,
			hash: z.string(),
			time,
			kid: z.string(),
			publicKey: z.string(),
			signature: z.string(),
		},
		"A statement of the chain's last event signed with the tenant's key (Ed25519, base64).",
	),
);

const whoAmI = conforms<WhoAmI>()(
	object('WhoAmI', {
		tenant: z.string(),
		subject: z.string(),
		jti: z.string(),
		scopes,
		environments: texts,
		secrets: texts,
		expiresAt: maybeTime,
		external: z.boolean().optional(),
	}),
);

const maintenanceResult = conforms<MaintenanceResult>()(
	object('MaintenanceResult', { purged: texts, retentionApplied: int }),
);

/** The one type that carries a value: `reveal`'s answer (reveal permission, audited as reveal). */
const resolvedValue = conforms<ResolvedValue>()(
	object(
		'ResolvedValue',
		{
			name: z.string(),
			environment: z.string(),
			servedFrom: z.string(),
			version: int,
			value: z.string(),
			type: secretType,
			expiresAt: maybeTime,
			allowedHosts: texts,
		},
		'A revealed value. Only the reveal mutation answers with it.',
	),
);

const issuedToken = object(
	'IssuedToken',
	{ token: z.string(), info: tokenInfo },
	'A new access token: shown once, never stored.',
);

export const OUTPUTS = {
	whoami: whoAmI,
	listSecrets: page('SecretPage', secretMetadata),
	createSecret: secretMetadata,
	expiring: z.array(expiringItem),
	getSecret: secretMetadata,
	updateSecret: secretMetadata,
	deleteSecret: secretMetadata,
	setValue: versionInfo,
	rotate: versionInfo,
	stage: versionInfo,
	promote: versionInfo,
	rollback: versionInfo,
	restoreSecret: secretMetadata,
	purgeSecret: object('PurgeResult', { purged: z.string() }),
	reveal: resolvedValue,
	listVersions: z.array(versionInfo),
	dueForRotation: z.array(dueItem),
	stats,
	maintenance: maintenanceResult,
	listAudit: page('AuditEventPage', auditEvent),
	secretUsage: object('SecretUsage', { items: z.array(usageItem) }),
	verifyAudit: verifyAuditResult,
	auditCheckpoint: checkpointStatement,
	listTokens: z.array(tokenInfo),
	createToken: issuedToken,
	revokeToken: tokenInfo,
	rotateDataKeys: object('DataKeyRotation', { rewrapped: int, reencrypted: int }),
} as const satisfies Record<GraphqlOperationName, z.ZodTypeAny>;

/** The GraphQL type that carries a secret value; the schema has it in one place, `reveal`. */
export const VALUE_TYPE_NAME = 'ResolvedValue';
