// Compare-and-swap writes (docs/design.md §4.3): per rrset DELETE exactly what was read and CREATE what the
// entries say, in six fixed slots; records packed first fit in name order, whole, within Route 53's limits.
import { ROUTE53_LIMITS } from '../../handlers/core/contract';
import { fitsOneBatch, measureChanges } from '../../handlers/core/limits';
import type { Change, RecordSet } from '../../handlers/core/model';
import {
  packParts,
  planRecordWrite,
  type RecordTarget,
  type RecordWrite,
  slotChanges,
} from '../../handlers/core/plan';
import { encodeOwnerEntry, registryName } from '../../handlers/core/registry';
import {
  dynZone,
  fleet,
  fqdn,
  goneEntry,
  machine,
  OTHER_OWNER,
  OWNER,
  rrset,
  SENT,
  servedRRsets,
  upEntry,
} from '../helpers/messages';

const WEB = fqdn('web');
const m1 = machine(1);
const m2 = machine(2);

function target(overrides: Partial<RecordTarget>): RecordTarget {
  return {
    record: WEB,
    relativeName: 'web',
    current: {},
    registryName: registryName(WEB),
    ttl: 60,
    types: ['A', 'AAAA'],
    entries: [],
    foreign: [],
    ownerId: OWNER,
    ...overrides,
  };
}

/** What planRecordWrite reads for a record holding these rrsets. */
function read(rrsets: RecordSet[]): RecordTarget['current'] {
  const current: RecordTarget['current'] = {};
  for (const r of rrsets) {
    if (r.Type === 'A') current.a = r;
    if (r.Type === 'AAAA') current.aaaa = r;
    if (r.Type === 'TXT') current.registry = r;
  }
  return current;
}

const create = (ResourceRecordSet: RecordSet): Change => ({ Action: 'CREATE', ResourceRecordSet });
const remove = (ResourceRecordSet: RecordSet): Change => ({ Action: 'DELETE', ResourceRecordSet });
const txt = (...entries: Parameters<typeof encodeOwnerEntry>[1][]) =>
  rrset(
    registryName(WEB),
    'TXT',
    entries.map((e) => encodeOwnerEntry(OWNER, e)),
  );

function planned(t: RecordTarget): RecordWrite {
  const write = planRecordWrite(t);
  if (write === undefined || 'reason' in write)
    throw new Error(`expected a write, got ${JSON.stringify(write)}`);
  return write;
}

describe('planRecordWrite: the compare-and-swap table', () => {
  const a1 = rrset(WEB, 'A', [m1.ipv4]);
  const a12 = rrset(WEB, 'A', [m1.ipv4, m2.ipv4].sort());

  it.each([
    ['absent -> absent: nothing', undefined, [], [[], []]],
    ['absent -> values: CREATE desired', undefined, [upEntry(m1, SENT)], [[], [create(a1)]]],
    ['values -> same values: nothing', a1, [upEntry(m1, SENT)], [[], []]],
    [
      'values -> other values: DELETE as read, CREATE desired',
      a1,
      [upEntry(m1, SENT), upEntry(m2, SENT)],
      [[remove(a1)], [create(a12)]],
    ],
    [
      'values -> absent: DELETE as read',
      a12,
      [goneEntry(m1, SENT), goneEntry(m2, SENT)],
      [[remove(a12)], []],
    ],
  ])('A rrset, %s', (_, current, entries, slots) => {
    const write = planRecordWrite(target({ types: ['A'], current: current ? { a: current } : {}, entries }));

    expect(write === undefined ? [[], []] : 'slots' in write ? write.slots.slice(0, 2) : write).toEqual(
      slots,
    );
  });

  it('creates the A, AAAA and registry of a new record in their slots, and says what it adds', () => {
    const write = planned(target({ entries: [upEntry(m1, SENT)] }));
    const [a, aaaa, registry] = servedRRsets(WEB, [upEntry(m1, SENT)]) as [RecordSet, RecordSet, RecordSet];

    expect(write).toEqual({
      record: WEB,
      relativeName: 'web',
      slots: [[], [create(a)], [], [create(aaaa)], [], [create(registry)]],
      added: [m1.ipv4, m1.ipv6].sort(),
      removed: [],
      size: measureChanges([create(a), create(aaaa), create(registry)]),
    });
  });

  it('deletes each changed rrset exactly as read, without the fields the SDK adds, and leaves the others alone', () => {
    const before = [upEntry(m1, SENT), upEntry(m2, SENT)];
    const rrsets = servedRRsets(WEB, before);
    const [a, aaaa, registry] = rrsets as [RecordSet, RecordSet, RecordSet];
    const listed = { ...a, ResourceRecords: [...(a.ResourceRecords ?? [])].reverse(), Weight: undefined };
    const after = [upEntry(m1, SENT), goneEntry(m2, SENT + 1)];

    const write = planned(target({ current: read([listed, aaaa, registry]), entries: after }));

    expect(write.slots).toEqual([
      [remove({ Name: WEB, Type: 'A', TTL: 60, ResourceRecords: listed.ResourceRecords })],
      [create(rrset(WEB, 'A', [m1.ipv4]))],
      [remove(aaaa)],
      [create(rrset(WEB, 'AAAA', [m1.ipv6]))],
      [remove(registry)],
      [create(txt(upEntry(m1, SENT), goneEntry(m2, SENT + 1)))],
    ]);
    expect([write.added, write.removed]).toEqual([[], [m2.ipv4, m2.ipv6].sort()]);
  });

  it('rewrites only the registry when no address changes', () => {
    const current = read(servedRRsets(WEB, [upEntry(m1, SENT)]));

    const write = planned(target({ current, entries: [upEntry(m1, SENT + 1)] }));

    expect(write.slots.slice(0, 4)).toEqual([[], [], [], []]);
    expect(slotChanges(write.slots)).toEqual([
      remove(current.registry as RecordSet),
      create(txt(upEntry(m1, SENT + 1))),
    ]);
  });

  it('plans nothing when the entries are what Route 53 holds, whatever order it lists values in', () => {
    const entries = [upEntry(m1, SENT), upEntry(m2, SENT)];
    const rrsets = servedRRsets(WEB, entries).map((r) => ({
      ...r,
      ResourceRecords: [...(r.ResourceRecords ?? [])].reverse(),
    }));

    expect(planRecordWrite(target({ current: read(rrsets), entries }))).toBeUndefined();
  });

  it('rewrites an rrset whose TTL differs from the zone’s', () => {
    const a300 = rrset(WEB, 'A', [m1.ipv4], 300);
    const current = { ...read(servedRRsets(WEB, [upEntry(m1, SENT)])), a: a300 };

    expect(planned(target({ current, entries: [upEntry(m1, SENT)] })).slots.slice(0, 2)).toEqual([
      [remove(a300)],
      [create(rrset(WEB, 'A', [m1.ipv4]))],
    ]);
  });

  it('leaves an address type the zone does not serve as it is', () => {
    const aaaa = rrset(WEB, 'AAAA', ['2001:db8::1']);

    const write = planned(target({ types: ['A'], current: { aaaa }, entries: [upEntry(m1, SENT)] }));

    expect(write.slots[2]).toEqual([]);
    expect(write.slots[3]).toEqual([]);
  });

  it('keeps another owner’s strings first and verbatim in the registry', () => {
    const foreign = [`"r53dyn=1;o=${OTHER_OWNER};i=i-0000000f;4=198.51.100.15;t=1;s=up"`, '"v=spf1 -all"'];

    const write = planned(target({ types: ['A'], entries: [upEntry(m1, SENT)], foreign }));

    expect(write.slots[5]).toEqual([
      create(rrset(registryName(WEB), 'TXT', [...foreign, encodeOwnerEntry(OWNER, upEntry(m1, SENT))])),
    ]);
  });

  it('refuses a record whose changes cannot fit one ChangeBatch as record-too-large', () => {
    // 400 machines on A and AAAA: 400 + 400 + 400 values of 4,182 + 5,330 + 38,712 characters
    const entries = fleet(400).map((m) => upEntry(m, SENT));
    const size = measureChanges(
      slotChanges(planned(target({ types: ['A'], entries: entries.slice(0, 1) })).slots),
    );

    const write = planRecordWrite(target({ entries }));

    expect(size.elements).toBe(2);
    expect(write).toEqual({
      reason:
        `record-too-large: the changes for ${WEB} need 1200 elements and 48224 characters, ` +
        `over Route 53's ${ROUTE53_LIMITS.elementsPerBatch} and ${ROUTE53_LIMITS.charactersPerBatch} per ChangeBatch`,
    });
  });
});

