/**
 * Which network addresses the relay may connect to. A relay token must not turn the server into a
 * proxy into its own network (SSRF): every address the relay is about to connect to, an IP literal
 * from the URL or an address DNS gave for a name, is parsed and refused when it lies in a
 * special-purpose range that is not globally reachable (IANA's IPv4 and IPv6 special-purpose address
 * registries, plus multicast and the deprecated site-local block). Addresses that embed an IPv4
 * address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by the IPv4 address they lead to.
 * The operator can allow specific networks and host names, or everything for development.
 */
import ipaddr from 'ipaddr.js';

import { SecretsError } from '../core/errors';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

/** A range and why it is refused, as the refusal message names it. */
type Range = readonly [cidr: string, name: string];

/** IPv4 ranges no relay request may reach (RFC 6890 and successors, RFC 5771 multicast). */
const IPV4_REFUSED: readonly Range[] = [
	['0.0.0.0/8', '"this network"'],
	['10.0.0.0/8', 'private'],
	['100.64.0.0/10', 'shared (carrier-grade NAT)'],
	['127.0.0.0/8', 'loopback'],
	['169.254.0.0/16', 'link-local (cloud metadata)'],
	['172.16.0.0/12', 'private'],
	// Refused whole, the two anycast services inside (192.0.0.9, .10) included: no API lives there.
	['192.0.0.0/24', 'IETF protocol assignment'],
	['192.0.2.0/24', 'documentation (TEST-NET-1)'],
	['192.88.99.0/24', 'deprecated 6to4 relay anycast'],
	['192.168.0.0/16', 'private'],
	['198.18.0.0/15', 'benchmarking'],
	['198.51.100.0/24', 'documentation (TEST-NET-2)'],
	['203.0.113.0/24', 'documentation (TEST-NET-3)'],
	['224.0.0.0/4', 'multicast'],
	['255.255.255.255/32', 'broadcast'],
	['240.0.0.0/4', 'reserved'],
];

/**
 * IPv6 ranges no relay request may reach. The blocks that embed an IPv4 address are not here: they
 * are judged by that address (see `embeddedIPv4`). The first match names the refusal, so the more
 * specific blocks come first.
 */
const IPV6_REFUSED: readonly Range[] = [
	['::/128', 'unspecified'],
	['::1/128', 'loopback'],
	['64:ff9b:1::/48', 'local-use NAT64'],
	['100::/64', 'discard-only'],
	['100:0:0:1::/64', 'dummy'],
	['2001::/32', 'Teredo'],
	['2001:2::/48', 'benchmarking'],
	['2001:db8::/32', 'documentation'],
	['3fff::/20', 'documentation'],
	['5f00::/16', 'segment routing (SRv6)'],
	['fc00::/7', 'unique-local'],
	['fe80::/10', 'link-local'],
	['fec0::/10', 'site-local (deprecated)'],
	['ff00::/8', 'multicast'],
];

/** The globally reachable services inside 2001::/23, which is otherwise not globally reachable. */
const IPV6_GLOBAL_IN_2001_23: readonly string[] = [
	'2001:1::1/128',
	'2001:1::2/128',
	'2001:1::3/128',
	'2001:3::/32',
	'2001:4:112::/48',
	'2001:20::/28',
	'2001:30::/28',
];

const parseRanges = (ranges: readonly Range[]): [Cidr, string][] =>
	ranges.map(([cidr, name]) => [ipaddr.parseCIDR(cidr), name]);

const V4_REFUSED = parseRanges(IPV4_REFUSED);
const UNSPECIFIED = ipaddr.parseCIDR('::/128');
const LOOPBACK = ipaddr.parseCIDR('::1/128');
const V6_REFUSED = parseRanges(IPV6_REFUSED);
const V6_GLOBAL_EXCEPTIONS = IPV6_GLOBAL_IN_2001_23.map((c) => ipaddr.parseCIDR(c));
const IETF_2001_23 = ipaddr.parseCIDR('2001::/23');
/** Everything IANA has allocated for global unicast; the rest of the IPv6 space is reserved. */
const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

