// Folding one record's round (docs/design.md §4.2): last writer wins, the gone list, quiet heartbeats, EC2
// events, limits per message and the registry budget, with exact entries and exact refusals.
import { TOMBSTONE_MS } from '../../handlers/core/contract';
import { type FoldInput, foldRecord, withinBudget } from '../../handlers/core/fold';
import type { Registration, ZoneRule } from '../../handlers/core/model';
import {
  deregisterOf,
  dynZone,
  fqdn,
  goneEntry,
  HOUR,
  heartbeatOf,
  instanceGoneOf,
  machine,
  registerOf,
  SECOND,
  SENT,
  upEntry,
  v4Zone,
  zoneWith,
} from '../helpers/messages';

const [m1, m2, m3, m4, m5] = [1, 2, 3, 4, 5].map(machine) as [
  ReturnType<typeof machine>,
  ReturnType<typeof machine>,
  ReturnType<typeof machine>,
  ReturnType<typeof machine>,
  ReturnType<typeof machine>,
];

function fold(input: Partial<FoldInput>) {
  return foldRecord({
    zone: dynZone,
    entries: [],
    registrations: [],
    goneEvents: [],
    goneList: new Map(),
    registryCapacity: 100,
    now: SENT + 10 * SECOND,
    ...input,
  });
}

const tooMany = (zone: ZoneRule, message: Registration) => ({
  message,
  reason:
    `too-many-values: ${fqdn('web', zone)} already serves ${zone.maxValuesPerRecord} address(es) per type, its limit; ` +
    'machines already served keep their place and newcomers are taken by earliest sent time',
});

describe('last writer wins', () => {
  it('adds an up entry with only the addresses the zone serves', () => {
    const register = registerOf(m1, 'web', SENT, {
      zone: v4Zone,
      addresses: { ipv4: m1.ipv4, ipv6: m1.ipv6 },
    });

    expect(fold({ zone: v4Zone, registrations: [register] })).toEqual({
      entries: [{ instanceId: m1.instanceId, ipv4: m1.ipv4, t: SENT, state: 'up' }],
      refused: [],
    });
  });

  it('lets a newer message replace the entry and ignores an older one', () => {
    const moved = registerOf(m1, 'web', SENT + 10, { addresses: { ipv4: '52.95.9.9' } });
    const older = registerOf(m1, 'web', SENT - 10, { addresses: { ipv4: '52.95.8.8' } });

    const result = fold({ entries: [upEntry(m1, SENT)], registrations: [older, moved] });

    expect(result.entries).toEqual([
      { instanceId: m1.instanceId, ipv4: '52.95.9.9', t: SENT + 10, state: 'up' },
    ]);
  });

  it('gives a deregister sent in the same millisecond as a heartbeat the last word, in either order', () => {
    const pair = [heartbeatOf(m1, 'web', SENT + 5), deregisterOf(m1, 'web', SENT + 5)];

    const one = fold({ entries: [upEntry(m1, SENT)], registrations: pair });
    const other = fold({ entries: [upEntry(m1, SENT)], registrations: [...pair].reverse() });

    expect(one.entries).toEqual([goneEntry(m1, SENT + 5)]);
    expect(other).toEqual(one);
  });

  it('keeps a tombstone against a register sent before it but delivered after', () => {
    const late = registerOf(m1, 'web', SENT - 1);

    expect(fold({ entries: [goneEntry(m1, SENT)], registrations: [late] }).entries).toEqual([
      goneEntry(m1, SENT),
    ]);
  });
});

describe('the gone list (docs/design.md §3.4)', () => {
  const goneList = new Map([[m1.instanceId, SENT]]);

  it('ignores a register or heartbeat no newer than the instance’s entry, and takes a newer one', () => {
    const atLeaving = fold({
      goneList,
      registrations: [registerOf(m1, 'web', SENT), heartbeatOf(m1, 'web', SENT - 1)],
    });
    const after = fold({ goneList, registrations: [registerOf(m1, 'web', SENT + 1)] });

    expect(atLeaving.entries).toEqual([]);
    expect(after.entries).toEqual([upEntry(m1, SENT + 1)]);
  });

  it('still applies a deregistration', () => {
    const result = fold({
      goneList,
      entries: [upEntry(m1, SENT - 10)],
      registrations: [deregisterOf(m1, 'web', SENT - 5)],
    });

    expect(result.entries).toEqual([goneEntry(m1, SENT - 5)]);
  });
});

