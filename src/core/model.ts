/** The domain: what a secret, a version, an environment, a token and an audit event are. */

export const SECRET_TYPES = [
	'API_KEY',
	'DATABASE_CREDENTIAL',
	'OAUTH_TOKEN',
	'CERTIFICATE',
	'SSH_KEY',
	'ENCRYPTION_KEY',
	'WEBHOOK_SECRET',
	'PASSWORD',
	'CUSTOM',
] as const;
export type SecretType = (typeof SECRET_TYPES)[number];

export const ROTATION_POLICIES = ['MANUAL', 'AUTOMATIC', 'ON_DEMAND'] as const;
export type RotationPolicy = (typeof ROTATION_POLICIES)[number];

export const VERSION_LABELS = ['current', 'previous', 'pending'] as const;
export type VersionLabel = (typeof VERSION_LABELS)[number];

/**
 * The environment name a secret uses for "the same value in every environment". A caller's own
 * environment always wins; this line is used only when the secret has no line for the caller's.
 */
export const ALL_ENVIRONMENTS = '*';

export const DEFAULT_MAX_VERSIONS = 10;
export const DEFAULT_PREVIOUS_WINDOW_DAYS = 7;
export const DEFAULT_RECOVERY_WINDOW_DAYS = 30;

/** Metadata of one environment's value line: which version numbers carry which label. */
export interface EnvironmentLine {
	environment: string;
	currentVersion: number | null;
	previousVersion: number | null;
	pendingVersion: number | null;
	latestVersion: number;
	/** When the current version became current (set, promoted or rolled back to). */
	currentSince: string | null;
	/**
	 * When the current version was written: the start of its rotation interval. Older than
	 * `currentSince` after a rollback or the promotion of a staged value, so a rollback to an old value
	 * leaves the secret due.
	 */
	currentCreatedAt: string | null;
	/**
	 * When this line's current value falls due under the secret's policy: `currentCreatedAt` plus the
	 * interval (in the past when overdue). Null for ON_DEMAND, for a policy without an interval and
	 * for a line without a current version.
	 */
	nextRotationAt: string | null;
	/** When the previous version lost its `current` label: the start of its retention window. */
	previousSince: string | null;
	/** `expiresAt` of the current version, if any. */
	expiresAt: string | null;
}

export interface SecretMetadata {
	id: string;
	name: string;
	type: SecretType;
	description: string;
	tags: string[];
	rotationPolicy: RotationPolicy;
	rotationIntervalDays: number | null;
	allowedHosts: string[];
	allowedConsumers: string[];
	maxVersions: number;
	previousWindowDays: number;
	createdAt: string;
	createdBy: string;
	updatedAt: string;
	updatedBy: string;
	deletedAt: string | null;
	/** Who deleted it (the subject of the token), while it is deleted. */
	deletedBy: string | null;
	/**
	 * The earliest `nextRotationAt` of the environment lines shown: when this secret next needs
	 * attention (AUTOMATIC: the rotation workflow rotates it; MANUAL: a person is reminded). Computed,
	 * never stored; null when no line has one.
	 */
	nextRotationAt: string | null;
	environments: EnvironmentLine[];
}

export interface VersionInfo {
	version: number;
	environment: string;
	labels: VersionLabel[];
	createdAt: string;
	createdBy: string;
	reason: string | null;
	notBefore: string | null;
	expiresAt: string | null;
	destroyedAt: string | null;
}

/** How a reference or a call picks a version: a label, or an exact number. */
export type VersionSelector = { label: VersionLabel } | { version: number };

export const SCOPES = [
	'secrets:list',
	'secrets:use',
	'secrets:relay',
	'secrets:runtime',
	'secrets:reveal',
	'secrets:write',
	'secrets:delete',
	'audit:read',
	'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

export const ROLES = {
	viewer: ['secrets:list'],
	user: ['secrets:list', 'secrets:use'],
	relay: ['secrets:list', 'secrets:relay'],
	/** The n8n runtime in remote mode (Secret Reference Auth): receives values over the network to send them itself. */
	runtime: ['secrets:list', 'secrets:use', 'secrets:runtime'],
	operator: ['secrets:list', 'secrets:use', 'secrets:write'],
	revealer: ['secrets:list', 'secrets:use', 'secrets:reveal'],
	auditor: ['secrets:list', 'audit:read'],
	admin: ['admin'],
} as const satisfies Record<string, readonly Scope[]>;
export type Role = keyof typeof ROLES;

/** What a verified access token says about its bearer. */
export interface Principal {
	tenant: string;
	subject: string;
	jti: string;
	scopes: Scope[];
	/** Environments the token may act in; empty means all. */
	environments: string[];
	/** Secret-name globs the token may touch; empty means all. */
	secrets: string[];
	expiresAt: number | null;
	/** Issued by an external OAuth 2.0 issuer: not in the store's token table, so not revocable here. */
	external?: boolean;
}

export interface TokenInfo {
	jti: string;
	tenant: string;
	subject: string;
	role: string;
	scopes: Scope[];
	environments: string[];
	secrets: string[];
	createdAt: string;
	createdBy: string;
	expiresAt: string | null;
	revokedAt: string | null;
}

/** Where a call comes from inside n8n; every field is optional because not every caller knows it. */
export interface N8nContext {
	workflowId?: string;
	workflowName?: string;
	executionId?: string;
	node?: string;
	mode?: string;
}

/** The HTTP headers that carry a remote caller's n8n context (values percent-encoded). */
export const CONTEXT_HEADERS: readonly (readonly [keyof N8nContext, string])[] = [
	['workflowId', 'x-n8n-workflow-id'],
	['workflowName', 'x-n8n-workflow-name'],
	['executionId', 'x-n8n-execution-id'],
	['node', 'x-n8n-node'],
	['mode', 'x-n8n-mode'],
];

export const AUDIT_ACTIONS = [
	'create',
	'update',
	'stage',
	'promote',
	'rollback',
	'rotate',
	'delete',
	'restore',
	'purge',
	'reveal',
	'use',
	'deny',
	'token.create',
	'token.revoke',
	'key.rotate',
	'audit.archive',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export type AuditOutcome = 'success' | 'denied' | 'failure';

export interface AuditEvent {
	seq: number;
	id: string;
	time: string;
	tenant: string;
	/** The subject of the token that acted. */
	actor: string;
	/** The `jti` of that token, so one of several tokens of the same subject can be told apart. */
	tokenId: string | null;
	action: AuditAction;
	secret: string | null;
	environment: string | null;
	version: number | null;
	outcome: AuditOutcome;
	reason: string | null;
	workflowId: string | null;
	workflowName: string | null;
	executionId: string | null;
	node: string | null;
	mode: string | null;
	destinationHost: string | null;
	prevHash: string;
	hash: string;
}

export interface Page<T> {
	items: T[];
	/** Pass back as `cursor` to get the next page; absent on the last page. */
	nextCursor?: string;
}
