import type { Message, RecordSet, Registration, ZoneRule } from '../../handlers/core/model';
import {
  foldMessages,
  type RecordState,
  readRecordState,
  staleReason,
} from '../../handlers/core/record-state';

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
    messageId: `m-${kind}-${instanceId}-${sentAt}`,
    record,
    hostedZoneId: ZONE.hostedZoneId,
    instanceId,
    sentAt,
    ...addresses,
  };
}

const newRecord = (zone = ZONE): RecordState => readRecordState(NAME, zone, [], OWNER);

describe('readRecordState', () => {
  it('treats a name with no A, AAAA or registry as a new record of ours', () => {
    expect(newRecord()).toEqual({
      name: NAME,
      zone: ZONE,
      current: {},
      managed: true,
      entries: [],
      foreign: [],
    });
  });

  it('picks the A, AAAA and registry TXT of the name among unrelated rrsets and decodes our entries', () => {
    // Arrange
    const a = rrset(NAME, 'A', ['192.0.2.1']);
    const aaaa = rrset(NAME, 'AAAA', ['2001:db8::1']);
    const txt = rrset(REGISTRY, 'TXT', [
      '"r53dyn=1;o=r53dyn-prod;i=i-0000000f;4=192.0.2.15;t=1;s=up"',
      `"r53dyn=1;o=r53dyn-local;i=i-00000001;4=192.0.2.1;6=2001:db8::1;t=${NOW};s=up"`,
    ]);
    const unrelated = [
      rrset('api.dyn.example.test.', 'A', ['192.0.2.9']),
      rrset('_r53dyn.api.dyn.example.test.', 'TXT', ['"x"']),
      rrset(NAME, 'TXT', ['"not the registry"']),
      rrset(NAME, 'MX', ['10 mail.example.test.']),
    ];

    // Act
    const state = readRecordState(NAME, ZONE, [...unrelated, txt, aaaa, a], OWNER);

    // Assert
    expect(state).toEqual({
      name: NAME,
      zone: ZONE,
      current: { a, aaaa, registry: txt },
      managed: true,
      entries: [{ instanceId: 'i-00000001', ipv4: '192.0.2.1', ipv6: '2001:db8::1', t: NOW, state: 'up' }],
      foreign: ['"r53dyn=1;o=r53dyn-prod;i=i-0000000f;4=192.0.2.15;t=1;s=up"'],
    });
  });

  it.each([
    [
      'an A record made by hand',
      [rrset(NAME, 'A', ['192.0.2.1'])],
      'not-managed: web.dyn.example.test. has an A record and no r53dyn registry',
    ],
    [
      'A and AAAA records made by hand',
      [rrset(NAME, 'AAAA', ['2001:db8::1']), rrset(NAME, 'A', ['192.0.2.1'])],
      'not-managed: web.dyn.example.test. has A and AAAA records and no r53dyn registry',
    ],
    [
      "an A record with another stack's registry",
      [
        rrset(NAME, 'A', ['192.0.2.1']),
        rrset(REGISTRY, 'TXT', ['"r53dyn=1;o=r53dyn-prod;i=i-1;4=192.0.2.1;t=1;s=up"']),
      ],
      'not-managed: web.dyn.example.test. has an A record and no r53dyn entry of owner r53dyn-local',
    ],
    [
      "only another stack's registry",
      [rrset(REGISTRY, 'TXT', ['"r53dyn=1;o=r53dyn-prod;i=i-1;t=1;s=gone"'])],
      'not-managed: _r53dyn.web.dyn.example.test. has no entry of owner r53dyn-local',
    ],
    [
      'a CNAME, even beside our registry',
      [
        rrset(NAME, 'CNAME', ['elsewhere.example.test.']),
        rrset(REGISTRY, 'TXT', [`"r53dyn=1;o=r53dyn-local;i=i-1;t=${NOW};s=gone"`]),
      ],
      'not-managed: web.dyn.example.test. has a CNAME record',
    ],
    [
      'an alias A record',
      [{ Name: NAME, Type: 'A' }],
      'not-managed: web.dyn.example.test. has an alias A record',
    ],
    [
      'weighted A records',
      [rrset(NAME, 'A', ['192.0.2.1']), rrset(NAME, 'A', ['192.0.2.2'])],
      'not-managed: web.dyn.example.test. has several record sets of one type (a routing policy)',
    ],
  ])('refuses a name with %s', (_what, rrsets, refusal) => {
    // Act
    const state = readRecordState(NAME, ZONE, rrsets, OWNER);

    // Assert
    expect({ managed: state.managed, refusal: state.refusal }).toEqual({ managed: false, refusal });
  });
});

