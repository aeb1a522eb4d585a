// The r53dyn CLI's pure parts: tables and times, whose word a dead letter carries, what a redrive sends back,
// execution outcomes and record status.
import { ATTRIBUTES, TOMBSTONE_MS } from '../../handlers/core/contract';
import type { ZoneRule } from '../../handlers/core/model';
import { encodeOwnerEntry } from '../../handlers/core/registry';
import {
  envelopeOf,
  groupByReason,
  type ReceivedLetter,
  redriveStep,
  rowsOf,
} from '../../infra/cli/dead-letters';
import { outcomeLine } from '../../infra/cli/executions';
import { duration, relative, table } from '../../infra/cli/format';
import { lastChanges, zoneStatus } from '../../infra/cli/status';

const roles = {
  batcher: 'AROABATCHERROLE00001',
  planner: 'AROAPLANNERROLE00001',
  redrive: 'AROAREDRIVEROLE00001',
};
const now = 1_800_000_000_000;
const instanceSender = 'AROAINSTANCEROLE0001:i-0123456789abcdef0';

// The machine's register message, as its boot script sends it.
const registerMessage = JSON.stringify({
  v: 1,
  action: 'register',
  record: 'web.dyn.example.test.',
  instanceId: 'i-0123456789abcdef0',
  ipv4: '54.1.1.1',
});

function letter(overrides: Partial<ReceivedLetter> = {}): ReceivedLetter {
  return {
    queue: 'dead-letter',
    sqsMessageId: 'sqs-1',
    receiptHandle: 'handle-1',
    body: registerMessage,
    system: { SenderId: `${roles.batcher}:batcher-session`, SentTimestamp: String(now - 5000) },
    attributes: {
      [ATTRIBUTES.reason]:
        'record-not-allowed: record "web.dyn.example.test." is not below any allowlisted zone',
      [ATTRIBUTES.messageId]: 'original-1',
      [ATTRIBUTES.sentAt]: String(now - 60_000),
      [ATTRIBUTES.senderId]: instanceSender,
    },
    ...overrides,
  };
}

describe('format', () => {
  test('a table pads every column but the last to its widest cell', () => {
    // Act
    const text = table(
      ['A', 'LONGER'],
      [
        ['x', '1'],
        ['wide cell', '22'],
      ],
    );

    // Assert
    expect(text).toBe('A          LONGER\nx          1\nwide cell  22');
  });

  test('durations keep the two largest units; relative times say in or ago', () => {
    // Act
    const shown = [850, 42_000, 185_000, 3_725_000, 180_000_000].map(duration);

    // Assert
    expect(shown).toEqual(['850ms', '42s', '3m05s', '1h02m', '2d02h']);
    expect([relative(now + 12_000, now), relative(now - 12_000, now)]).toEqual(['in 12s', '12s ago']);
  });
});

describe('whose word a dead letter carries (docs/design.md §7.3)', () => {
  test.each([
    [
      "written by one of the stack's roles: the original envelope in its attributes is kept",
      letter(),
      {
        envelope: { messageId: 'original-1', sentAt: now - 60_000, senderId: instanceSender },
        kept: true,
        writtenBy: 'batcher',
      },
    ],
    [
      'moved by SQS after maxReceiveCount: SQS’s own envelope, which nobody can forge',
      letter({
        attributes: {},
        system: {
          SenderId: instanceSender,
          SentTimestamp: String(now - 9000),
          DeadLetterQueueSourceArn: 'arn:aws:sqs:us-east-1:1:r53dyn-prod-registrations',
        },
      }),
      {
        envelope: { messageId: 'sqs-1', sentAt: now - 9000, senderId: instanceSender },
        kept: true,
        writtenBy: 'sqs',
      },
    ],
  ])('%s', (_title, received, expected) => {
    // Act
    const judged = envelopeOf(received, roles);

    // Assert
    expect(judged).toEqual(expected);
  });

  test('written by anyone else: its claimed sender is not kept, and its claimed time can only make it older', () => {
    // Act
    const later = envelopeOf(
      letter({ system: { SenderId: 'AROASOMEONEELSE00001:me', SentTimestamp: String(now - 5000) } }),
      roles,
    );
    const claimedNewer = envelopeOf(
      letter({
        system: { SenderId: '123456789012', SentTimestamp: String(now - 5000) },
        attributes: { ...letter().attributes, [ATTRIBUTES.sentAt]: String(now) },
      }),
      roles,
    );

    // Assert
    expect(later).toEqual({
      envelope: { messageId: 'original-1', sentAt: now - 60_000, senderId: 'AROASOMEONEELSE00001:me' },
      kept: false,
      claimedSender: instanceSender,
      writtenBy: 'AROASOMEONEELSE00001:me',
    });
    expect(claimedNewer.envelope.sentAt).toBe(now - 5000);
  });

  test('rows group by reason code, the largest group first; no reason reads receive-limit', () => {
    // Arrange
    const rows = [
      ...rowsOf(letter(), roles, now),
      ...rowsOf(
        letter({
          sqsMessageId: 'sqs-2',
          attributes: { ...letter().attributes, [ATTRIBUTES.messageId]: 'original-2' },
        }),
        roles,
        now,
      ),
      ...rowsOf(letter({ sqsMessageId: 'sqs-3', attributes: {} }), roles, now),
    ];

    // Act
    const groups = groupByReason(rows);

    // Assert
    expect(groups.map((g) => [g.reason, g.count, g.messages.map((m) => m.messageId)])).toEqual([
      ['record-not-allowed', 2, ['original-1', 'original-2']],
      ['receive-limit', 1, ['sqs-3']],
    ]);
    expect(groups[0]?.messages[0]).toMatchObject({
      action: 'register',
      record: 'web.dyn.example.test.',
      detail: 'record "web.dyn.example.test." is not below any allowlisted zone',
      ageMs: 60_000,
    });
  });
});

