import { measureChanges } from '../../handlers/core/limits';
import type { Change, Message, RecordSet, Registration, ZoneRule } from '../../handlers/core/model';
import { type PlanRejection, planRecord, type RecordPlan, splitZonePlan } from '../../handlers/core/plan';
import { foldMessages, readRecordState } from '../../handlers/core/record-state';
import { InvalidChangeBatch, Route53Fake } from '../helpers/route53-fake';

const OWNER = 'r53dyn-local';
const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
const NAME = 'web.dyn.example.test.';
const REGISTRY = '_r53dyn.web.dyn.example.test.';
const ZONE: ZoneRule = {
  hostedZoneId: 'Z1TESTZONE00000000001',
  suffix: 'dyn.example.test',
  ttl: 60,
  types: ['A', 'AAAA'],
  maxValuesPerRecord: 40,
  leaseSeconds: 0,
  allowPrivate: false,
};

const rrset = (Name: string, Type: string, values: string[], TTL = 60): RecordSet => ({
  Name,
  Type,
  TTL,
  ResourceRecords: values.map((Value) => ({ Value })),
});

function registration(
  kind: Registration['kind'],
  instanceId: string,
  sentAt: number,
  addresses: { ipv4?: string; ipv6?: string } = {},
  record = NAME,
): Registration {
  return {
    kind,
    messageId: `m-${instanceId}-${sentAt}`,
    record,
    hostedZoneId: ZONE.hostedZoneId,
    instanceId,
    sentAt,
    ...addresses,
  };
}

/** read -> fold -> plan, the way the batcher does it for one record. */
function plan(rrsets: RecordSet[], messages: Message[], { name = NAME, zone = ZONE, now = NOW } = {}) {
  const before = readRecordState(name, zone, rrsets, OWNER);
  const after = foldMessages(before, messages, now);
  return planRecord(
    before,
    after,
    now,
    OWNER,
    messages.map((message) => message.messageId),
  );
}

const up = (instanceId: string, t: number, ipv4?: string, ipv6?: string) =>
  `"r53dyn=1;o=r53dyn-local;i=${instanceId}${ipv4 ? `;4=${ipv4}` : ''}${ipv6 ? `;6=${ipv6}` : ''};t=${t};s=up"`;
const gone = (instanceId: string, t: number) => `"r53dyn=1;o=r53dyn-local;i=${instanceId};t=${t};s=gone"`;

