import ipaddr from 'ipaddr.js';

import { isCode } from '../../src/core/errors';
import { AddressGuard, parseAllowList, specialPurpose } from '../../src/server/address-guard';

/** Every range refused, with the word its refusal names: IANA's non-global blocks and multicast. */
const V4_RANGES: [string, string][] = [
	['0.0.0.0/8', 'this network'],
	['10.0.0.0/8', 'private'],
	['100.64.0.0/10', 'carrier-grade NAT'],
	['127.0.0.0/8', 'loopback'],
	['169.254.0.0/16', 'link-local'],
	['172.16.0.0/12', 'private'],
	['192.0.0.0/24', 'IETF protocol assignment'],
	['192.0.2.0/24', 'TEST-NET-1'],
	['192.88.99.0/24', '6to4 relay anycast'],
	['192.168.0.0/16', 'private'],
	['198.18.0.0/15', 'benchmarking'],
	['198.51.100.0/24', 'TEST-NET-2'],
	['203.0.113.0/24', 'TEST-NET-3'],
	['224.0.0.0/4', 'multicast'],
	['255.255.255.255/32', 'broadcast'],
	['240.0.0.0/4', 'reserved'],
];

/** The name the refusal of `address` gives: the first range of the table that holds it. */
const whyV4 = (address: string): string | undefined =>
	V4_RANGES.find(([cidr]) => ipaddr.IPv4.parse(address).match(ipaddr.IPv4.parseCIDR(cidr)))?.[1];

const V6_RANGES: [string, string][] = [
	['::/128', 'unspecified'],
	['::1/128', 'loopback'],
	['64:ff9b:1::/48', 'local-use NAT64'],
	['100::/64', 'discard-only'],
	['100:0:0:1::/64', 'dummy'],
	['2001::/32', 'Teredo'],
	['2001:2::/48', 'benchmarking'],
	['2001:10::/28', 'IETF protocol assignment'],
	['2001:db8::/32', 'documentation'],
	['3fff::/20', 'documentation'],
	['5f00::/16', 'segment routing'],
	['fc00::/7', 'unique-local'],
	['fe80::/10', 'link-local'],
	['fec0::/10', 'site-local'],
	['ff00::/8', 'multicast'],
	['4000::/2', 'reserved'],
	['::2:0:0/96', 'reserved'],
];

const PUBLIC_V4 = [
	'8.8.8.8',
	'1.1.1.1',
	'93.184.215.14',
	'192.31.196.1', // AS112, globally reachable
	'192.52.193.1', // AMT, globally reachable
	'192.175.48.1',
];

const PUBLIC_V6 = [
	'2606:4700:4700::1111',
	'2001:4860:4860::8888',
	'2001:1::1', // PCP anycast, globally reachable inside 2001::/23
	'2001:1::2', // TURN anycast
	'2001:1::3', // DNS-SD SRP anycast
	'2001:3::1', // AMT
	'2001:4:112::1', // AS112
	'2001:20::1', // ORCHIDv2
	'2001:2f:ffff::1', // ORCHIDv2, last /32 of the /28
	'2001:30::1', // DRIP DETs
	'2001:3f:ffff::1', // DRIP DETs, last /32 of the /28
	'2620:4f:8000::1', // AS112 direct delegation
	'2a00:1450:4001:80b::200e',
];