const EMBEDDING: readonly [Cidr, string, (a: ipaddr.IPv6) => ipaddr.IPv4][] = [
	[ipaddr.parseCIDR('::ffff:0:0/96'), 'IPv4-mapped', low32],
	// ::/96 also holds :: and ::1, which are refused before the embedding is looked at.
	[ipaddr.parseCIDR('::/96'), 'IPv4-compatible', low32],
	[ipaddr.parseCIDR('64:ff9b::/96'), 'NAT64', low32],
	[ipaddr.parseCIDR('2002::/16'), '6to4', (a) => fromParts(a.parts[1], a.parts[2])],
];

function fromParts(high: number, low: number): ipaddr.IPv4 {
	return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function low32(a: ipaddr.IPv6): ipaddr.IPv4 {
	return fromParts(a.parts[6], a.parts[7]);
}

const inRange = (a: Address, cidr: Cidr): boolean => a.kind() === cidr[0].kind() && a.match(cidr);

/**
 * Parses an address as DNS or the URL parser gives it: dotted-decimal IPv4 or IPv6, brackets allowed.
 * An IPv6 address ending in dotted IPv4 has that tail turned into hex first: ipaddr.js reads
 * `::1.2.3.4` as the IPv4-mapped `::ffff:1.2.3.4`, and this module must read every form as the
 * network stack does.
 */
function parseAddress(text: string): Address | undefined {
	const bare = text.replace(/^\[(.*)\]$/, '$1');
	if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
	if (!bare.includes(':')) return undefined;
	const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)(%.*)?$/.exec(bare);
	let v6 = bare;
	if (tail) {
		if (!ipaddr.IPv4.isValidFourPartDecimal(tail[2])) return undefined;
		const [a, b, c, d] = ipaddr.IPv4.parse(tail[2]).octets;
		v6 = `${tail[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}${tail[3] ?? ''}`;
	}
	return ipaddr.IPv6.isValid(v6) ? ipaddr.IPv6.parse(v6) : undefined;
}

/** The IPv4 address an IPv6 address leads to, with the name of the embedding; none for native IPv6. */
function embeddedIPv4(a: ipaddr.IPv6): { v4: ipaddr.IPv4; form: string } | undefined {
	if (inRange(a, UNSPECIFIED) || inRange(a, LOOPBACK)) return undefined;
	for (const [cidr, form, extract] of EMBEDDING)
		if (inRange(a, cidr)) return { v4: extract(a), form };
	return undefined;
}

/**
 * Why `address` is not globally reachable, as a short phrase ("loopback", "private", "IPv4-mapped
 * loopback"), or `undefined` when it is an ordinary public address. Text that is not an IP address
 * (dotted-decimal IPv4 or IPv6) is answered "not an IP address": the guard refuses what it cannot read.
 */
export function specialPurpose(address: string): string | undefined {
	const a = parseAddress(address);
	return a ? specialPurposeOf(a) : 'not an IP address';
}

function specialPurposeOf(a: Address): string | undefined {
	if (a.kind() === 'ipv4') return V4_REFUSED.find(([cidr]) => inRange(a, cidr))?.[1];
	const v6 = a as ipaddr.IPv6;
	const embedded = embeddedIPv4(v6);
	if (embedded) {
		const why = specialPurposeOf(embedded.v4);
		return why && `${embedded.form} ${why}`;
	}
	const refused = V6_REFUSED.find(([cidr]) => inRange(v6, cidr));
	if (refused) return refused[1];
	if (inRange(v6, IETF_2001_23))
		return V6_GLOBAL_EXCEPTIONS.some((c) => inRange(v6, c))
			? undefined
			: 'IETF protocol assignment';
	return inRange(v6, GLOBAL_UNICAST) ? undefined : 'reserved';
}

/** What the operator allows beyond the public internet. */
export interface AddressPolicy {
	/** Allow every address: loopback, private, link-local and the rest (for development only). */
	allowAll?: boolean;
	/**
	 * Networks (`10.1.2.0/24`, `fd00::/8`), addresses (`192.168.1.5`) and host names
	 * (`vault.internal.example.com`) the relay may reach although they are not public. A host name
	 * allowed here may resolve to any address.
	 */
	allow?: readonly string[];
}

/** Splits `N8N_SECRETS_RELAY_ALLOW`: comma-separated, blanks around entries ignored. */
export function parseAllowList(text: string | undefined): string[] {
	return (text ?? '')
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);
}

