// fast-check arbitraries for the property tests: small pools of machines, records and times, so that instances,
// addresses and timestamps collide and ties get exercised.
import fc from 'fast-check';
import type { Message, Registration, ZoneRule } from '../../handlers/core/model';
import type { OwnerEntry } from '../../handlers/core/registry';
import {
  deregisterOf,
  dynZone,
  heartbeatOf,
  instanceGoneOf,
  type Machine,
  machine,
  registerOf,
  SENT,
  sweepAt,
} from './messages';

/** Six machines; machines 5 and 6 share machine 1's addresses. */
export const MACHINES: Machine[] = [1, 2, 3, 4, 5, 6].map((n) =>
  n <= 4 ? machine(n) : { ...machine(1), instanceId: machine(n).instanceId },
);

export const machineArb = fc.constantFrom(...MACHINES);
/** Sent times within a few seconds, so that ties happen. */
export const sentAtArb = fc.integer({ min: 0, max: 8 }).map((k) => SENT + k * 1000);

/** A zone like the test zone with its rules drawn: types, a small limit, with or without leases. */
export const zoneArb: fc.Arbitrary<ZoneRule> = fc
  .record({
    types: fc.constantFrom<ZoneRule['types']>(['A'], ['AAAA'], ['A', 'AAAA']),
    maxValuesPerRecord: fc.integer({ min: 1, max: 4 }),
    leaseSeconds: fc.constantFrom(0, 600),
  })
  .map((rules) => ({ ...dynZone, ...rules }));

/** A registration of one of the pool's machines for one of `labels`, in `zone`. */
export function registrationArb(labels: string[], zone: ZoneRule = dynZone): fc.Arbitrary<Registration> {
  return fc
    .record({
      kind: fc.constantFrom('register', 'heartbeat', 'deregister'),
      machine: machineArb,
      label: fc.constantFrom(...labels),
      sentAt: sentAtArb,
      id: fc.integer({ min: 1, max: 1_000_000 }),
      moved: fc.boolean(),
    })
    .map(({ kind, machine: m, label, sentAt, id, moved }) => {
      const options = {
        messageId: `m-${id}`,
        zone,
        ...(moved ? { addresses: { ipv4: `52.95.200.${id % 4}`, ipv6: `2600:1f18::ff${id % 4}` } } : {}),
      };
      const of = kind === 'register' ? registerOf : kind === 'heartbeat' ? heartbeatOf : deregisterOf;
      const message = of(m, label, sentAt, options);
      if (kind === 'deregister' || !moved) return message;
      // only the addresses the zone serves, as the parser would have refused the others
      const { ipv4, ipv6, ...rest } = message;
      return {
        ...rest,
        ...(zone.types.includes('A') ? { ipv4 } : {}),
        ...(zone.types.includes('AAAA') ? { ipv6 } : {}),
      };
    });
}

/** Registrations mostly, now and then an EC2 event or a sweep. */
export function messageArb(labels: string[], zone: ZoneRule = dynZone): fc.Arbitrary<Message> {
  const id = fc.integer({ min: 1, max: 1_000_000 });
  return fc.oneof(
    { weight: 8, arbitrary: registrationArb(labels, zone) },
    {
      weight: 1,
      arbitrary: fc.tuple(machineArb, sentAtArb, id).map(([m, t, n]) => instanceGoneOf(m, t, `e-${n}`)),
    },
    { weight: 1, arbitrary: fc.tuple(sentAtArb, id).map(([t, n]) => sweepAt(t, `s-${n}`)) },
  );
}

/** A registry entry of one of the pool's machines, as an earlier round left it. */
export const entryArb: fc.Arbitrary<OwnerEntry> = fc
  .record({ machine: machineArb, t: sentAtArb, up: fc.boolean() })
  .map(({ machine: m, t, up }) =>
    up
      ? { instanceId: m.instanceId, ipv4: m.ipv4, ipv6: m.ipv6, t, state: 'up' }
      : { instanceId: m.instanceId, t, state: 'gone' },
  );

/** Message ids are unique in SQS: one message per id. */
export const uniqueMessages = (messages: Message[]) => [
  ...new Map(messages.map((m) => [m.messageId, m])).values(),
];