describe('packParts', () => {
  /** A record write of a given size, its slots empty (packParts reads only names and sizes). */
  const sized = (label: string, elements: number, characters: number): RecordWrite => ({
    record: fqdn(label),
    relativeName: label,
    slots: [[], [], [], [], [], []],
    added: [],
    removed: [],
    size: { elements, characters },
  });
  const names = (parts: RecordWrite[][]) => parts.map((p) => p.map((w) => w.relativeName));

  it('packs whole records first fit in name order, each part within the limits', () => {
    const writes = [
      sized('d', 400, 100),
      sized('a', 600, 100),
      sized('c', 300, 31_950),
      sized('b', 400, 100),
    ];

    const parts = packParts(writes);

    expect(names(parts)).toEqual([['a', 'b'], ['c'], ['d']]);
  });

  it('fills an earlier part when a later, smaller record still fits there', () => {
    const parts = packParts([sized('a', 700, 100), sized('b', 700, 100), sized('c', 300, 100)]);

    expect(names(parts)).toEqual([['a', 'c'], ['b']]);
  });

  it('fills a part exactly to Route 53’s limits and no further', () => {
    const parts = packParts([sized('a', 999, 31_999), sized('b', 1, 1), sized('c', 1, 1)]);

    expect(names(parts)).toEqual([['a', 'b'], ['c']]);
    for (const part of parts) {
      const total = part.reduce(
        (s, w) => ({ elements: s.elements + w.size.elements, characters: s.characters + w.size.characters }),
        { elements: 0, characters: 0 },
      );
      expect(fitsOneBatch(total)).toBe(true);
    }
  });

  it('returns no parts for no writes, and refuses a record that cannot fit alone', () => {
    expect(packParts([])).toEqual([]);
    expect(() => packParts([sized('big', 1001, 1)])).toThrow(
      `the changes for ${fqdn('big')} cannot fit one ChangeBatch`,
    );
  });

  it('keeps the zone’s real writes apart once they pass a ChangeBatch together', () => {
    const writes = ['a', 'b', 'c'].map((label) =>
      planned(
        target({
          record: fqdn(label),
          relativeName: label,
          registryName: registryName(fqdn(label)),
          entries: fleet(100).map((m) => upEntry(m, SENT)),
        }),
      ),
    );

    expect(names(packParts(writes))).toEqual([['a', 'b'], ['c']]);
  });
});

describe('planned for the zone fixture', () => {
  it('uses the zone’s TTL', () => {
    expect(planned(target({ ttl: dynZone.ttl, entries: [upEntry(m1, SENT)] })).slots[1]).toEqual([
      create(rrset(WEB, 'A', [m1.ipv4], dynZone.ttl)),
    ]);
  });
});