/** A DNS label as the URL parser leaves it: lower case letters, digits, hyphens inside. */
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Whether `name` is a DNS name the URL parser keeps as a name (a numeric last label makes IPv4). */
function isHostName(name: string): boolean {
	const labels = name.split('.');
	return (
		name.length <= 253 &&
		labels.every((l) => LABEL.test(l)) &&
		!/^(\d+|0x[0-9a-f]*)$/.test(labels[labels.length - 1])
	);
}

const normalName = (host: string): string => host.toLowerCase().replace(/\.$/, '');

/** An IPv4-mapped IPv6 network is the IPv4 network it maps: `::ffff:10.0.0.0/104` is `10.0.0.0/8`. */
function unmapped([address, bits]: Cidr): Cidr {
	if (address.kind() === 'ipv6' && bits >= 96 && (address as ipaddr.IPv6).isIPv4MappedAddress())
		return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
	return [address, bits];
}

function unmappedAddress(a: Address): Address {
	return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()
		? (a as ipaddr.IPv6).toIPv4Address()
		: a;
}

function parseEntry(entry: string): { cidr: Cidr } | { name: string } {
	const bare = entry.replace(/^\[(.*)\]$/, '$1');
	const [addr, bits, extra] = bare.split('/');
	const address = parseAddress(addr);
	if (address && extra === undefined) {
		const max = address.kind() === 'ipv4' ? 32 : 128;
		if (bits === undefined) return { cidr: unmapped([address, max]) };
		if (/^\d{1,3}$/.test(bits) && Number(bits) <= max) {
			const cidr: Cidr = [address, Number(bits)];
			// `10.1.2.3/24` is almost always a typo for `10.1.2.0/24` or `10.1.2.3/32`: say so.
			if (networkOf(cidr) === address.toString()) return { cidr: unmapped(cidr) };
		}
	} else if (!bare.includes('/')) {
		const name = normalName(entry);
		if (isHostName(name)) return { name };
	}
	throw new SecretsError(
		'INVALID_INPUT',
		`N8N_SECRETS_RELAY_ALLOW holds "${entry}", which is not an IP address, a network in CIDR ` +
			'notation with its host bits zero (10.1.2.0/24, fd00::/8) or a host name. Fix or remove it.',
	);
}

function networkOf([address, bits]: Cidr): string {
	return address.kind() === 'ipv4'
		? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`).toString()
		: ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`).toString();
}

/**
 * Decides, for one connection, whether the relay may open it. Built once from the operator's policy;
 * invalid allow-list entries throw `INVALID_INPUT` at construction, so a typo stops the server at start.
 */
export class AddressGuard {
	private readonly networks: Cidr[] = [];
	private readonly names = new Set<string>();

	constructor(private readonly policy: AddressPolicy = {}) {
		for (const entry of policy.allow ?? []) {
			const parsed = parseEntry(entry);
			if ('cidr' in parsed) this.networks.push(parsed.cidr);
			else this.names.add(parsed.name);
		}
	}

	/**
	 * The refusal for connecting to `address` on behalf of a request to `host` (the URL's host name,
	 * or the same literal), or `undefined` when the connection may be opened. `host` only matters when
	 * the operator allowed it by name.
	 */
	refusal(host: string, address: string): SecretsError | undefined {
		if (this.policy.allowAll) return undefined;
		const parsed = parseAddress(address);
		if (parsed) {
			const a = unmappedAddress(parsed);
			if (this.networks.some((cidr) => inRange(a, cidr))) return undefined;
		}
		if (this.names.has(normalName(host.replace(/^\[(.*)\]$/, '$1')))) return undefined;
		const why = parsed ? specialPurposeOf(parsed) : 'not an IP address';
		if (!why) return undefined;
		const shown = host === address ? address : `${host} (${address})`;
		return new SecretsError(
			'DESTINATION_NOT_ALLOWED',
			`The relay does not send requests to ${shown}, which is not a public address (${why}). ` +
				'An operator can allow specific networks or hosts with N8N_SECRETS_RELAY_ALLOW ' +
				'(N8N_SECRETS_RELAY_ALLOW_PRIVATE=true allows every address, for development).',
		);
	}
}
