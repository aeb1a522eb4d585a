// Properties of the core (docs/design.md §4.2-4.3): folding is a function of the round's messages as a set, folding
// a round again changes nothing, what a round writes is what it folded to, every part fits Route 53's limits and
// applies as a compare-and-swap to what was read, dead letters name only the round's messages, and a message's
// verdict does not depend on its neighbours (issue 11), too-many-values excepted.
import fc from 'fast-check';
import { reasonCode } from '../../handlers/core/contract';
import { type FoldInput, foldRecord } from '../../handlers/core/fold';
import { fitsOneBatch, measureChanges } from '../../handlers/core/limits';
import type { InstanceGone, Message, RecordSet, ZoneRule } from '../../handlers/core/model';
import { slotChanges } from '../../handlers/core/plan';
import { indexZone, readRecordState } from '../../handlers/core/record-state';
import { mergeEntries } from '../../handlers/core/registry';
import { planRound, type RoundPlan } from '../../handlers/core/round';
import {
  entryArb,
  MACHINES,
  machineArb,
  messageArb,
  registrationArb,
  sentAtArb,
  uniqueMessages,
  zoneArb,
} from '../helpers/arbitraries';
import { FakeRoute53 } from '../helpers/fake-route53';
import {
  fqdn,
  instanceGoneOf,
  NOW,
  OTHER_OWNER,
  OWNER,
  rrset,
  servedRRsets,
  sweepAt,
} from '../helpers/messages';

const LABELS = ['a', 'b', 'hand', 'cname'];
const foreign = `"r53dyn=1;o=${OTHER_OWNER};i=i-0000000f;4=198.51.100.15;t=1;s=up"`;

/** What the zone holds before the round: a record of ours, a record made by hand, and a CNAME. */
const zoneStateArb = fc
  .record({ entries: fc.array(entryArb, { maxLength: 6 }), foreign: fc.boolean() })
  .map(({ entries, foreign: withForeign }): RecordSet[] => [
    ...(entries.length > 0
      ? servedRRsets(fqdn('a'), mergeEntries(entries), { foreign: withForeign ? [foreign] : [] })
      : []),
    rrset(fqdn('hand'), 'A', ['203.0.113.5']),
    rrset(fqdn('cname'), 'CNAME', ['elsewhere.example.test.']),
  ]);

const goneEventArb = fc.tuple(machineArb, sentAtArb).map(([m, t]) => instanceGoneOf(m, t));

function round(zone: ZoneRule, rrsets: RecordSet[], messages: Message[]): RoundPlan {
  return planRound({
    zone,
    ownerId: OWNER,
    now: NOW,
    deltas: [{ messageId: 'd-1', receiptHandle: 'h-1', receiveCount: 1, messages }],
    rrsets,
    verdicts: [],
    maxAttempts: 3,
    retryBackoff: { baseSeconds: 1, capSeconds: 8 },
    random: 0,
  });
}

/** Applies a round's parts to a Route 53 zone holding what the round read; throws if Route 53 would refuse one. */
function applied(zone: ZoneRule, rrsets: RecordSet[], plan: RoundPlan): RecordSet[] {
  const route53 = new FakeRoute53();
  route53.createZone(zone.hostedZoneId, rrsets);
  for (const part of plan.execution?.input.parts ?? []) {
    route53.change(
      zone.hostedZoneId,
      part.records.flatMap((r) => slotChanges(r.slots)),
    );
  }
  return route53.rrsets(zone.hostedZoneId);
}

/** Each message's verdict: the code it is dead-lettered with, or undefined. */
const verdicts = (plan: RoundPlan) =>
  new Map(plan.deadLetters.map((d) => [d.messageId, reasonCode(d.reason)]));