describe('planRecord', () => {
  it('creates the A, AAAA and registry of a new record', () => {
    // Arrange
    const message = registration('register', 'i-00000001', NOW, { ipv4: '192.0.2.1', ipv6: '2001:db8::1' });

    // Act
    const result = plan([], [message]);

    // Assert
    expect(result).toEqual({
      record: NAME,
      relativeName: 'web',
      changes: [
        { Action: 'CREATE', ResourceRecordSet: rrset(NAME, 'A', ['192.0.2.1']) },
        { Action: 'CREATE', ResourceRecordSet: rrset(NAME, 'AAAA', ['2001:db8::1']) },
        {
          Action: 'CREATE',
          ResourceRecordSet: rrset(REGISTRY, 'TXT', [up('i-00000001', NOW, '192.0.2.1', '2001:db8::1')]),
        },
      ],
      added: ['192.0.2.1', '2001:db8::1'],
      removed: [],
      messageIds: [`m-i-00000001-${NOW}`],
    });
  });

  it('deletes each changed rrset exactly as read and creates the new one, leaving unchanged ones alone', () => {
    // Arrange: values listed out of order, as Route 53 may return them
    const a = rrset(NAME, 'A', ['192.0.2.9', '192.0.2.1']);
    const aaaa = rrset(NAME, 'AAAA', ['2001:db8::1']);
    const registry = rrset(REGISTRY, 'TXT', [
      up('i-00000009', NOW - 5000, '192.0.2.9'),
      up('i-00000001', NOW - 5000, '192.0.2.1', '2001:db8::1'),
    ]);
    const moved = registration('register', 'i-00000009', NOW, { ipv4: '192.0.2.10' });

    // Act
    const result = plan([registry, aaaa, a], [moved]);

    // Assert
    expect(result).toEqual({
      record: NAME,
      relativeName: 'web',
      changes: [
        { Action: 'DELETE', ResourceRecordSet: rrset(NAME, 'A', ['192.0.2.9', '192.0.2.1']) },
        { Action: 'CREATE', ResourceRecordSet: rrset(NAME, 'A', ['192.0.2.1', '192.0.2.10']) },
        { Action: 'DELETE', ResourceRecordSet: registry },
        {
          Action: 'CREATE',
          ResourceRecordSet: rrset(REGISTRY, 'TXT', [
            up('i-00000001', NOW - 5000, '192.0.2.1', '2001:db8::1'),
            up('i-00000009', NOW, '192.0.2.10'),
          ]),
        },
      ],
      added: ['192.0.2.10'],
      removed: ['192.0.2.9'],
      messageIds: [`m-i-00000009-${NOW}`],
    });
  });

  it('rewrites only the registry for a heartbeat that changes no address', () => {
    // Arrange
    const a = rrset(NAME, 'A', ['192.0.2.1']);
    const registry = rrset(REGISTRY, 'TXT', [up('i-00000001', NOW - 60_000, '192.0.2.1')]);
    const heartbeat = registration('heartbeat', 'i-00000001', NOW, { ipv4: '192.0.2.1' });

    // Act
    const result = plan([a, registry], [heartbeat]);

    // Assert
    expect((result as RecordPlan).changes).toEqual([
      { Action: 'DELETE', ResourceRecordSet: registry },
      { Action: 'CREATE', ResourceRecordSet: rrset(REGISTRY, 'TXT', [up('i-00000001', NOW, '192.0.2.1')]) },
    ]);
    expect([(result as RecordPlan).added, (result as RecordPlan).removed]).toEqual([[], []]);
  });

  it('deletes the A record when its last owner leaves, keeping a tombstone; a sweep an hour later deletes the registry', () => {
    // Arrange
    const a = rrset(NAME, 'A', ['192.0.2.1']);
    const registry = rrset(REGISTRY, 'TXT', [up('i-00000001', NOW - 60_000, '192.0.2.1')]);
    const deregister = registration('deregister', 'i-00000001', NOW);
    const tombstoned = rrset(REGISTRY, 'TXT', [gone('i-00000001', NOW)]);
    const sweep: Message = { kind: 'sweep', messageId: 'm-sweep', sentAt: NOW + HOUR + 1 };

    // Act
    const leaving = plan([a, registry], [deregister]);
    const swept = plan([tombstoned], [sweep], { now: NOW + HOUR + 1 });

    // Assert
    expect(leaving).toEqual({
      record: NAME,
      relativeName: 'web',
      changes: [
        { Action: 'DELETE', ResourceRecordSet: a },
        { Action: 'DELETE', ResourceRecordSet: registry },
        { Action: 'CREATE', ResourceRecordSet: tombstoned },
      ],
      added: [],
      removed: ['192.0.2.1'],
      messageIds: [`m-i-00000001-${NOW}`],
    });
    expect(swept).toEqual({
      record: NAME,
      relativeName: 'web',
      changes: [{ Action: 'DELETE', ResourceRecordSet: tombstoned }],
      added: [],
      removed: [],
      messageIds: ['m-sweep'],
    });
  });

  it("preserves another owner's strings in the registry verbatim", () => {
    // Arrange
    const theirs = '"r53dyn=1;o=r53dyn-prod;i=i-0000000f;4=192.0.2.15;t=1;s=up"';
    const registry = rrset(REGISTRY, 'TXT', [theirs, gone('i-00000001', NOW - 1000)]);
    const register = registration('register', 'i-00000001', NOW, { ipv4: '192.0.2.1' });

    // Act
    const result = plan([registry], [register]);

    // Assert
    expect((result as RecordPlan).changes).toEqual([
      { Action: 'CREATE', ResourceRecordSet: rrset(NAME, 'A', ['192.0.2.1']) },
      { Action: 'DELETE', ResourceRecordSet: registry },
      {
        Action: 'CREATE',
        ResourceRecordSet: rrset(REGISTRY, 'TXT', [theirs, up('i-00000001', NOW, '192.0.2.1')]),
      },
    ]);
  });

  it('rewrites both rrsets when only the zone TTL changed', () => {
    // Arrange
    const a = rrset(NAME, 'A', ['192.0.2.1'], 300);
    const registry = rrset(REGISTRY, 'TXT', [up('i-00000001', NOW, '192.0.2.1')], 300);
    const sweep: Message = { kind: 'sweep', messageId: 'm-sweep', sentAt: NOW };

    // Act
    const result = plan([a, registry], [sweep]);

    // Assert
    expect((result as RecordPlan).changes).toEqual([
      { Action: 'DELETE', ResourceRecordSet: a },
      { Action: 'CREATE', ResourceRecordSet: rrset(NAME, 'A', ['192.0.2.1']) },
      { Action: 'DELETE', ResourceRecordSet: registry },
      { Action: 'CREATE', ResourceRecordSet: rrset(REGISTRY, 'TXT', [up('i-00000001', NOW, '192.0.2.1')]) },
    ]);
  });

  it('plans nothing when the desired state is what Route 53 holds', () => {
    // Arrange: the registry lists values in another order than r53dyn writes them
    const a = rrset(NAME, 'A', ['192.0.2.2', '192.0.2.1']);
    const registry = rrset(REGISTRY, 'TXT', [
      up('i-00000002', NOW, '192.0.2.2'),
      up('i-00000001', NOW, '192.0.2.1'),
    ]);
    const stale = registration('heartbeat', 'i-00000001', NOW - 1, { ipv4: '192.0.2.1' });

    // Act
    const result = plan([a, registry], [stale]);

    // Assert
    expect(result).toBeUndefined();
  });

  it('leaves an A record alone in a zone that no longer serves A', () => {
    // Arrange
    const aaaaOnly = { ...ZONE, types: ['AAAA' as const] };
    const a = rrset(NAME, 'A', ['192.0.2.1']);
    const registry = rrset(REGISTRY, 'TXT', [up('i-00000001', NOW - 1000, '192.0.2.1')]);
    const register = registration('register', 'i-00000001', NOW, { ipv4: '192.0.2.7', ipv6: '2001:db8::7' });

    // Act
    const result = plan([a, registry], [register], { zone: aaaaOnly });

    // Assert
    expect((result as RecordPlan).changes).toEqual([
      { Action: 'CREATE', ResourceRecordSet: rrset(NAME, 'AAAA', ['2001:db8::7']) },
      { Action: 'DELETE', ResourceRecordSet: registry },
      {
        Action: 'CREATE',
        ResourceRecordSet: rrset(REGISTRY, 'TXT', [up('i-00000001', NOW, undefined, '2001:db8::7')]),
      },
    ]);
  });

  it('refuses a record this stack does not own, reporting every message behind it', () => {
    // Arrange
    const handMade = rrset(NAME, 'A', ['203.0.113.5']);
    const messages = [
      registration('register', 'i-00000002', NOW, { ipv4: '192.0.2.2' }),
      registration('register', 'i-00000001', NOW, { ipv4: '192.0.2.1' }),
    ];

    // Act
    const result = plan([handMade], messages);

    // Assert
    expect(result).toEqual({
      record: NAME,
      reason: 'not-managed: web.dyn.example.test. has an A record and no r53dyn registry',
      messageIds: [`m-i-00000001-${NOW}`, `m-i-00000002-${NOW}`],
    });
  });

  it('plans nothing for a record it does not own when there is nothing of ours to write', () => {
    const handMade = rrset(NAME, 'A', ['203.0.113.5']);

    expect(plan([handMade], [{ kind: 'sweep', messageId: 'm-sweep', sentAt: NOW }])).toBeUndefined();
  });

  it('rejects a record whose values would exceed maxValuesPerRecord', () => {
    // Arrange
    const three = { ...ZONE, maxValuesPerRecord: 2 };
    const messages = [1, 2, 3].map((n) =>
      registration('register', `i-0000000${n}`, NOW, { ipv4: `192.0.2.${n}` }),
    );

    // Act
    const result = plan([], messages, { zone: three });

    // Assert
    expect(result).toEqual({
      record: NAME,
      reason: 'too-many-values: web.dyn.example.test. would have 3 A values, over maxValuesPerRecord 2',
      messageIds: [`m-i-00000001-${NOW}`, `m-i-00000002-${NOW}`, `m-i-00000003-${NOW}`],
    });
  });

  it('rejects a record whose changes alone exceed a ChangeBatch (a zone that failed checkZoneFits)', () => {
    // Arrange
    const oversized = { ...ZONE, maxValuesPerRecord: 400 };
    const hex = (n: number) => n.toString(16).padStart(32, '0');
    const messages = Array.from({ length: 200 }, (_, n) =>
      registration('register', hex(n), NOW, {
        ipv4: `100.100.${100 + Math.floor(n / 100)}.${100 + (n % 100)}`,
        ipv6: `2001:1111:2222:3333:4444:5555:6666:${hex(n).slice(-4)}`,
      }),
    );

    // Act
    const result = plan([], messages, { zone: oversized }) as PlanRejection;

    // Assert: 200 owners * (15 + 39 + 141 characters), CREATE only
    expect(result.reason).toBe(
      "too-large: the changes for web.dyn.example.test. need 600 elements and 39000 characters, over Route 53's 1000 and 32000 per ChangeBatch",
    );
    expect(result.messageIds).toHaveLength(200);
  });
});

