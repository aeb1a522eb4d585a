// Address syntax and scope. Strict on purpose: a value that reaches an A or AAAA record must be
// exactly one unambiguous address, and an address the world cannot reach must not be published
// by accident.
import ipaddr from 'ipaddr.js';

export type AddressScope =
  | 'public'
  | 'private'
  | 'loopback'
  | 'link-local'
  | 'cgnat'
  | 'multicast'
  | 'documentation'
  | 'benchmarking'
  | 'unspecified'
  | 'broadcast'
  | 'reserved'
  | 'ipv4-mapped'
  | 'ipv4-translated'
  | 'nat64'
  | 'discard'
  | 'unique-local'
  | 'site-local'
  | 'teredo'
  | '6to4';

/** The address unchanged when it is a strict dotted quad (no leading zeros, no shorthand), else undefined. */
export function parseIpv4(text: string): string | undefined {
  return ipaddr.IPv4.isValidFourPartDecimal(text) ? text : undefined;
}

/**
 * The RFC 5952 form of any valid textual IPv6 address, else undefined. Zone ids (`%eth0`) are refused:
 * they mean nothing outside the host. The embedded IPv4 tail is parsed here rather than by ipaddr.js,
 * which accepts `01.2.3.4` there and reads the deprecated `::1.2.3.4` as an IPv4-mapped address.
 */
export function parseIpv6(text: string): string | undefined {
  if (text.includes('%')) return undefined;
  const hexText = text.includes('.') ? replaceIpv4Tail(text) : text;
  if (hexText === undefined || !ipaddr.IPv6.isValid(hexText)) return undefined;
  return ipaddr.IPv6.parse(hexText).toRFC5952String();
}

function replaceIpv4Tail(text: string): string | undefined {
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (lastColon < 0 || !ipaddr.IPv4.isValidFourPartDecimal(tail)) return undefined;
  const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(tail).octets;
  const hexGroups = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  return text.slice(0, lastColon + 1) + hexGroups;
}

type RangeTable = [scope: AddressScope, cidr: string][];

// Most specific first: the first match wins.
const ipv4Ranges: RangeTable = [
  ['unspecified', '0.0.0.0/8'],
  ['private', '10.0.0.0/8'],
  ['cgnat', '100.64.0.0/10'],
  ['loopback', '127.0.0.0/8'],
  ['link-local', '169.254.0.0/16'],
  ['private', '172.16.0.0/12'],
  ['reserved', '192.0.0.0/24'],
  ['documentation', '192.0.2.0/24'],
  ['reserved', '192.88.99.0/24'],
  ['private', '192.168.0.0/16'],
  ['benchmarking', '198.18.0.0/15'],
  ['documentation', '198.51.100.0/24'],
  ['documentation', '203.0.113.0/24'],
  ['multicast', '224.0.0.0/4'],
  ['broadcast', '255.255.255.255/32'],
  ['reserved', '240.0.0.0/4'],
];

// Global unicast is 2000::/3; everything outside it is classified for a clear reason, then 'reserved'.
const ipv6Ranges: RangeTable = [
  ['unspecified', '::/128'],
  ['loopback', '::1/128'],
  ['ipv4-mapped', '::ffff:0:0/96'],
  ['ipv4-translated', '::ffff:0:0:0/96'],
  ['nat64', '64:ff9b::/96'],
  ['nat64', '64:ff9b:1::/48'],
  ['discard', '100::/64'],
  ['teredo', '2001::/32'],
  ['benchmarking', '2001:2::/48'],
  ['reserved', '2001::/23'],
  ['documentation', '2001:db8::/32'],
  ['6to4', '2002::/16'],
  ['documentation', '3fff::/20'],
  ['public', '2000::/3'],
  ['unique-local', 'fc00::/7'],
  ['link-local', 'fe80::/10'],
  ['site-local', 'fec0::/10'],
  ['multicast', 'ff00::/8'],
];

const parsedIpv4Ranges = ipv4Ranges.map(([scope, cidr]) => [scope, ipaddr.IPv4.parseCIDR(cidr)] as const);
const parsedIpv6Ranges = ipv6Ranges.map(([scope, cidr]) => [scope, ipaddr.IPv6.parseCIDR(cidr)] as const);

/** The scope of an address already accepted by parseIpv4. */
export function ipv4Scope(address: string): AddressScope {
  const parsed = ipaddr.IPv4.parse(address);
  return parsedIpv4Ranges.find(([, range]) => parsed.match(range))?.[0] ?? 'public';
}

/** The scope of an address already accepted by parseIpv6. */
export function ipv6Scope(address: string): AddressScope {
  const parsed = ipaddr.IPv6.parse(address);
  return parsedIpv6Ranges.find(([, range]) => parsed.match(range))?.[0] ?? 'reserved';
}

// Scopes a machine can really hold on a private network: a zone with allowPrivate may publish them.
// The others (unspecified, multicast, broadcast, reserved, translation prefixes) never name one host.
const privateHostScopes: ReadonlySet<AddressScope> = new Set<AddressScope>([
  'private',
  'loopback',
  'link-local',
  'cgnat',
  'documentation',
  'benchmarking',
  'unique-local',
  'site-local',
]);

export function isPublishable(scope: AddressScope, allowPrivate: boolean): boolean {
  return scope === 'public' || (allowPrivate && privateHostScopes.has(scope));
}