describe('what a redrive sends back', () => {
  const old = String(now - TOMBSTONE_MS - 1);

  test('a registration older than the tombstone horizon stays; a deregistration as old goes back', () => {
    // Arrange
    const stale = letter({ attributes: { ...letter().attributes, [ATTRIBUTES.sentAt]: old } });
    const deregister = letter({
      body: JSON.stringify({
        v: 1,
        action: 'deregister',
        record: 'web.dyn.example.test.',
        instanceId: 'i-0123456789abcdef0',
      }),
      attributes: { ...letter().attributes, [ATTRIBUTES.sentAt]: old },
    });

    // Act
    const [staying, going] = [redriveStep(stale, roles, now), redriveStep(deregister, roles, now)];

    // Assert
    expect([staying.copies, staying.deleteAfter, staying.skipped.map((s) => s.why)]).toEqual([
      [],
      false,
      ["sent before the tombstone horizon: not redriven; the machine's next heartbeat restores it"],
    ]);
    expect([going.copies, going.deleteAfter]).toEqual([
      [
        {
          body: deregister.body,
          envelope: { messageId: 'original-1', sentAt: Number(old), senderId: instanceSender },
        },
      ],
      true,
    ]);
  });

  test('an EC2 event cannot go back through the registrations queue', () => {
    // Act
    const step = redriveStep(
      letter({
        body: JSON.stringify({
          source: 'aws.ec2',
          'detail-type': 'x',
          detail: { 'instance-id': 'i-0123456789abcdef0', state: 'running' },
        }),
      }),
      roles,
      now,
    );

    // Assert
    expect([step.copies, step.deleteAfter]).toEqual([[], false]);
  });

  test('a zone-queue delta goes back as its registrations, without its sweep; one with an EC2 event stays whole', () => {
    // Arrange
    const registration = {
      kind: 'register',
      messageId: 'm1',
      sentAt: now - 1000,
      senderId: instanceSender,
      record: 'web.dyn.example.test.',
      hostedZoneId: 'Z1',
      instanceId: 'i-0123456789abcdef0',
      ipv4: '54.1.1.1',
    };
    const delta = (extra: unknown) =>
      letter({
        queue: 'zone-dead-letter',
        body: JSON.stringify({ v: 1, hostedZoneId: 'Z1', messages: [registration, extra] }),
        attributes: {},
        system: {
          SenderId: `${roles.batcher}:b`,
          SentTimestamp: String(now - 500),
          DeadLetterQueueSourceArn: 'arn:zones.fifo',
        },
      });

    // Act
    const withSweep = redriveStep(delta({ kind: 'sweep', messageId: 'm2', sentAt: now - 900 }), roles, now);
    const withEvent = redriveStep(
      delta({ kind: 'instance-gone', messageId: 'm3', sentAt: now - 900, instanceId: 'i-0aaaaaaaaaaaaaaaa' }),
      roles,
      now,
    );

    // Assert
    expect([withSweep.copies, withSweep.skipped.map((s) => s.messageId), withSweep.deleteAfter]).toEqual([
      [
        {
          body: registerMessage,
          envelope: { messageId: 'm1', sentAt: now - 1000, senderId: instanceSender },
        },
      ],
      ['m2'],
      true,
    ]);
    expect([withEvent.copies, withEvent.skipped.map((s) => s.messageId), withEvent.deleteAfter]).toEqual([
      [],
      ['m1', 'm3'],
      false,
    ]);
  });
});