describe('splitZonePlan', () => {
  /** A record plan of `values` A values of 15 characters: CREATE A and CREATE TXT (one entry per value). */
  function bigPlan(label: string, values: number): RecordPlan {
    const name = `${label}.dyn.example.test.`;
    const ips = Array.from(
      { length: values },
      (_, n) => `100.100.${100 + Math.floor(n / 100)}.${100 + (n % 100)}`,
    );
    const changes: Change[] = [
      { Action: 'CREATE', ResourceRecordSet: rrset(name, 'A', ips) },
      {
        Action: 'CREATE',
        ResourceRecordSet: rrset(
          `_r53dyn.${name}`,
          'TXT',
          ips.map((ip) => `"${ip}"`),
        ),
      },
    ];
    return {
      record: name,
      relativeName: label,
      changes,
      added: ips,
      removed: [],
      messageIds: [`m-${label}`],
    };
  }

  it('packs whole records, first fit in name order, each part within the limits', () => {
    // Arrange: 300 elements per record, so three fit in one batch of 1000 and six need two parts
    const plans = ['f', 'b', 'e', 'a', 'd', 'c'].map((label) => bigPlan(label, 150));

    // Act
    const parts = splitZonePlan('Z1TESTZONE00000000001', plans);

    // Assert
    expect(
      parts.map((part) => [part.index, part.count, part.records.map((r) => r.relativeName), part.messageIds]),
    ).toEqual([
      [1, 2, ['a', 'b', 'c'], ['m-a', 'm-b', 'm-c']],
      [2, 2, ['d', 'e', 'f'], ['m-d', 'm-e', 'm-f']],
    ]);
    expect(parts.map((part) => measureChanges(part.changes))).toEqual([
      { elements: 900, characters: 900 * 15 + 450 * 2 },
      { elements: 900, characters: 900 * 15 + 450 * 2 },
    ]);
    const [, b, , a, , c] = plans;
    expect(parts[0]?.changes).toEqual([...(a?.changes ?? []), ...(b?.changes ?? []), ...(c?.changes ?? [])]);
  });

  it('fills an earlier part when a later, smaller record still fits there', () => {
    // Arrange: 700 + 600 elements cannot share a part, but the 200 after them fits beside the 700
    const plans = [bigPlan('a', 350), bigPlan('b', 300), bigPlan('c', 100)];

    // Act
    const parts = splitZonePlan('Z1TESTZONE00000000001', plans);

    // Assert
    expect(parts.map((part) => part.records.map((r) => r.relativeName))).toEqual([['a', 'c'], ['b']]);
    expect(parts.map((part) => measureChanges(part.changes).elements)).toEqual([900, 600]);
  });

  it('returns no parts for no plans, and refuses two plans for one record', () => {
    expect(splitZonePlan('Z1TESTZONE00000000001', [])).toEqual([]);
    expect(() => splitZonePlan('Z1', [bigPlan('a', 1), bigPlan('a', 2)])).toThrow(
      'two plans for a.dyn.example.test. in one zone',
    );
  });
});

