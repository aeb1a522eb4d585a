// The ownership registry codec (docs/design.md §3.3) and the gone list's name (§3.4).
import { OWNER_ID_PATTERN, OWNER_ID_RULE } from '../../handlers/core/contract';
import {
  decodeRegistry,
  encodeOwnerEntry,
  goneListName,
  isValidOwnerId,
  mergeEntries,
  newerEntry,
  type OwnerEntry,
  registryName,
} from '../../handlers/core/registry';

const OWNER = 'r53dyn-local';
const T = 1_700_000_000_000;

describe('encodeOwnerEntry', () => {
  it('writes every field in the fixed order, quoted as Route 53 stores TXT strings', () => {
    // Arrange
    const entry: OwnerEntry = {
      instanceId: 'i-0abc1234',
      ipv4: '198.51.100.7',
      ipv6: '2001:db8::7',
      t: T,
      state: 'up',
    };

    // Act
    const value = encodeOwnerEntry(OWNER, entry);

    // Assert
    expect(value).toBe(
      '"r53dyn=1;o=r53dyn-local;i=i-0abc1234;4=198.51.100.7;6=2001:db8::7;t=1700000000000;s=up"',
    );
  });

  it('omits the address fields that are absent', () => {
    expect(
      encodeOwnerEntry(OWNER, { instanceId: 'i-0abc1234', ipv6: '2001:db8::7', t: T, state: 'up' }),
    ).toBe('"r53dyn=1;o=r53dyn-local;i=i-0abc1234;6=2001:db8::7;t=1700000000000;s=up"');
    expect(encodeOwnerEntry(OWNER, { instanceId: 'i-0abc1234', t: T, state: 'gone' })).toBe(
      '"r53dyn=1;o=r53dyn-local;i=i-0abc1234;t=1700000000000;s=gone"',
    );
  });

  it('refuses an owner id that would break the format', () => {
    const entry: OwnerEntry = { instanceId: 'i-0abc1234', t: T, state: 'up' };

    expect(() => encodeOwnerEntry('Bad;owner', entry)).toThrow(
      new Error(`invalid owner id "Bad;owner": ${OWNER_ID_RULE}`),
    );
    expect(() => encodeOwnerEntry('', entry)).toThrow(new Error(`invalid owner id "": ${OWNER_ID_RULE}`));
  });
});

describe('owner ids', () => {
  it.each([
    ['r53dyn-prod', true],
    ['0', true],
    ['a'.repeat(40), true],
    ['a'.repeat(41), false],
    ['-r53dyn', false],
    ['R53dyn', false],
    ['r53dyn_prod', false],
    ['r53;dyn', false],
    ['', false],
  ])("%j is valid: %s, by the contract's pattern", (ownerId, valid) => {
    expect([isValidOwnerId(ownerId), OWNER_ID_PATTERN.test(ownerId)]).toEqual([valid, valid]);
  });

  it("decodes an entry of every owner id the pattern allows, and only that owner's", () => {
    const longest = 'a'.repeat(40);
    const value = encodeOwnerEntry(longest, { instanceId: 'i-0abc1234', t: T, state: 'up' });

    expect(decodeRegistry([value], longest).entries).toEqual([
      { instanceId: 'i-0abc1234', t: T, state: 'up' },
    ]);
    expect(decodeRegistry([value], 'a'.repeat(39))).toEqual({ entries: [], foreign: [value] });
  });
});

describe('registryName and goneListName', () => {
  it('put the registry under _r53dyn beside its record', () => {
    expect(registryName('web.dyn.example.com.')).toBe('_r53dyn.web.dyn.example.com.');
  });

  it('keep the gone list in the registry of the reserved name _r53dyn-gone below the suffix', () => {
    expect(goneListName('dyn.example.com')).toBe('_r53dyn._r53dyn-gone.dyn.example.com.');
  });
});