describe('quiet steady state', () => {
  it('writes nothing for a heartbeat that changes nothing served in a zone without leases', () => {
    const heartbeat = heartbeatOf(m1, 'web', SENT + HOUR / 2);

    expect(fold({ entries: [upEntry(m1, SENT)], registrations: [heartbeat] }).entries).toEqual([
      upEntry(m1, SENT),
    ]);
  });

  it('writes a register that changes nothing served, so that a deregistration sent before it cannot win later', () => {
    const rebooted = fold({
      entries: [upEntry(m1, SENT)],
      registrations: [registerOf(m1, 'web', SENT + 16)],
    });
    const late = fold({ entries: rebooted.entries, registrations: [deregisterOf(m1, 'web', SENT + 15)] });

    expect(rebooted.entries).toEqual([upEntry(m1, SENT + 16)]);
    expect(late.entries).toEqual([upEntry(m1, SENT + 16)]);
  });

  it('writes a heartbeat that changes an address', () => {
    const heartbeat = heartbeatOf(m1, 'web', SENT + 1, { addresses: { ipv4: m1.ipv4 } });

    expect(fold({ entries: [upEntry(m1, SENT)], registrations: [heartbeat] }).entries).toEqual([
      { instanceId: m1.instanceId, ipv4: m1.ipv4, t: SENT + 1, state: 'up' },
    ]);
  });

  it('renews a lease only once it is half used (300 s lease: quiet at 149 s, written at 150 s)', () => {
    const held = [upEntry(m1, SENT, v4Zone)];
    const now = SENT + 160 * SECOND;
    const early = heartbeatOf(m1, 'web', SENT + 149 * SECOND, { zone: v4Zone });
    const due = heartbeatOf(m1, 'web', SENT + 150 * SECOND, { zone: v4Zone });

    expect(fold({ zone: v4Zone, now, entries: held, registrations: [early] }).entries).toEqual(held);
    expect(fold({ zone: v4Zone, now, entries: held, registrations: [due] }).entries).toEqual([
      upEntry(m1, SENT + 150 * SECOND, v4Zone),
    ]);
  });

  it('settles what was read: a lease run out is a tombstone at its own t; tombstones go after an hour', () => {
    const now = SENT + 300 * SECOND;
    const entries = [
      upEntry(m1, SENT, v4Zone),
      goneEntry(m2, now - TOMBSTONE_MS - 1),
      goneEntry(m3, now - TOMBSTONE_MS),
    ];

    expect(fold({ zone: v4Zone, now, entries }).entries).toEqual([
      goneEntry(m1, SENT),
      goneEntry(m3, now - TOMBSTONE_MS),
    ]);
  });
});

describe('a round decided per instance, not message by message', () => {
  it('writes a renewal that an EC2 event of the same round would otherwise beat (stopped, then started again)', () => {
    const result = fold({
      entries: [upEntry(m1, SENT - 100)],
      registrations: [registerOf(m1, 'web', SENT + 5)],
      goneEvents: [instanceGoneOf(m1, SENT)],
      goneList: new Map([[m1.instanceId, SENT]]),
    });

    expect(result.entries).toEqual([upEntry(m1, SENT + 5)]);
  });

  it('lets the winner of a tie on sent time win whatever a quiet message before it', () => {
    const x = { ipv4: '52.95.200.1' };
    const y = { ipv4: '52.95.0.1' };
    const registrations = [
      registerOf(m1, 'web', SENT, { messageId: 'm-1', addresses: x }),
      registerOf(m1, 'web', SENT + 6, { messageId: 'm-2', addresses: x }),
      registerOf(m1, 'web', SENT + 6, { messageId: 'm-3', addresses: y }),
    ];

    const once = fold({ registrations });
    const twice = fold({ registrations, entries: once.entries });

    expect(once.entries).toEqual([{ instanceId: m1.instanceId, ...x, t: SENT + 6, state: 'up' }]);
    expect(twice).toEqual(once);
  });
});

describe('EC2 events', () => {
  it('tombstone the instance where it holds a newer-losing entry, and nowhere else', () => {
    const result = fold({
      entries: [upEntry(m1, SENT), upEntry(m2, SENT)],
      goneEvents: [instanceGoneOf(m1, SENT + 5), instanceGoneOf(m2, SENT - 5), instanceGoneOf(m3, SENT + 5)],
    });

    expect(result.entries).toEqual([goneEntry(m1, SENT + 5), upEntry(m2, SENT)]);
  });
});

