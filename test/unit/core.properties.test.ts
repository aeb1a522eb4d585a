import fc from 'fast-check';
import { measureChanges, ROUTE53_LIMITS } from '../../handlers/core/limits';
import type { Change, Message, RecordSet, ZoneRule } from '../../handlers/core/model';
import { type PlanRejection, planRecord, type RecordPlan, splitZonePlan } from '../../handlers/core/plan';
import { foldMessages, readRecordState } from '../../handlers/core/record-state';
import { encodeOwnerEntry, type OwnerEntry } from '../../handlers/core/registry';
import { Route53Fake } from '../helpers/route53-fake';

const OWNER = 'r53dyn-local';
const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
const NAMES = ['a.dyn.example.test.', 'b.dyn.example.test.', 'hand.dyn.example.test.'];
const HAND_MADE: RecordSet = {
  Name: 'hand.dyn.example.test.',
  Type: 'A',
  TTL: 300,
  ResourceRecords: [{ Value: '203.0.113.5' }],
};
const FOREIGN = '"r53dyn=1;o=r53dyn-prod;i=i-0000000f;4=198.51.100.15;t=1;s=up"';

// Small pools, so that instances, addresses and timestamps collide and ties get exercised.
const instanceId = fc.constantFrom('i-00000001', 'i-00000002', 'i-00000003', 'i-00000004', 'i-00000005');
const ipv4 = fc.option(fc.constantFrom('192.0.2.1', '192.0.2.2', '198.51.100.3'), { nil: undefined });
const ipv6 = fc.option(fc.constantFrom('2001:db8::1', '2001:db8::2'), { nil: undefined });
const sentAt = fc.oneof(
  fc.integer({ min: 0, max: 5 }).map((k) => NOW - k * 1000),
  fc.integer({ min: NOW - 2 * HOUR, max: NOW }),
);
const messageId = fc.integer({ min: 1, max: 1_000_000 }).map((n) => `m-${n}`);

const zone: fc.Arbitrary<ZoneRule> = fc.record({
  hostedZoneId: fc.constant('Z1TESTZONE00000000001'),
  suffix: fc.constant('dyn.example.test'),
  ttl: fc.constant(60),
  types: fc.constantFrom<ZoneRule['types']>(['A'], ['AAAA'], ['A', 'AAAA']),
  maxValuesPerRecord: fc.integer({ min: 2, max: 6 }),
  leaseSeconds: fc.constantFrom(0, 600, 7200),
  allowPrivate: fc.constant(false),
});

const message: fc.Arbitrary<Message> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        kind: fc.constantFrom('register' as const, 'heartbeat' as const, 'deregister' as const),
        messageId,
        record: fc.constantFrom(...NAMES),
        hostedZoneId: fc.constant('Z1TESTZONE00000000001'),
        instanceId,
        ipv4,
        ipv6,
        sentAt,
      })
      .map((m) => {
        // Optional fields are absent, not undefined, as the parser produces them.
        const { ipv4: v4, ipv6: v6, ...rest } = m;
        return {
          ...rest,
          ...(v4 === undefined ? {} : { ipv4: v4 }),
          ...(v6 === undefined ? {} : { ipv6: v6 }),
        };
      }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('instance-gone' as const), messageId, instanceId, sentAt }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sweep' as const), messageId, sentAt }) },
);

const entry: fc.Arbitrary<OwnerEntry> = fc
  .record({ instanceId, ipv4, ipv6, t: sentAt, state: fc.constantFrom('up' as const, 'gone' as const) })
  .map(({ ipv4: v4, ipv6: v6, ...rest }) => ({
    ...rest,
    ...(v4 === undefined ? {} : { ipv4: v4 }),
    ...(v6 === undefined ? {} : { ipv6: v6 }),
  }));

/** A registry TXT as some earlier run (or another stack) left it. */
const registry = (name: string) =>
  fc.record({ entries: fc.array(entry, { minLength: 1, maxLength: 5 }), foreign: fc.boolean() }).map(
    ({ entries, foreign }): RecordSet => ({
      Name: `_r53dyn.${name}`,
      Type: 'TXT',
      TTL: 60,
      ResourceRecords: [...(foreign ? [FOREIGN] : []), ...entries.map((e) => encodeOwnerEntry(OWNER, e))].map(
        (Value) => ({ Value }),
      ),
    }),
  );

/** Plans every record of the zone from one read, the way the batcher does. */
function planZone(rrsets: RecordSet[], rule: ZoneRule, messages: Message[], now: number) {
  const plans: RecordPlan[] = [];
  const rejections: PlanRejection[] = [];
  const desired = new Map<string, OwnerEntry[]>();
  for (const name of NAMES) {
    const before = readRecordState(name, rule, rrsets, OWNER);
    const ids = messages.filter((m) => !('record' in m) || m.record === name).map((m) => m.messageId);
    const after = foldMessages(before, messages, now);
    const result = planRecord(before, after, now, OWNER, ids);
    if (result === undefined) continue;
    if ('changes' in result) {
      plans.push(result);
      desired.set(name, after.entries);
    } else {
      rejections.push(result);
    }
  }
  return { plans, rejections, desired, parts: splitZonePlan(rule.hostedZoneId, plans) };
}

/** Every planned part must apply to the state it was planned from: the compare-and-swap DELETEs match. */
function planAndApply(fake: Route53Fake, rule: ZoneRule, messages: Message[], now: number) {
  const planned = planZone(fake.list(), rule, messages, now);
  for (const part of planned.parts) fake.changeResourceRecordSets(part.changes);
  return planned;
}

