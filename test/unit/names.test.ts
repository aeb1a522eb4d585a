// Record names as r53dyn accepts them (docs/design.md §3.1): plain lower-case labels, room for the registry
// prefix, first labels starting with _r53dyn reserved (§3.3, §3.4), and the zone a name belongs to.
import type { Allowlist } from '../../handlers/core/model';
import {
  normaliseRecordName,
  normaliseZoneSuffix,
  relativeName,
  zoneForRecord,
} from '../../handlers/core/names';
import { registryName } from '../../handlers/core/registry';
import { zoneWith } from '../helpers/messages';

const zone = (hostedZoneId: string, suffix: string) => zoneWith({ hostedZoneId, suffix });

describe('normaliseRecordName', () => {
  test.each([
    ['web.dyn.example.com', 'web.dyn.example.com.'],
    ['web.dyn.example.com.', 'web.dyn.example.com.'],
    ['WEB.Dyn.Example.COM', 'web.dyn.example.com.'],
    ['xn--caf-dma.dyn.example.com', 'xn--caf-dma.dyn.example.com.'],
    ['_acme.a-1.b_2.dyn.example.com', '_acme.a-1.b_2.dyn.example.com.'],
    ['web._r53dyn.dyn.example.com', 'web._r53dyn.dyn.example.com.'],
    [`${'a'.repeat(63)}.example.com`, `${'a'.repeat(63)}.example.com.`],
  ])('%s becomes %s', (raw, name) => {
    expect(normaliseRecordName(raw)).toEqual({ ok: true, name });
  });

  test('accepts 245 octets, leaving room for the registry prefix', () => {
    // Arrange
    const raw = [...Array(3).fill('a'.repeat(63)), 'b'.repeat(53)].join('.');

    // Act
    const result = normaliseRecordName(raw);

    // Assert
    expect([raw.length, result]).toEqual([245, { ok: true, name: `${raw}.` }]);
    expect(registryName(`${raw}.`).length - 1).toBe(253);
  });

  test.each([
    ['', 'is empty'],
    ['.', 'is empty'],
    ['*.dyn.example.com', 'contains a wildcard (*)'],
    ['\\052.dyn.example.com', 'contains an escape (\\)'],
    ['web\u0000.dyn.example.com', 'contains a control character'],
    ['web\u0085.dyn.example.com', 'contains a control character'],
    [
      'café.dyn.example.com',
      'contains non-ASCII characters; write internationalised labels in punycode (xn--)',
    ],
    ['web..dyn.example.com', 'has an empty label'],
    ['.web.dyn.example.com', 'has an empty label'],
    ['web.dyn.example.com..', 'has an empty label'],
    [`${'a'.repeat(64)}.example.com`, 'has a label longer than 63 octets'],
    ['web site.example.com', 'label "web site" has characters outside a-z, 0-9, - and _'],
    ['web+1.example.com', 'label "web+1" has characters outside a-z, 0-9, - and _'],
    ['-web.example.com', 'label "-web" starts or ends with a hyphen'],
    ['web.example-.com', 'label "example-" starts or ends with a hyphen'],
    [
      [...Array(3).fill('a'.repeat(63)), 'b'.repeat(54)].join('.'),
      'is longer than 245 octets (253 less room for the _r53dyn. registry prefix)',
    ],
  ])('rejects %j: %s', (raw, detail) => {
    expect(normaliseRecordName(raw)).toEqual({ ok: false, problem: { code: 'bad-record-name', detail } });
  });

  test.each([
    '_r53dyn.web.dyn.example.com',
    '_R53DYN.web.dyn.example.com',
    '_r53dyn-gone.dyn.example.com',
    '_r53dynx.dyn.example.com',
    '_r53dyn',
  ])('reserves %j: its first label starts with _r53dyn', (raw) => {
    expect(normaliseRecordName(raw)).toEqual({
      ok: false,
      problem: {
        code: 'reserved-record-name',
        detail: "starts with _r53dyn: first labels starting so are reserved for r53dyn's own records",
      },
    });
  });

  test.each(['web._r53dyn.dyn.example.com', 'x_r53dyn.dyn.example.com', '_r53dy.dyn.example.com'])(
    'accepts %j: _r53dyn only reserves first labels that start with it',
    (raw) => {
      expect(normaliseRecordName(raw)).toEqual({ ok: true, name: `${raw}.` });
    },
  );
});

describe('normaliseZoneSuffix', () => {
  test('lower-cases and drops the trailing dot', () => {
    expect(normaliseZoneSuffix('Dyn.Example.COM.')).toEqual({ ok: true, name: 'dyn.example.com' });
  });

  test('allows a full 253-octet name', () => {
    // Arrange
    const raw = [...Array(3).fill('a'.repeat(63)), 'b'.repeat(61)].join('.');

    // Act / Assert
    expect(normaliseZoneSuffix(raw)).toEqual({ ok: true, name: raw });
  });

  test('rejects a wildcard', () => {
    expect(normaliseZoneSuffix('*.example.com')).toEqual({
      ok: false,
      problem: { code: 'bad-record-name', detail: 'contains a wildcard (*)' },
    });
  });
});

describe('zoneForRecord', () => {
  const parent = zone('ZPARENT', 'example.com');
  const dyn = zone('ZDYN', 'dyn.example.com');
  const allowlist: Allowlist = { zones: [parent, dyn] };

  test.each([
    ['web.dyn.example.com.', dyn],
    ['a.b.dyn.example.com.', dyn],
    ['dyn.example.com.', parent],
    ['evildyn.example.com.', parent],
    ['www.example.com.', parent],
  ])('%s belongs to the longest matching suffix', (record, expected) => {
    expect(zoneForRecord(allowlist, record)).toBe(expected);
  });

  test.each(['example.com.', 'example.org.', 'web.example.com.evil.org.', 'xexample.com.'])(
    '%s belongs to no zone',
    (record) => {
      expect(zoneForRecord(allowlist, record)).toBeUndefined();
    },
  );

  test('the order of the zones does not matter', () => {
    expect(zoneForRecord({ zones: [dyn, parent] }, 'web.dyn.example.com.')).toBe(dyn);
  });

  test('an empty allowlist allows nothing', () => {
    expect(zoneForRecord({ zones: [] }, 'web.dyn.example.com.')).toBeUndefined();
  });
});

describe('relativeName', () => {
  const dyn = zone('ZDYN', 'dyn.example.com');

  test.each([
    ['web.dyn.example.com.', 'web'],
    ['a.b.dyn.example.com.', 'a.b'],
    ['web.dyn.example.com', 'web'],
  ])('%s is %s below the zone', (record, relative) => {
    expect(relativeName(record, dyn)).toBe(relative);
  });

  test('a name not below the zone is a programming error', () => {
    expect(() => relativeName('evildyn.example.com.', dyn)).toThrow(
      new RangeError('evildyn.example.com. is not below dyn.example.com'),
    );
  });
});