describe('executions and status', () => {
  test('an outcome is what the round wrote, or its error and cause on one line', () => {
    // Act
    const succeeded = outcomeLine(
      { name: 'e', executionArn: 'a', status: 'SUCCEEDED', startedAt: now },
      {
        status: 'INSYNC',
        changeIds: ['C1'],
        records: [{ record: 'web.dyn.example.test.', added: ['54.1.1.1'], removed: ['54.2.2.2'] }],
      },
    );
    const failed = outcomeLine(
      {
        name: 'e',
        executionArn: 'a',
        status: 'FAILED',
        startedAt: now,
        error: 'PartsFailed',
        cause: '[{"records":\n ["web"]}]',
      },
      {},
    );

    // Assert
    expect(succeeded).toBe('INSYNC, 1 change: web.dyn.example.test +54.1.1.1 -54.2.2.2');
    expect(failed).toBe('PartsFailed: [{"records": ["web"]}]');
  });

  test('a record’s last change is the newest execution that lists it', () => {
    // Act
    const found = lastChanges(
      [
        {
          name: 'new',
          stoppedAt: now,
          changeIds: ['C2'],
          records: [{ record: 'a.z.', added: [], removed: ['1.1.1.1'] }],
        },
        {
          name: 'old',
          stoppedAt: now - 1,
          changeIds: ['C1'],
          records: [
            { record: 'a.z.', added: ['1.1.1.1'], removed: [] },
            { record: 'b.z.', added: ['2.2.2.2'], removed: [] },
          ],
        },
      ],
      ['a.z.', 'b.z.', 'c.z.'],
    );

    // Assert
    expect(Object.fromEntries([...found].map(([name, change]) => [name, change.execution]))).toEqual({
      'a.z.': 'new',
      'b.z.': 'old',
    });
  });

  test('status reads owners with their leases, tombstones and the gone list from the zone', () => {
    // Arrange
    const zone: ZoneRule = {
      hostedZoneId: 'Z1',
      suffix: 'dyn.example.test',
      ttl: 60,
      types: ['A'],
      maxValuesPerRecord: 10,
      leaseSeconds: 30,
      allowPrivate: false,
    };
    const entry = (instanceId: string, t: number, state: 'up' | 'gone', ipv4?: string) =>
      encodeOwnerEntry('owner', { instanceId, t, state, ...(ipv4 === undefined ? {} : { ipv4 }) });
    const txt = (Name: string, values: string[]) => ({
      Name,
      Type: 'TXT',
      TTL: 60,
      ResourceRecords: values.map((Value) => ({ Value })),
    });
    const rrsets = [
      { Name: 'web.dyn.example.test.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '54.1.1.1' }] },
      txt('_r53dyn.web.dyn.example.test.', [
        entry('i-0000000000000000a', now - 10_000, 'up', '54.1.1.1'),
        entry('i-0000000000000000b', now - 40_000, 'up', '54.2.2.2'),
        entry('i-0000000000000000c', now - 5000, 'gone'),
        '"a note by hand"',
      ]),
      txt('_r53dyn.other.dyn.example.test.', ['"r53dyn=1;o=someone-else;i=i-0000000000000000d;t=1;s=up"']),
      txt('_r53dyn._r53dyn-gone.dyn.example.test.', [entry('i-0000000000000000e', now - 2000, 'gone')]),
    ];

    // Act
    const status = zoneStatus(zone, rrsets, 'owner', now);

    // Assert
    expect(status.goneList).toEqual([
      { instanceId: 'i-0000000000000000e', goneAt: now - 2000, droppedAt: now - 2000 + TOMBSTONE_MS },
    ]);
    expect(status.records).toEqual([
      {
        record: 'web.dyn.example.test.',
        values: { A: ['54.1.1.1'], AAAA: [] },
        owners: [
          {
            instanceId: 'i-0000000000000000a',
            ipv4: '54.1.1.1',
            sentAt: now - 10_000,
            leaseExpiresAt: now + 20_000,
            leaseExpired: false,
          },
          {
            instanceId: 'i-0000000000000000b',
            ipv4: '54.2.2.2',
            sentAt: now - 40_000,
            leaseExpiresAt: now - 10_000,
            leaseExpired: true,
          },
        ],
        tombstones: [
          { instanceId: 'i-0000000000000000c', goneAt: now - 5000, droppedAt: now - 5000 + TOMBSTONE_MS },
        ],
        foreign: 1,
      },
    ]);
  });
});
