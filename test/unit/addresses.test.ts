import {
  type AddressScope,
  ipv4Scope,
  ipv6Scope,
  isPublishable,
  parseIpv4,
  parseIpv6,
} from '../../handlers/core/addresses';

describe('parseIpv4', () => {
  test.each(['52.95.110.1', '0.0.0.0', '255.255.255.255', '1.10.100.200'])('accepts %s unchanged', (text) => {
    expect(parseIpv4(text)).toBe(text);
  });

  test.each([
    ['three parts', '52.95.110'],
    ['five parts', '52.95.110.1.2'],
    ['a leading zero', '52.95.110.01'],
    ['a part over 255', '52.95.110.256'],
    ['hex', '0x34.95.110.1'],
    ['a single integer', '878669313'],
    ['a sign', '52.95.110.+1'],
    ['surrounding space', ' 52.95.110.1'],
    ['fullwidth digits', '\uff15\uff12.95.110.1'],
    ['a prefix length', '52.95.110.1/32'],
    ['an empty string', ''],
  ])('rejects %s', (_, text) => {
    expect(parseIpv4(text)).toBeUndefined();
  });
});

describe('parseIpv6', () => {
  test.each([
    ['2600:1F18:0000:0000:0000:0000:0000:0001', '2600:1f18::1'],
    ['2600:1f18::1', '2600:1f18::1'],
    ['2a05:d018:0:0:1:0:0:1', '2a05:d018::1:0:0:1'],
    ['2a05:d018:0:1:0:0:0:1', '2a05:d018:0:1::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2600:1f18::52.95.110.1', '2600:1f18::345f:6e01'],
    ['::ffff:52.95.110.1', '::ffff:345f:6e01'],
    // IPv4-compatible, not IPv4-mapped (ipaddr.js alone reads this one as mapped)
    ['::52.95.110.1', '::345f:6e01'],
  ])('%s is stored as %s', (text, canonical) => {
    expect(parseIpv6(text)).toBe(canonical);
  });

  test.each([
    ['two double colons', '2600::1::2'],
    ['a group of five digits', '2600:1f18::12345'],
    ['nine groups', '1:2:3:4:5:6:7:8:9'],
    ['a zone id', 'fe80::1%eth0'],
    ['a leading zero in the embedded IPv4', '::ffff:52.095.110.1'],
    ['a hex embedded IPv4', '::ffff:0x34.95.110.1'],
    ['a short embedded IPv4', '::ffff:52.95.110'],
    ['a prefix length', '2600:1f18::/64'],
    ['brackets', '[2600:1f18::1]'],
    ['surrounding space', '2600:1f18::1 '],
    ['an IPv4 address', '52.95.110.1'],
    ['an empty string', ''],
  ])('rejects %s', (_, text) => {
    expect(parseIpv6(text)).toBeUndefined();
  });
});

describe('ipv4Scope', () => {
  test.each<[string, AddressScope]>([
    ['52.95.110.1', 'public'],
    ['8.8.8.8', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['172.32.0.1', 'public'],
    ['223.255.255.255', 'public'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['192.0.0.9', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.1', 'documentation'],
    ['203.0.113.1', 'documentation'],
    ['192.88.99.1', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['255.255.255.255', 'broadcast'],
  ])('%s is %s', (address, scope) => {
    expect(ipv4Scope(address)).toBe(scope);
  });
});

describe('ipv6Scope', () => {
  test.each<[string, AddressScope]>([
    ['2600:1f18::1', 'public'],
    ['2a05:d018::1', 'public'],
    ['3ffe::1', 'public'],
    ['2001:200::1', 'public'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::ffff:345f:6e01', 'ipv4-mapped'],
    ['::ffff:0:345f:6e01', 'ipv4-translated'],
    ['64:ff9b::345f:6e01', 'nat64'],
    ['100::1', 'discard'],
    ['2001::1', 'teredo'],
    ['2001:2::1', 'benchmarking'],
    ['2001:10::1', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2002:345f:6e01::1', '6to4'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['::345f:6e01', 'reserved'],
    ['4000::1', 'reserved'],
  ])('%s is %s', (address, scope) => {
    expect(ipv6Scope(address)).toBe(scope);
  });
});

describe('isPublishable', () => {
  test('public addresses are always publishable', () => {
    expect([isPublishable('public', false), isPublishable('public', true)]).toEqual([true, true]);
  });

  test.each<AddressScope>(['private', 'loopback', 'link-local', 'cgnat', 'documentation', 'unique-local'])(
    '%s needs allowPrivate',
    (scope) => {
      expect([isPublishable(scope, false), isPublishable(scope, true)]).toEqual([false, true]);
    },
  );

  test.each<AddressScope>([
    'unspecified',
    'multicast',
    'broadcast',
    'reserved',
    'ipv4-mapped',
    'nat64',
    'teredo',
  ])('%s is never publishable, even with allowPrivate', (scope) => {
    expect([isPublishable(scope, false), isPublishable(scope, true)]).toEqual([false, false]);
  });
});