describe('foldMessages', () => {
  const fold = (messages: Message[], state = newRecord(), now = NOW) =>
    foldMessages(state, messages, now).entries;

  it('adds an up entry for a register, keeping only the addresses the zone serves', () => {
    // Arrange
    const aOnly = { ...ZONE, types: ['A' as const] };
    const message = registration('register', 'i-00000001', NOW, { ipv4: '192.0.2.1', ipv6: '2001:db8::1' });

    // Act
    const both = fold([message]);
    const ipv4Only = fold([message], newRecord(aOnly));

    // Assert
    expect(both).toEqual([
      { instanceId: 'i-00000001', ipv4: '192.0.2.1', ipv6: '2001:db8::1', t: NOW, state: 'up' },
    ]);
    expect(ipv4Only).toEqual([{ instanceId: 'i-00000001', ipv4: '192.0.2.1', t: NOW, state: 'up' }]);
  });

  it('lets the last writer win per instance: new addresses replace old ones, an older message is ignored', () => {
    // Arrange
    const first = registration('register', 'i-00000001', NOW - 2000, { ipv4: '192.0.2.1' });
    const moved = registration('register', 'i-00000001', NOW - 1000, { ipv4: '192.0.2.2' });
    const late = registration('heartbeat', 'i-00000001', NOW - 1500, { ipv4: '192.0.2.3' });
    const other = registration('register', 'i-00000002', NOW - 1500, { ipv4: '192.0.2.1' });

    // Act
    const state = foldMessages(newRecord(), [first, moved], NOW);
    const entries = fold([late, other], state);

    // Assert
    expect(entries).toEqual([
      { instanceId: 'i-00000001', ipv4: '192.0.2.2', t: NOW - 1000, state: 'up' },
      { instanceId: 'i-00000002', ipv4: '192.0.2.1', t: NOW - 1500, state: 'up' },
    ]);
  });

  it('keeps a tombstone against a register that was sent earlier but arrives later', () => {
    // Arrange
    const deregister = registration('deregister', 'i-00000001', NOW - 1000);
    const earlierRegister = registration('register', 'i-00000001', NOW - 2000, { ipv4: '192.0.2.1' });

    // Act
    const afterTombstone = foldMessages(newRecord(), [deregister], NOW);
    const entries = fold([earlierRegister], afterTombstone);

    // Assert
    expect(entries).toEqual([{ instanceId: 'i-00000001', t: NOW - 1000, state: 'gone' }]);
  });

  it('gives a deregister sent in the same millisecond as a heartbeat the last word, in either order', () => {
    const heartbeat = registration('heartbeat', 'i-00000001', NOW, { ipv4: '192.0.2.1' });
    const deregister = registration('deregister', 'i-00000001', NOW);
    const gone = [{ instanceId: 'i-00000001', t: NOW, state: 'gone' }];

    expect(fold([heartbeat, deregister])).toEqual(gone);
    expect(fold([deregister, heartbeat])).toEqual(gone);
  });

  it('renews a lease with a heartbeat, and turns an entry whose lease ran out into a tombstone', () => {
    // Arrange
    const leased = { ...ZONE, leaseSeconds: 300 };
    const register = registration('register', 'i-00000001', NOW - 400_000, { ipv4: '192.0.2.1' });
    const heartbeat = registration('heartbeat', 'i-00000001', NOW - 100_000, { ipv4: '192.0.2.1' });
    const silent = registration('register', 'i-00000002', NOW - 300_000, { ipv4: '192.0.2.2' });

    // Act
    const entries = fold([register, heartbeat, silent], newRecord(leased));

    // Assert: i-00000002 expired exactly at NOW (t + lease <= now); its tombstone outranks older messages
    expect(entries).toEqual([
      { instanceId: 'i-00000001', ipv4: '192.0.2.1', t: NOW - 100_000, state: 'up' },
      { instanceId: 'i-00000002', t: NOW - 300_000, state: 'gone' },
    ]);
  });

  it('sweeps tombstones older than an hour and expired leases, keeping the rest', () => {
    // Arrange
    const leased = { ...ZONE, leaseSeconds: 600 };
    const registry = rrset(REGISTRY, 'TXT', [
      `"r53dyn=1;o=r53dyn-local;i=i-00000000;4=192.0.2.9;t=${NOW - HOUR - 1};s=up"`,
      `"r53dyn=1;o=r53dyn-local;i=i-00000001;t=${NOW - HOUR - 1};s=gone"`,
      `"r53dyn=1;o=r53dyn-local;i=i-00000002;t=${NOW - HOUR};s=gone"`,
      `"r53dyn=1;o=r53dyn-local;i=i-00000003;4=192.0.2.3;t=${NOW - 600_000};s=up"`,
      `"r53dyn=1;o=r53dyn-local;i=i-00000004;4=192.0.2.4;t=${NOW - 599_999};s=up"`,
    ]);
    const state = readRecordState(NAME, leased, [registry], OWNER);

    // Act
    const entries = fold([{ kind: 'sweep', messageId: 'm-sweep', sentAt: NOW }], state);

    // Assert
    expect(entries).toEqual([
      { instanceId: 'i-00000002', t: NOW - HOUR, state: 'gone' },
      { instanceId: 'i-00000003', t: NOW - 600_000, state: 'gone' },
      { instanceId: 'i-00000004', ipv4: '192.0.2.4', t: NOW - 599_999, state: 'up' },
    ]);
  });

  it('keeps tombstones and up entries beyond maxValuesPerRecord: the plan decides whether they fit', () => {
    // Arrange
    const small = { ...ZONE, maxValuesPerRecord: 1 };
    const messages = [
      registration('register', 'i-00000001', NOW - 5, { ipv4: '192.0.2.1' }),
      registration('deregister', 'i-00000002', NOW - 4),
    ];

    // Act
    const entries = fold(messages, newRecord(small));

    // Assert
    expect(entries).toEqual([
      { instanceId: 'i-00000001', ipv4: '192.0.2.1', t: NOW - 5, state: 'up' },
      { instanceId: 'i-00000002', t: NOW - 4, state: 'gone' },
    ]);
  });

  it('ignores a register sent before the tombstone horizon, but still applies a late deregister', () => {
    // Arrange: the tombstone of i-00000001 was swept already; its register and i-00000002's deregister come late
    const registry = rrset(REGISTRY, 'TXT', [
      `"r53dyn=1;o=r53dyn-local;i=i-00000002;4=192.0.2.2;t=${NOW - 3 * HOUR};s=up"`,
    ]);
    const state = readRecordState(NAME, ZONE, [registry], OWNER);
    const lateRegister = registration('register', 'i-00000001', NOW - HOUR - 1, { ipv4: '192.0.2.1' });
    const lateDeregister = registration('deregister', 'i-00000002', NOW - 2 * HOUR);
    const justInTime = registration('heartbeat', 'i-00000003', NOW - HOUR, { ipv4: '192.0.2.3' });

    // Act
    const folded = foldMessages(state, [lateRegister, lateDeregister, justInTime], NOW);

    // Assert
    expect(folded.entries).toEqual([
      { instanceId: 'i-00000003', ipv4: '192.0.2.3', t: NOW - HOUR, state: 'up' },
    ]);
    expect([lateRegister, lateDeregister, justInTime].map((m) => staleReason(m, NOW))).toEqual([
      'stale: register sent at 2023-11-14T21:13:19.999Z, more than an hour before it could be applied',
      undefined,
      undefined,
    ]);
  });

  it('keeps up entries forever when the zone has no lease', () => {
    // Arrange
    const t = NOW - 30 * 24 * HOUR;
    const registry = rrset(REGISTRY, 'TXT', [
      `"r53dyn=1;o=r53dyn-local;i=i-00000001;4=192.0.2.1;t=${t};s=up"`,
    ]);

    // Act
    const entries = fold(
      [{ kind: 'sweep', messageId: 'm-sweep', sentAt: NOW }],
      readRecordState(NAME, ZONE, [registry], OWNER),
    );

    // Assert
    expect(entries).toEqual([{ instanceId: 'i-00000001', ipv4: '192.0.2.1', t, state: 'up' }]);
  });

  it('turns instance-gone into a tombstone only where the instance holds an entry', () => {
    // Arrange
    const register = registration('register', 'i-00000001', NOW - 2000, { ipv4: '192.0.2.1' });
    const goneHere: Message = {
      kind: 'instance-gone',
      messageId: 'm-gone-1',
      instanceId: 'i-00000001',
      sentAt: NOW - 1000,
    };
    const goneElsewhere: Message = {
      kind: 'instance-gone',
      messageId: 'm-gone-9',
      instanceId: 'i-00000009',
      sentAt: NOW,
    };
    const goneTooEarly: Message = {
      kind: 'instance-gone',
      messageId: 'm-gone-0',
      instanceId: 'i-00000001',
      sentAt: NOW - 3000,
    };

    // Act
    const entries = fold([goneHere, goneElsewhere, register]);
    const stillUp = fold([goneTooEarly, register]);

    // Assert
    expect(entries).toEqual([{ instanceId: 'i-00000001', t: NOW - 1000, state: 'gone' }]);
    expect(stillUp).toEqual([{ instanceId: 'i-00000001', ipv4: '192.0.2.1', t: NOW - 2000, state: 'up' }]);
  });

  it('ignores registrations for other records and leaves the rest of the state alone', () => {
    // Arrange
    const state = newRecord();
    const elsewhere = registration(
      'register',
      'i-00000001',
      NOW,
      { ipv4: '192.0.2.1' },
      'api.dyn.example.test.',
    );

    // Act
    const folded = foldMessages(state, [elsewhere], NOW);

    // Assert
    expect(folded).toEqual(state);
  });
});
