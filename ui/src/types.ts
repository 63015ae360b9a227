/** The API's answers as the page reads them (see src/core/model.ts and src/service/api.ts). */

export interface EnvironmentLine {
	environment: string;
	currentVersion: number | null;
	previousVersion: number | null;
	pendingVersion: number | null;
	latestVersion: number;
	currentSince: string | null;
	currentCreatedAt: string | null;
	nextRotationAt: string | null;
	previousSince: string | null;
	expiresAt: string | null;
}

export interface SecretMetadata {
	id: string;
	name: string;
	type: string;
	description: string;
	tags: string[];
	rotationPolicy: string;
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
	deletedBy: string | null;
	nextRotationAt: string | null;
	environments: EnvironmentLine[];
}

export interface VersionInfo {
	version: number;
	environment: string;
	labels: ('current' | 'previous' | 'pending')[];
	createdAt: string;
	createdBy: string;
	reason: string | null;
	notBefore: string | null;
	expiresAt: string | null;
	destroyedAt: string | null;
}

export interface Page<T> {
	items: T[];
	nextCursor?: string;
}

export interface AuditEvent {
	seq: number;
	id: string;
	time: string;
	actor: string;
	tokenId: string | null;
	action: string;
	secret: string | null;
	environment: string | null;
	version: number | null;
	outcome: 'success' | 'denied' | 'failure';
	reason: string | null;
	workflowId: string | null;
	workflowName: string | null;
	executionId: string | null;
	node: string | null;
	mode: string | null;
	destinationHost: string | null;
}

export interface Usage {
	workflowId: string | null;
	workflowName: string | null;
	lastUsedAt: string;
	lastExecutionId: string | null;
	uses: number;
	lastEnvironment?: string | null;
	lastNode?: string | null;
}

export interface TokenInfo {
	jti: string;
	subject: string;
	role: string;
	scopes: string[];
	environments: string[];
	secrets: string[];
	createdAt: string;
	createdBy: string;
	expiresAt: string | null;
	revokedAt: string | null;
}

export interface Stats {
	secrets: number;
	deleted: number;
	byType: Record<string, number>;
	byEnvironment: Record<string, number>;
	dueForRotation: number;
	remindersDue: number;
	expiringWithin30Days: number;
	expired: number;
}

export interface Pattern {
	pattern: string;
	message: string;
}

export interface Rules {
	secretName: Pattern;
	environmentName: Pattern;
	tag: Pattern;
	namePattern: Pattern;
	subject: Pattern;
	ttl: Pattern & { examples: string[] };
	types: string[];
	rotationPolicies: string[];
	roles: Record<string, string[]>;
	auditActions: string[];
	recoveryWindowDays: number;
}

export interface SessionInfo {
	csrfToken: string;
	tenant: string;
	subject: string;
	role: string | null;
	scopes: string[];
	environments: string[];
	secrets: string[];
	idleTimeoutSeconds: number;
	expiresAt: string;
}