describe('core properties', () => {
  it('folds the same messages to the same state in any order and with any duplication', () => {
    fc.assert(
      fc.property(
        zone,
        fc.option(registry(NAMES[0] ?? ''), { nil: undefined }),
        fc
          .array(message, { maxLength: 25 })
          .chain((messages) =>
            fc.tuple(
              fc.constant(messages),
              fc.shuffledSubarray(messages, { minLength: messages.length }),
              fc.array(fc.constantFrom(...(messages.length > 0 ? messages : [undefined])), { maxLength: 10 }),
            ),
          ),
        (rule, txt, [messages, shuffled, extra]) => {
          const state = readRecordState(NAMES[0] ?? '', rule, txt ? [txt] : [], OWNER);
          const duplicated = [...shuffled, ...extra.filter((m): m is Message => m !== undefined)];

          const once = foldMessages(state, messages, NOW);
          const reordered = foldMessages(state, duplicated, NOW);
          const twice = foldMessages(once, messages, NOW);

          expect(reordered).toEqual(once);
          expect(twice).toEqual(once);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes exactly the planned state, and planning that state against itself is empty', () => {
    fc.assert(
      fc.property(
        zone,
        fc.option(registry(NAMES[1] ?? ''), { nil: undefined }),
        fc.array(message, { maxLength: 20 }),
        fc.array(message, { maxLength: 20 }),
        (rule, txt, first, second) => {
          const fake = new Route53Fake([HAND_MADE, ...(txt ? [txt] : [])]);
          planAndApply(fake, rule, first, NOW);
          const { desired, rejections } = planAndApply(fake, rule, second, NOW + 1000);
          const rrsets = fake.list();

          for (const [name, entries] of desired) {
            const written = readRecordState(name, rule, rrsets, OWNER);
            const a = rrsets.find((r) => r.Name === name && r.Type === 'A');
            const ipv4 = [...new Set(entries.flatMap((e) => (e.state === 'up' && e.ipv4) || []))].sort();
            expect(written.entries).toEqual(entries);
            if (rule.types.includes('A')) expect(a?.ResourceRecords?.map((r) => r.Value) ?? []).toEqual(ipv4);
          }
          // A rejected record may hold a state this configuration would not write (e.g. seeded over the bound).
          const rejected = new Set(rejections.map((r) => r.record));
          for (const name of NAMES.filter((n) => !rejected.has(n))) {
            const state = readRecordState(name, rule, rrsets, OWNER);
            expect(planRecord(state, state, NOW + 1000, OWNER, ['m-x'])).toBeUndefined();
          }
          expect(rrsets).toContainEqual(HAND_MADE);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never puts more in a part than Route 53 accepts, and places every record exactly once', () => {
    const value = fc.string({ minLength: 1, maxLength: 80 });
    const plan = fc
      .record({
        label: fc.stringMatching(/^[a-z]{1,6}$/),
        sets: fc.array(fc.array(value, { minLength: 1, maxLength: 120 }), { minLength: 1, maxLength: 3 }),
        ids: fc.array(messageId, { maxLength: 4 }),
      })
      .map(({ label, sets, ids }): RecordPlan => {
        const name = `${label}.dyn.example.test.`;
        const changes: Change[] = sets.map((values, i) => ({
          Action: i % 2 === 0 ? 'CREATE' : 'DELETE',
          ResourceRecordSet: {
            Name: name,
            Type: 'TXT',
            TTL: 60,
            ResourceRecords: values.map((Value) => ({ Value })),
          },
        }));
        return { record: name, relativeName: label, changes, added: [], removed: [], messageIds: ids };
      });
    const plans = fc.uniqueArray(plan, { selector: (p) => p.record, maxLength: 40 });

    fc.assert(
      fc.property(plans, (input) => {
        const parts = splitZonePlan('Z1TESTZONE00000000001', input);

        for (const part of parts) {
          const size = measureChanges(part.changes);
          expect(size.elements).toBeLessThanOrEqual(ROUTE53_LIMITS.elementsPerBatch);
          expect(size.characters).toBeLessThanOrEqual(ROUTE53_LIMITS.charactersPerBatch);
          expect(part.changes).toEqual(part.records.flatMap((r) => r.changes));
          expect([part.index, part.count]).toEqual([parts.indexOf(part) + 1, parts.length]);
        }
        const placed = parts.flatMap((part) => part.records.map((r) => r.record));
        expect([...placed].sort()).toEqual(input.map((p) => p.record).sort());
        const inputIds = new Set(input.flatMap((p) => p.messageIds));
        for (const id of parts.flatMap((part) => part.messageIds)) expect(inputIds).toContain(id);
      }),
      { numRuns: 200 },
    );
  });

  it('reports only message ids from the input, in parts and rejections alike', () => {
    fc.assert(
      fc.property(zone, fc.array(message, { maxLength: 30 }), (rule, messages) => {
        const { parts, rejections } = planZone([HAND_MADE], rule, messages, NOW);

        const inputIds = new Set(messages.map((m) => m.messageId));
        const reported = [...parts.flatMap((p) => p.messageIds), ...rejections.flatMap((r) => r.messageIds)];
        for (const id of reported) expect(inputIds).toContain(id);
        for (const part of parts) expect(part.changes.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