describe('limits per message', () => {
  const zone2 = zoneWith({ maxValuesPerRecord: 2 });
  const zone3 = zoneWith({ maxValuesPerRecord: 3 });
  const served = [upEntry(m1, SENT - 100), upEntry(m2, SENT - 50)];

  it('keeps the machines already served and refuses every newcomer when the record is full', () => {
    const newcomers = [registerOf(m3, 'web', SENT + 3), registerOf(m4, 'web', SENT + 2)];

    const result = fold({ zone: zone2, entries: served, registrations: newcomers });

    expect(result).toEqual({ entries: served, refused: newcomers.map((m) => tooMany(zone2, m)) });
  });

  it('takes newcomers by earliest sent time while there is room, and refuses only the rest', () => {
    const late = registerOf(m3, 'web', SENT + 3);
    const early = registerOf(m4, 'web', SENT + 2);

    const result = fold({ zone: zone3, entries: served, registrations: [late, early] });

    expect(result).toEqual({ entries: [...served, upEntry(m4, SENT + 2)], refused: [tooMany(zone3, late)] });
  });

  it('breaks a tie on sent time by instance id', () => {
    const result = fold({
      zone: zone3,
      entries: served,
      registrations: [registerOf(m4, 'web', SENT), registerOf(m3, 'web', SENT)],
    });

    expect(result.entries).toEqual([...served, upEntry(m3, SENT)]);
    expect(result.refused).toEqual([tooMany(zone3, registerOf(m4, 'web', SENT))]);
  });

  it('dead-letters every message of a refused newcomer and none of an incumbent', () => {
    const refusedOnes = [registerOf(m3, 'web', SENT + 1), heartbeatOf(m3, 'web', SENT + 2)];
    const incumbent = heartbeatOf(m1, 'web', SENT + 3, { addresses: { ipv4: '52.95.7.7' } });

    const result = fold({ zone: zone2, entries: served, registrations: [incumbent, ...refusedOnes] });

    expect(result.refused).toEqual(refusedOnes.map((m) => tooMany(zone2, m)));
    expect(result.entries).toEqual([
      { instanceId: m1.instanceId, ipv4: '52.95.7.7', t: SENT + 3, state: 'up' },
      served[1],
    ]);
  });

  it('always applies a deregistration, whose room a newcomer of the same round may take', () => {
    const result = fold({
      zone: zone2,
      entries: served,
      registrations: [deregisterOf(m1, 'web', SENT + 1), registerOf(m3, 'web', SENT + 2)],
    });

    expect(result).toEqual({
      entries: [goneEntry(m1, SENT + 1), served[1], upEntry(m3, SENT + 2)],
      refused: [],
    });
  });

  it('treats a machine that left and comes back as a newcomer, keeping its tombstone when refused', () => {
    const zone1 = zoneWith({ maxValuesPerRecord: 1 });
    const entries = [goneEntry(m1, SENT - 10), upEntry(m2, SENT - 20)];
    const back = registerOf(m1, 'web', SENT);

    expect(fold({ zone: zone1, entries, registrations: [back] })).toEqual({
      entries,
      refused: [tooMany(zone1, back)],
    });
  });

  it('admits a newcomer whose addresses are already served, since it adds no value', () => {
    const zone1 = zoneWith({ maxValuesPerRecord: 1 });
    const twin = registerOf(m2, 'web', SENT, { addresses: { ipv4: m1.ipv4, ipv6: m1.ipv6 } });

    const result = fold({ zone: zone1, entries: [upEntry(m1, SENT - 1)], registrations: [twin] });

    expect(result.refused).toEqual([]);
    expect(result.entries).toEqual([
      upEntry(m1, SENT - 1),
      { ...upEntry(m1, SENT), instanceId: m2.instanceId },
    ]);
  });

  it('lets incumbents keep their place above a lowered limit', () => {
    const zone1 = zoneWith({ maxValuesPerRecord: 1 });
    const newcomer = registerOf(m3, 'web', SENT);

    expect(fold({ zone: zone1, entries: served, registrations: [newcomer] })).toEqual({
      entries: served,
      refused: [tooMany(zone1, newcomer)],
    });
  });
});

describe('the registry budget (docs/design.md §5.2)', () => {
  it('keeps live entries and the newest tombstones that fit, dropping the oldest', () => {
    const entries = [
      upEntry(m1, SENT),
      goneEntry(m2, SENT + 1),
      goneEntry(m3, SENT + 2),
      goneEntry(m4, SENT + 3),
      goneEntry(m5, SENT + 4),
    ];

    expect(fold({ entries, registryCapacity: 3 }).entries).toEqual([
      upEntry(m1, SENT),
      goneEntry(m4, SENT + 3),
      goneEntry(m5, SENT + 4),
    ]);
  });

  it('keeps every live entry even past the capacity, and never refuses the record for tombstones', () => {
    const entries = [upEntry(m1, SENT), upEntry(m2, SENT), goneEntry(m3, SENT + 9)];

    expect(withinBudget(entries, 1)).toEqual([upEntry(m1, SENT), upEntry(m2, SENT)]);
    expect(fold({ entries, registryCapacity: 1, registrations: [deregisterOf(m4, 'web', SENT)] })).toEqual({
      entries: [upEntry(m1, SENT), upEntry(m2, SENT)],
      refused: [],
    });
  });
});