describe('folding one record', () => {
  const foldArb = fc.record({
    zone: zoneArb,
    entries: fc.array(entryArb, { maxLength: 6 }).map(mergeEntries),
    registrations: fc.uniqueArray(registrationArb(['web']), { maxLength: 12, selector: (m) => m.messageId }),
    goneEvents: fc.array(goneEventArb, { maxLength: 2 }),
    capacity: fc.integer({ min: 1, max: 8 }),
  });
  const fold = (
    input: { zone: ZoneRule; entries: FoldInput['entries']; capacity: number; goneEvents: InstanceGone[] },
    registrations: FoldInput['registrations'],
    entries = input.entries,
  ) =>
    foldRecord({
      zone: input.zone,
      entries,
      registrations,
      goneEvents: input.goneEvents,
      goneList: new Map(input.goneEvents.map((e) => [e.instanceId, e.sentAt])),
      registryCapacity: input.capacity,
      now: NOW,
    });
  const refusedIds = (result: ReturnType<typeof foldRecord>) =>
    new Set(result.refused.map((r) => r.message.messageId));

  it('does not depend on the order or duplication of the round’s messages', () => {
    fc.assert(
      fc.property(
        foldArb.chain((input) =>
          fc.tuple(
            fc.constant(input),
            fc.shuffledSubarray(input.registrations, { minLength: input.registrations.length }),
            fc.array(fc.nat(), { maxLength: 6 }),
          ),
        ),
        ([input, shuffled, picks]) => {
          const registrations = input.registrations;
          const duplicated = [
            ...shuffled,
            ...picks.flatMap((p) => registrations[p % Math.max(1, registrations.length)] ?? []),
          ];

          const once = fold(input, registrations);
          const reordered = fold(input, duplicated);

          expect(reordered.entries).toEqual(once.entries);
          expect(refusedIds(reordered)).toEqual(refusedIds(once));
        },
      ),
      { numRuns: 400 },
    );
  });

  // With room for every machine's tombstone: a tombstone the registry budget drops can no longer beat an older
  // register of the same round when the round is folded again (reported as a finding, not asserted here).
  it('changes nothing when the same round is folded again over what it wrote', () => {
    fc.assert(
      fc.property(foldArb, fc.integer({ min: MACHINES.length, max: 8 }), (drawn, capacity) => {
        const input = { ...drawn, capacity };
        const registrations = input.registrations;

        const once = fold(input, registrations);
        const twice = fold(input, registrations, once.entries);

        expect(twice.entries).toEqual(once.entries);
        expect(refusedIds(twice)).toEqual(refusedIds(once));
      }),
      { numRuns: 400 },
    );
  });
});

describe('planning a zone round', () => {
  const roundArb = fc.record({
    zone: zoneArb,
    rrsets: zoneStateArb,
    messages: fc.array(messageArb(LABELS), { maxLength: 20 }).map(uniqueMessages),
  });

  it('writes parts within Route 53’s limits that apply to what was read, and planning the result again is empty', () => {
    fc.assert(
      fc.property(roundArb, ({ zone, rrsets, messages }) => {
        const plan = round(zone, rrsets, messages);

        for (const part of plan.execution?.input.parts ?? []) {
          expect(fitsOneBatch(measureChanges(part.records.flatMap((r) => slotChanges(r.slots))))).toBe(true);
        }
        const written = applied(zone, rrsets, plan);
        expect(round(zone, written, [sweepAt(NOW)])).toEqual({
          deadLetters: [],
          carryOver: [],
          deferred: 0,
          messages: 1,
        });
        expect(written).toContainEqual(rrset(fqdn('hand'), 'A', ['203.0.113.5']));
      }),
      { numRuns: 300 },
    );
  });

  it('serves exactly the up entries’ addresses it wrote in every record it wrote', () => {
    fc.assert(
      fc.property(roundArb, ({ zone, rrsets, messages }) => {
        const written = applied(zone, rrsets, round(zone, rrsets, messages));

        for (const label of ['a', 'b']) {
          const state = readRecordState(fqdn(label), zone, indexZone(written), OWNER);
          const up = state.entries.filter((e) => e.state === 'up');
          const served = (type: 'A' | 'AAAA', rrsetOf?: RecordSet) =>
            zone.types.includes(type) ? (rrsetOf?.ResourceRecords ?? []).map((r) => r.Value) : [];
          const wanted = (type: 'A' | 'AAAA') =>
            zone.types.includes(type)
              ? [...new Set(up.flatMap((e) => (type === 'A' ? e.ipv4 : e.ipv6) ?? []))].sort()
              : [];
          expect(served('A', state.current.a)).toEqual(wanted('A'));
          expect(served('AAAA', state.current.aaaa)).toEqual(wanted('AAAA'));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('dead-letters only the round’s messages, each at most once', () => {
    fc.assert(
      fc.property(roundArb, ({ zone, rrsets, messages }) => {
        const lettered = round(zone, rrsets, messages).deadLetters.map((d) => d.messageId);

        const ids = new Set(messages.map((m) => m.messageId));
        expect(lettered.filter((id) => !ids.has(id))).toEqual([]);
        expect(new Set(lettered).size).toBe(lettered.length);
      }),
      { numRuns: 300 },
    );
  });

  it('gives a message the same verdict when other messages leave the round, too-many-values excepted (issue 11)', () => {
    fc.assert(
      fc.property(
        roundArb.chain((input) => fc.tuple(fc.constant(input), fc.subarray(input.messages))),
        ([{ zone, rrsets, messages }, kept]) => {
          const all = verdicts(round(zone, rrsets, messages));
          const fewer = verdicts(round(zone, rrsets, kept));

          for (const { messageId } of kept) {
            const [before, after] = [all.get(messageId), fewer.get(messageId)];
            if (before === 'too-many-values' || after === 'too-many-values') continue;
            expect([messageId, after]).toEqual([messageId, before]);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