describe('compare-and-swap against a Route 53 fake', () => {
  const messages: Message[] = [
    registration('register', 'i-00000002', NOW, { ipv4: '192.0.2.2' }),
    registration('register', 'i-00000001', NOW, { ipv4: '192.0.2.1', ipv6: '2001:db8::1' }),
    registration('register', 'i-00000003', NOW, { ipv4: '192.0.2.3' }, 'api.dyn.example.test.'),
  ];
  const names = ['api.dyn.example.test.', NAME];

  function planZone(fake: Route53Fake, batch: Message[], now = NOW) {
    const rrsets = fake.list();
    const plans = names.map((name) => {
      const before = readRecordState(name, ZONE, rrsets, OWNER);
      return planRecord(
        before,
        foldMessages(before, batch, now),
        now,
        OWNER,
        batch.map((m) => m.messageId),
      );
    });
    return splitZonePlan(
      ZONE.hostedZoneId,
      plans.filter((p): p is RecordPlan => p !== undefined && 'changes' in p),
    );
  }

  it('applies a planned part so that the zone holds exactly the desired records', () => {
    // Arrange
    const unrelated = rrset('mail.dyn.example.test.', 'MX', ['10 mx.example.test.']);
    const fake = new Route53Fake([unrelated]);

    // Act
    const parts = planZone(fake, messages);
    for (const part of parts) fake.changeResourceRecordSets(part.changes);

    // Assert
    expect(parts).toHaveLength(1);
    expect(fake.list()).toEqual([
      rrset('_r53dyn.api.dyn.example.test.', 'TXT', [up('i-00000003', NOW, '192.0.2.3')]),
      rrset(REGISTRY, 'TXT', [
        up('i-00000001', NOW, '192.0.2.1', '2001:db8::1'),
        up('i-00000002', NOW, '192.0.2.2'),
      ]),
      rrset('api.dyn.example.test.', 'A', ['192.0.2.3']),
      unrelated,
      rrset(NAME, 'A', ['192.0.2.1', '192.0.2.2']),
      rrset(NAME, 'AAAA', ['2001:db8::1']),
    ]);
    expect(planZone(fake, messages)).toEqual([]);
  });

  it('fails the whole batch when the plan was computed from a stale read', () => {
    // Arrange
    const fake = new Route53Fake();
    for (const part of planZone(fake, messages)) fake.changeResourceRecordSets(part.changes);
    const staleParts = planZone(fake, [registration('deregister', 'i-00000002', NOW + 1000)]);
    const concurrent = planZone(fake, [
      registration('register', 'i-00000004', NOW + 500, { ipv4: '192.0.2.4' }),
    ]);
    for (const part of concurrent) fake.changeResourceRecordSets(part.changes);
    const afterConcurrent = fake.list();

    // Act
    const apply = () => fake.changeResourceRecordSets(staleParts[0]?.changes ?? []);

    // Assert
    expect(apply).toThrow(InvalidChangeBatch);
    expect(apply).toThrow(
      'Tried to delete resource record set web.dyn.example.test.|A but the values provided do not match',
    );
    expect(fake.list()).toEqual(afterConcurrent);
  });
});
