/** The store's own input rules (`GET /api/v1/rules`), so fields are checked as they are typed. */
import { get } from './api.js';
import type { Pattern, Rules } from './types.js';

let loaded: Rules | null = null;

export async function loadRules(): Promise<Rules> {
	loaded ??= await get<Rules>('/rules');
	return loaded;
}

export function rules(): Rules {
	if (!loaded) throw new Error('rules are not loaded yet');
	return loaded;
}

/** The rule's message when `value` breaks it, else null. */
export function check(rule: Pattern, value: string): string | null {
	if (new RegExp(rule.pattern).test(value)) return null;
	return rule.message.charAt(0).toUpperCase() + rule.message.slice(1);
}

/** Comma or newline separated text as a list, blanks dropped. */
export function listOf(text: string): string[] {
	return text
		.split(/[,\n]/)
		.map((s) => s.trim())
		.filter(Boolean);
}

const TYPE_LABELS: Record<string, string> = {
	API_KEY: 'API key',
	DATABASE_CREDENTIAL: 'Database credential',
	OAUTH_TOKEN: 'OAuth token',
	CERTIFICATE: 'Certificate',
	SSH_KEY: 'SSH key',
	ENCRYPTION_KEY: 'Encryption key',
	WEBHOOK_SECRET: 'Webhook secret',
	PASSWORD: 'Password',
	CUSTOM: 'Custom',
};

export function typeLabel(type: string): string {
	return TYPE_LABELS[type] ?? type;
}

const POLICY_LABELS: Record<string, string> = {
	ON_DEMAND: 'On demand',
	MANUAL: 'Manual (reminders)',
	AUTOMATIC: 'Automatic',
};

export function policyLabel(policy: string): string {
	return POLICY_LABELS[policy] ?? policy;
}

/** Types whose values are several lines (PEM blocks): a masked text area instead of a one-line field. */
export const MULTILINE_TYPES = new Set(['CERTIFICATE', 'SSH_KEY']);
/** Types the store cannot generate a valid value for (they have a structure of their own). */
export const NOT_GENERATED = new Set(['CERTIFICATE', 'SSH_KEY', 'DATABASE_CREDENTIAL']);