function v4(n: number): string {
	return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
function v4Number(a: string): number {
	return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** The first and last address of a range, and its neighbours just outside. */
function edgesV4(cidr: string): { inside: string[]; outside: string[] } {
	const first = v4Number(ipaddr.IPv4.networkAddressFromCIDR(cidr).toString());
	const last = v4Number(ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString());
	const mid = Math.floor((first + last) / 2);
	return {
		inside: [...new Set([first, mid, last])].map(v4),
		outside: [first - 1, last + 1].filter((n) => n >= 0 && n <= 0xffffffff).map(v4),
	};
}

function edgesV6(cidr: string): string[] {
	return [
		ipaddr.IPv6.networkAddressFromCIDR(cidr).toString(),
		ipaddr.IPv6.broadcastAddressFromCIDR(cidr).toString(),
	];
}

const hex = (a: string): [string, string] => {
	const o = a.split('.').map(Number);
	return [((o[0] << 8) | o[1]).toString(16), ((o[2] << 8) | o[3]).toString(16)];
};

/** The IPv6 forms that carry an IPv4 address: mapped (dotted and hex), compatible, NAT64, 6to4. */
function embeddings(a: string): [string, string][] {
	const [hi, lo] = hex(a);
	return [
		[`::ffff:${a}`, 'IPv4-mapped'],
		[`::ffff:${hi}:${lo}`, 'IPv4-mapped'],
		[`0:0:0:0:0:ffff:${hi}:${lo}`, 'IPv4-mapped'],
		[`::${a}`, 'IPv4-compatible'],
		[`64:ff9b::${a}`, 'NAT64'],
		[`64:ff9b::${hi}:${lo}`, 'NAT64'],
		[`2002:${hi}:${lo}::1`, '6to4'],
		[`2002:${hi}:${lo}:ffff:ffff:ffff:ffff:ffff`, '6to4'],
	];
}

const isPublic = (a: string): boolean => specialPurpose(a) === undefined;

describe('specialPurpose: IPv4', () => {
	const cases = V4_RANGES.flatMap(([cidr]) =>
		edgesV4(cidr).inside.map((a) => [a, cidr, whyV4(a) as string] as const),
	);

	it.each(cases)('refuses %s (%s) as %s', (address, _cidr, why) => {
		expect(specialPurpose(address)).toContain(why);
	});

	it.each(cases)('refuses %s (%s) in every IPv6 form that carries it', (address, _cidr, why) => {
		for (const [form, name] of embeddings(address)) {
			const got = specialPurpose(form);
			// ::0.0.0.0 and ::0.0.0.1 are :: and ::1, refused under their own names.
			const own = /^::0\.0\.0\.[01]$/.test(form);
			const ok = own ? got !== undefined : got?.startsWith(`${name} `) && got.includes(why);
			expect({ form, got, ok }).toEqual({ form, got, ok: true });
		}
	});

	it('allows the neighbours just outside each range unless another range holds them', () => {
		const outside = V4_RANGES.flatMap(([cidr]) => edgesV4(cidr).outside);
		const expected = outside.map((a) => [a, whyV4(a) === undefined]);
		expect(outside.map((a) => [a, isPublic(a)])).toEqual(expected);
		// The table is not vacuous: most neighbours are ordinary public addresses.
		expect(expected.filter(([, pub]) => pub).length).toBeGreaterThan(15);
	});

	it.each(PUBLIC_V4)('allows the public address %s and its mapped, NAT64 and 6to4 forms', (a) => {
		expect(specialPurpose(a)).toBeUndefined();
		for (const [form] of embeddings(a))
			expect({ form, why: specialPurpose(form) }).toEqual({ form });
	});
});

describe('specialPurpose: IPv6', () => {
	const cases = V6_RANGES.flatMap(([cidr, why]) =>
		edgesV6(cidr).map((a) => [a, cidr, why] as const),
	);

	it.each(cases)('refuses %s (%s) as %s', (address, _cidr, why) => {
		expect(specialPurpose(address)).toContain(why);
	});

	it.each(PUBLIC_V6)('allows the public address %s', (a) => {
		expect(specialPurpose(a)).toBeUndefined();
	});

	it('treats all of the IPv6 space outside 2000::/3 as reserved, and 2000::/3 edges as public', () => {
		for (const a of ['1::1', '1fff:ffff::1', '4000::1', '8000::1', 'e000::1', 'fbff::1'])
			expect({ a, why: specialPurpose(a) }).toEqual({ a, why: 'reserved' });
		for (const a of ['2000::1', '3ffe:ffff::1', '2003::1', '2001:200::1'])
			expect({ a, why: specialPurpose(a) }).toEqual({ a });
	});

	it('refuses the rest of 2001::/23 around its global services', () => {
		for (const a of ['2001:1::', '2001:1::4', '2001:1:0:1::1', '2001:40::1', '2001:1ff:ffff::1'])
			expect({ a, why: specialPurpose(a) }).toEqual({ a, why: 'IETF protocol assignment' });
	});

	it('refuses what it cannot read as an address rather than guess', () => {
		for (const text of [
			'',
			'localhost',
			'0177.0.0.1',
			'0x7f.1',
			'2130706433',
			'127.1',
			'1.2.3.4.5',
		])
			expect({ text, why: specialPurpose(text) }).toEqual({ text, why: 'not an IP address' });
	});

	it('reads brackets and zone ids', () => {
		expect(specialPurpose('[::1]')).toBe('loopback');
		expect(specialPurpose('fe80::1%eth0')).toBe('link-local');
		expect(specialPurpose('[2606:4700:4700::1111]')).toBeUndefined();
	});
});

describe('specialPurpose: every spelling of an address', () => {
	it.each<[string, string]>([
		// IPv6 loopback and unspecified, compressed or not, leading zeros, brackets.
		['0:0:0:0:0:0:0:1', 'loopback'],
		['0000:0000:0000:0000:0000:0000:0000:0001', 'loopback'],
		['0000::0001', 'loopback'],
		['::0:1', 'loopback'],
		['[0:0::1]', 'loopback'],
		['0:0:0:0:0:0:0:0', 'unspecified'],
		['::0.0.0.0', 'unspecified'],
		// IPv4-mapped: upper case, written out, dotted tail in the long form, brackets, a zone id.
		['::FFFF:7F00:1', 'IPv4-mapped loopback'],
		['0000:0000:0000:0000:0000:ffff:7f00:0001', 'IPv4-mapped loopback'],
		['0:0:0:0:0:ffff:127.0.0.1', 'IPv4-mapped loopback'],
		['[::ffff:127.0.0.1]', 'IPv4-mapped loopback'],
		['::ffff:127.0.0.1%eth0', 'IPv4-mapped loopback'],
		['::ffff:a9fe:a9fe', 'IPv4-mapped link-local'],
		// NAT64 and 6to4 in upper case and with zeros written out.
		['64:FF9B::A00:1', 'NAT64 private'],
		['0064:ff9b:0000::10.0.0.1', 'NAT64 private'],
		['2002:0A00:0001::', '6to4 private'],
		// IPv4-translated (::ffff:0:0:0/96) is no embedding the guard reads: refused all the same.
		['::ffff:0:127.0.0.1', 'reserved'],
		['::ffff:0:808:808', 'reserved'],
		// Native IPv6 in upper case and with a zone id.
		['FE80::1', 'link-local'],
		['fe80::1%eth0', 'link-local'],
		['FF02::1', 'multicast'],
		['FD00:EC2::254', 'unique-local'],
		['2001:0DB8::1', 'documentation'],
	])('refuses %s (%s)', (address, why) => {
		expect(specialPurpose(address)).toContain(why);
	});

	it.each([
		'::FFFF:8.8.8.8',
		'0:0:0:0:0:ffff:808:808',
		'[2606:4700:4700::1111]',
		'2606:4700:4700:0:0:0:0:1111',
	])('allows the public address %s in that spelling', (address) => {
		expect(specialPurpose(address)).toBeUndefined();
	});

	it.each([
		'127.000.000.001',
		'127.0.0.01',
		'127.0.0.1.',
		' 127.0.0.1',
		'127.0.0.1 ',
		'127.0.0.1%eth0',
		'127.0.0.1/32',
		'::1/128',
		'::ffff:0177.0.0.1',
		'::ffff:127.0.0.256',
		'::1.2.3',
		'[::1',
		'::1]',
		'[[::1]]',
		'1::2::3',
		':::1',
		'fe80::1%',
	])(
		'answers %j "not an IP address": forms the network stack would not give are not guessed',
		(text) => {
			expect(specialPurpose(text)).toBe('not an IP address');
		},
	);
});

describe('AddressGuard', () => {
	it('refuses with DESTINATION_NOT_ALLOWED naming the host, the address and the way to allow it', () => {
		const err = new AddressGuard().refusal('metadata.internal', '169.254.169.254');
		expect(isCode(err, 'DESTINATION_NOT_ALLOWED')).toBe(true);
		expect(err?.message).toContain('metadata.internal (169.254.169.254)');
		expect(err?.message).toContain('link-local');
		expect(err?.message).toContain('N8N_SECRETS_RELAY_ALLOW');
		expect(new AddressGuard().refusal('8.8.8.8', '8.8.8.8')).toBeUndefined();
	});

	it('allows everything with allowAll', () => {
		const guard = new AddressGuard({ allowAll: true });
		for (const a of ['127.0.0.1', '::1', '169.254.169.254', 'ff02::1', '::ffff:10.0.0.1'])
			expect(guard.refusal(a, a)).toBeUndefined();
	});

	it('allows exactly the networks listed, in every form of their addresses', () => {
		const guard = new AddressGuard({ allow: ['127.0.0.1/32', '10.1.2.0/24', 'fd00:1::/32'] });
		const allowed = ['127.0.0.1', '::ffff:127.0.0.1', '::ffff:7f00:1', '10.1.2.0', '10.1.2.255'];
		const refused = [
			'127.0.0.2',
			'::ffff:127.0.0.2',
			'::1',
			'10.1.3.0',
			'10.1.1.255',
			'::ffff:10.1.3.1',
			// NAT64 and 6to4 forms lead elsewhere (through a gateway): the IPv4 entry does not cover them.
			'64:ff9b::7f00:1',
			'2002:7f00:1::1',
			'fd00:2::1',
			'169.254.169.254',
		];
		for (const a of allowed) expect({ a, ok: !guard.refusal(a, a) }).toEqual({ a, ok: true });
		for (const a of refused) expect({ a, ok: !guard.refusal(a, a) }).toEqual({ a, ok: false });
		expect(guard.refusal('fd00:1::5', 'fd00:1::5')).toBeUndefined();
		for (const a of [
			'FD00:1::5',
			'[fd00:1::5]',
			'fd00:0001:0000::5',
			'::FFFF:7F00:1',
			'[::ffff:127.0.0.1]',
		])
			expect({ a, ok: !guard.refusal(a, a) }).toEqual({ a, ok: true });
	});

	it('allows a host name to any address, and only that name', () => {
		const guard = new AddressGuard({ allow: ['Internal.Example.com', '192.168.1.5'] });
		expect(guard.refusal('internal.example.com', '10.9.9.9')).toBeUndefined();
		expect(guard.refusal('internal.example.com.', '127.0.0.1')).toBeUndefined();
		expect(guard.refusal('other.example.com', '10.9.9.9')).toBeDefined();
		expect(guard.refusal('evil.internal.example.com', '10.9.9.9')).toBeDefined();
		expect(guard.refusal('internal.example.com.evil.net', '10.9.9.9')).toBeDefined();
		expect(guard.refusal('anything', '192.168.1.5')).toBeUndefined();
		expect(guard.refusal('anything', '192.168.1.6')).toBeDefined();
	});

	it('reads IPv4-mapped networks as the IPv4 networks they are', () => {
		const guard = new AddressGuard({ allow: ['::ffff:10.0.0.0/104', '[::1]'] });
		expect(guard.refusal('10.200.0.1', '10.200.0.1')).toBeUndefined();
		expect(guard.refusal('11.0.0.1', '11.0.0.1')).toBeUndefined();
		expect(guard.refusal('::1', '::1')).toBeUndefined();
		expect(guard.refusal('127.0.0.1', '127.0.0.1')).toBeDefined();
	});

	it.each([
		'10.1.2.3/24',
		'10.0.0.0/33',
		'::/129',
		'10.0.0.0/8/8',
		'10.0.0.0/',
		'10.0.0.0/x',
		'http://internal.example.com',
		'internal.example.com:8080',
		'*.example.com',
		'a b',
		'1.2.3',
		'0x7f.1',
		'0177.0.0.1',
		'2130706433',
		'example.123',
		'-bad.example.com',
		'a'.repeat(64) + '.com',
	])('rejects the allow-list entry %j with INVALID_INPUT naming it', (entry) => {
		let thrown: unknown;
		try {
			new AddressGuard({ allow: [entry] });
		} catch (err) {
			thrown = err;
		}
		expect(isCode(thrown, 'INVALID_INPUT')).toBe(true);
		expect((thrown as Error).message).toContain(JSON.stringify(entry).slice(1, -1));
		expect((thrown as Error).message).toContain('N8N_SECRETS_RELAY_ALLOW');
	});

	it('accepts the documented entry forms', () => {
		for (const entry of ['10.1.2.0/24', '192.168.1.5', 'fd00::/8', '::1', 'localhost', 'a.b-c.d'])
			expect(() => new AddressGuard({ allow: [entry] })).not.toThrow();
	});
});

describe('parseAllowList', () => {
	it('splits on commas and drops blanks', () => {
		expect(parseAllowList(' 10.1.2.0/24, 192.168.1.5 ,,internal.example.com ')).toEqual([
			'10.1.2.0/24',
			'192.168.1.5',
			'internal.example.com',
		]);
		expect(parseAllowList(undefined)).toEqual([]);
		expect(parseAllowList('')).toEqual([]);
	});
});