describe('decodeRegistry', () => {
  it('round-trips every kind of entry', () => {
    // Arrange
    const entries: OwnerEntry[] = [
      { instanceId: '0123456789abcdef0123456789abcdef', ipv6: '2001:db8::1', t: T + 1, state: 'up' },
      { instanceId: 'i-0123456789abcdef0', ipv4: '192.0.2.1', ipv6: '2001:db8::2', t: 0, state: 'up' },
      { instanceId: 'i-0abc1234', ipv4: '198.51.100.7', t: T, state: 'gone' },
    ];

    // Act
    const decoded = decodeRegistry(
      entries.map((entry) => encodeOwnerEntry(OWNER, entry)),
      OWNER,
    );

    // Assert
    expect(decoded).toEqual({ entries, foreign: [] });
  });

  it('keeps every string that is not exactly one of ours as foreign, verbatim and in order', () => {
    // Arrange
    const ours = '"r53dyn=1;o=r53dyn-local;i=i-0abc1234;4=198.51.100.7;t=1700000000000;s=up"';
    const foreign = [
      '"r53dyn=1;o=r53dyn-prod;i=i-0abc1234;4=198.51.100.7;t=1700000000000;s=up"', // another stack
      '"r53dyn=2;o=r53dyn-local;i=i-0abc1234;t=1700000000000;s=up"', // a future version
      'r53dyn=1;o=r53dyn-local;i=i-0abc1234;t=1700000000000;s=up', // unquoted
      '"r53dyn=1;o=r53dyn-local;i=i-0abc1234;t=1700000000000"', // no state
      '"r53dyn=1;o=r53dyn-local;i=i-0abc1234;t=1700000000000;s=down"', // unknown state
      '"r53dyn=1;o=r53dyn-local;i=i-0abc1234;t=01700000000000;s=up"', // leading zero
      '"r53dyn=1;o=r53dyn-local;i=i-0abc1234;6=2001:db8::7;4=198.51.100.7;t=1;s=up"', // fields out of order
      '"r53dyn=1;o=r53dyn-local;i=i-0abc1234;t=1;s=up;x=1"', // unknown field
      '"r53dyn=1;o=r53dyn-local;i=;t=1;s=up"', // empty instance id
      '"r53dyn=1;o=r53dyn-local;i=i-1;t=99999999999999999;s=up"', // t beyond a safe integer
      '"v=spf1 -all"',
      '""',
    ];

    // Act
    const decoded = decodeRegistry([foreign[0] ?? '', ours, ...foreign.slice(1)], OWNER);

    // Assert
    expect(decoded).toEqual({
      entries: [{ instanceId: 'i-0abc1234', ipv4: '198.51.100.7', t: T, state: 'up' }],
      foreign,
    });
  });

  it('keeps only the newest entry when an instance appears twice, ordered by instance id', () => {
    // Arrange
    const values = [
      '"r53dyn=1;o=r53dyn-local;i=i-0000000b;4=192.0.2.2;t=5;s=up"',
      '"r53dyn=1;o=r53dyn-local;i=i-0000000a;4=192.0.2.1;t=7;s=up"',
      '"r53dyn=1;o=r53dyn-local;i=i-0000000b;4=192.0.2.3;t=6;s=up"',
    ];

    // Act
    const decoded = decodeRegistry(values, OWNER);

    // Assert
    expect(decoded).toEqual({
      entries: [
        { instanceId: 'i-0000000a', ipv4: '192.0.2.1', t: 7, state: 'up' },
        { instanceId: 'i-0000000b', ipv4: '192.0.2.3', t: 6, state: 'up' },
      ],
      foreign: [],
    });
  });
});

describe('newerEntry', () => {
  const up: OwnerEntry = { instanceId: 'i-0abc1234', ipv4: '192.0.2.1', t: T, state: 'up' };

  it('takes the later t whatever the state', () => {
    const gone: OwnerEntry = { instanceId: 'i-0abc1234', t: T - 1, state: 'gone' };

    expect(newerEntry(up, gone)).toBe(up);
    expect(newerEntry(gone, up)).toBe(up);
  });

  it('breaks a tie on t in favour of the tombstone, then of the larger encoding, in either order', () => {
    const gone: OwnerEntry = { instanceId: 'i-0abc1234', t: T, state: 'gone' };
    const other: OwnerEntry = { instanceId: 'i-0abc1234', ipv4: '192.0.2.9', t: T, state: 'up' };

    expect([newerEntry(up, gone), newerEntry(gone, up)]).toEqual([gone, gone]);
    expect([newerEntry(up, other), newerEntry(other, up)]).toEqual([other, other]);
    expect(mergeEntries([up, other, gone, up])).toEqual([gone]);
  });
});
