import type { SQSRecord } from 'aws-lambda';
import {
  type BatchPlan,
  planBatch,
  type ReceivedMessage,
  readsFor,
  receivedFromSqs,
  sortMessages,
} from '../../handlers/core/batch';
import type { Message, RecordSet } from '../../handlers/core/model';
import {
  ec2StateChange,
  instanceSenderId,
  registration,
  sqsRecord,
  testAllowlist,
  testInstanceId,
} from '../helpers/messages';

const OWNER = 'r53dyn-test';
const SENT = 1_735_689_600_000;
const NOW = SENT + 60_000;
const HOUR = 3_600_000;
const Z1 = 'Z1TESTZONE00000000001';
const Z2 = 'Z2TESTZONE00000000002';
const Z3 = 'Z3TESTZONE00000000003';
const [ZONE1, ZONE2, ZONE3] = testAllowlist.zones;
const WEB = 'web.dyn.example.test.';
const RELAY_ROLE = 'AROARELAYROLEID0000001';
const SCHEDULER = 'AROASCHEDULERROLE00001:scheduler';
const EXECUTION_NAME = /^Z1TESTZONE00000000001-p1of1-[0-9a-f]{32}$/;

const rrset = (Name: string, Type: string, values: string[], TTL = 60): RecordSet => ({
  Name,
  Type,
  TTL,
  ResourceRecords: values.map((Value) => ({ Value })),
});
const upEntry = (instanceId: string, t: number, ipv4: string) =>
  `"r53dyn=1;o=${OWNER};i=${instanceId};4=${ipv4};t=${t};s=up"`;
const goneEntry = (instanceId: string, t: number) => `"r53dyn=1;o=${OWNER};i=${instanceId};t=${t};s=gone"`;

/** An SQS record carrying the attributes a requeue after a write conflict sets. */
function requeued(record: SQSRecord, attempt: string, sentAt: string): SQSRecord {
  const attribute = (stringValue: string) => ({
    stringValue,
    dataType: 'Number',
    stringListValues: [],
    binaryListValues: [],
  });
  return {
    ...record,
    messageAttributes: { 'r53dyn-attempt': attribute(attempt), 'r53dyn-sent-timestamp': attribute(sentAt) },
  };
}

const sortOptions = { allowlist: testAllowlist, senderBinding: true, now: NOW };

/** The pure pipeline as the handler runs it; a zone missing from `zones` is one whose read failed. */
function planFor(records: SQSRecord[], zones: Record<string, RecordSet[]>): BatchPlan {
  const received = records.map(receivedFromSqs);
  const sorted = sortMessages(received, sortOptions);
  const reads = readsFor(sorted.messages, testAllowlist);
  const rrsets = new Map(Object.entries(zones));
  return planBatch({ received, sorted, reads, rrsets, ownerId: OWNER, now: NOW });
}

describe('receivedFromSqs', () => {
  it('takes the id, body, SentTimestamp and SenderId of a first delivery, at attempt 0', () => {
    // Arrange
    const record = sqsRecord(registration(), { messageId: 'm-1', sentTimestamp: SENT });

    // Act
    const received = receivedFromSqs(record);

    // Assert
    expect(received).toEqual({
      messageId: 'm-1',
      body: JSON.stringify(registration()),
      sentAt: SENT,
      attempt: 0,
      senderId: instanceSenderId(),
    });
  });

  it('keeps the original send time and the attempt of a requeued message', () => {
    // Arrange
    const record = requeued(
      sqsRecord('{}', { messageId: 'm-1', sentTimestamp: SENT }),
      '2',
      String(SENT - 5000),
    );

    // Act
    const received = receivedFromSqs(record);

    // Assert
    expect(received).toEqual({
      messageId: 'm-1',
      body: '{}',
      sentAt: SENT - 5000,
      attempt: 2,
      senderId: instanceSenderId(),
    });
  });

  it.each([
    ['later than SentTimestamp', String(SENT + 1)],
    ['equal to SentTimestamp', String(SENT)],
    ['not a number', 'yesterday'],
    ['negative', '-5'],
    ['fractional', '1735689599999.5'],
  ])('does not believe a claimed send time %s', (_, claimed) => {
    // Arrange: a sender could otherwise make its message newer than a deregister that followed it
    const record = requeued(sqsRecord('{}', { messageId: 'm-1', sentTimestamp: SENT }), '1', claimed);

    // Act
    const received = receivedFromSqs(record);

    // Assert
    expect(received.sentAt).toBe(SENT);
  });

  it.each([
    ['not a number', 'x', 0],
    ['negative', '-1', 0],
    ['over the cap', '999999', 1000],
  ])('reads an attempt that is %s (%s) as %d', (_, attempt, expected) => {
    // Arrange
    const record = requeued(sqsRecord('{}', { sentTimestamp: SENT }), attempt, String(SENT - 1));

    // Act
    const received = receivedFromSqs(record);

    // Assert
    expect(received.attempt).toBe(expected);
  });

  it('leaves senderId out when SQS gave none', () => {
    // Arrange
    const record = sqsRecord('{}', { messageId: 'm-1', sentTimestamp: SENT, attributes: { SenderId: '' } });

    // Act
    const received = receivedFromSqs(record);

    // Assert
    expect(received).toEqual({ messageId: 'm-1', body: '{}', sentAt: SENT, attempt: 0 });
  });
});

describe('sortMessages', () => {
  const receivedOf = (body: string | object, messageId: string, options: Partial<ReceivedMessage> = {}) => ({
    messageId,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    sentAt: SENT,
    attempt: 0,
    senderId: instanceSenderId(),
    ...options,
  });

  it('parses good messages and dead-letters bad ones with their reason, in input order', () => {
    // Arrange
    const received = [
      receivedOf(registration(), 'm-1'),
      receivedOf('hello', 'm-2'),
      receivedOf(registration({ record: 'web.elsewhere.test' }), 'm-3'),
      receivedOf({ v: 1, action: 'sweep' }, 'm-4', { senderId: SCHEDULER }),
    ];

    // Act
    const sorted = sortMessages(received, sortOptions);

    // Assert
    expect(sorted).toEqual({
      messages: [
        {
          kind: 'register',
          messageId: 'm-1',
          record: WEB,
          hostedZoneId: Z1,
          instanceId: testInstanceId,
          ipv4: '52.95.110.1',
          sentAt: SENT,
        },
        { kind: 'sweep', messageId: 'm-4', sentAt: SENT },
      ],
      deadLetters: [
        {
          messageId: 'm-2',
          body: 'hello',
          sentAt: SENT,
          reason: 'not-json: body is not valid JSON: "hello"',
        },
        {
          messageId: 'm-3',
          body: JSON.stringify(registration({ record: 'web.elsewhere.test' })),
          sentAt: SENT,
          reason: 'record-not-allowed: record "web.elsewhere.test." is not below any allowlisted zone',
        },
      ],
    });
  });

  it('dead-letters a register or heartbeat sent over an hour ago, but applies an old deregister', () => {
    // Arrange
    const old = NOW - HOUR - 1;
    const received = [
      receivedOf(registration(), 'm-1', { sentAt: old }),
      receivedOf(registration({ action: 'heartbeat' }), 'm-2', { sentAt: old }),
      receivedOf(registration({ action: 'deregister', ipv4: undefined }), 'm-3', { sentAt: old }),
    ];

    // Act
    const sorted = sortMessages(received, sortOptions);

    // Assert
    const when = new Date(old).toISOString();
    expect(sorted).toEqual({
      messages: [
        {
          kind: 'deregister',
          messageId: 'm-3',
          record: WEB,
          hostedZoneId: Z1,
          instanceId: testInstanceId,
          sentAt: old,
        },
      ],
      deadLetters: [
        {
          messageId: 'm-1',
          body: received[0]?.body,
          sentAt: old,
          reason: `stale: register sent at ${when}, more than an hour before it could be applied`,
        },
        {
          messageId: 'm-2',
          body: received[1]?.body,
          sentAt: old,
          reason: `stale: heartbeat sent at ${when}, more than an hour before it could be applied`,
        },
      ],
    });
  });

  it('dead-letters a message without a SentTimestamp, since nothing else may order it', () => {
    // Arrange
    const received = [receivedOf(registration(), 'm-1', { sentAt: Number.NaN })];

    // Act
    const sorted = sortMessages(received, sortOptions);

    // Assert
    expect(sorted).toEqual({
      messages: [],
      deadLetters: [
        {
          messageId: 'm-1',
          body: received[0]?.body,
          sentAt: 0,
          reason: 'missing-sent-timestamp: SQS gave no SentTimestamp',
        },
      ],
    });
  });

  it('lifts sender binding only for messages the workflow role relays', () => {
    // Arrange: a requeued message is sent by the workflow's role, not by the instance it names
    const body = registration();
    const received = [
      receivedOf(body, 'm-relayed', { senderId: `${RELAY_ROLE}:execution-1` }),
      receivedOf(body, 'm-other-role', { senderId: 'AROAOTHERROLEID000001:execution-1' }),
      receivedOf(body, 'm-lookalike', { senderId: `${RELAY_ROLE}9:execution-1` }),
    ];

    // Act
    const sorted = sortMessages(received, { ...sortOptions, relayRoleId: RELAY_ROLE });

    // Assert
    const mismatch = (sender: string) =>
      `sender-mismatch: sender "${sender}" may not register for instanceId "${testInstanceId}"`;
    expect(sorted).toEqual({
      messages: [
        {
          kind: 'register',
          messageId: 'm-relayed',
          record: WEB,
          hostedZoneId: Z1,
          instanceId: testInstanceId,
          ipv4: '52.95.110.1',
          sentAt: SENT,
        },
      ],
      deadLetters: [
        {
          messageId: 'm-other-role',
          body: JSON.stringify(body),
          sentAt: SENT,
          reason: mismatch('AROAOTHERROLEID000001:execution-1'),
        },
        {
          messageId: 'm-lookalike',
          body: JSON.stringify(body),
          sentAt: SENT,
          reason: mismatch(`${RELAY_ROLE}9:execution-1`),
        },
      ],
    });
  });

  it('keeps sender binding for the relay role when none is configured', () => {
    // Arrange
    const received = [receivedOf(registration(), 'm-1', { senderId: `${RELAY_ROLE}:execution-1` })];

    // Act
    const sorted = sortMessages(received, sortOptions);

    // Assert
    expect(sorted.messages).toEqual([]);
    expect(sorted.deadLetters.map((letter) => letter.reason)).toEqual([
      `sender-mismatch: sender "${RELAY_ROLE}:execution-1" may not register for instanceId "${testInstanceId}"`,
    ]);
  });
});

describe('readsFor', () => {
  const register = (messageId: string, record: string, hostedZoneId: string): Message => ({
    kind: 'register',
    messageId,
    record,
    hostedZoneId,
    instanceId: testInstanceId,
    ipv4: '52.95.110.1',
    sentAt: SENT,
  });

  it('reads only the names the registrations touch, once each, zone by zone', () => {
    // Arrange
    const messages = [
      register('m-1', 'web.dyn.example.test.', Z1),
      register('m-2', 'app.v4only.example.test.', Z2),
      register('m-3', 'api.dyn.example.test.', Z1),
      register('m-4', 'web.dyn.example.test.', Z1),
    ];

    // Act
    const reads = readsFor(messages, testAllowlist);

    // Assert
    expect(reads).toEqual([
      { zone: ZONE1, wholeZone: false, names: ['api.dyn.example.test.', 'web.dyn.example.test.'] },
      { zone: ZONE2, wholeZone: false, names: ['app.v4only.example.test.'] },
    ]);
  });

  it.each<[string, Message]>([
    ['a sweep', { kind: 'sweep', messageId: 'm-2', sentAt: SENT }],
    [
      'an instance-gone event',
      { kind: 'instance-gone', messageId: 'm-2', instanceId: testInstanceId, sentAt: SENT },
    ],
  ])('reads every allowlisted zone whole when %s is in the batch', (_, everywhere) => {
    // Arrange
    const messages = [register('m-1', 'web.dyn.example.test.', Z1), everywhere];

    // Act
    const reads = readsFor(messages, testAllowlist);

    // Assert
    expect(reads).toEqual([
      { zone: ZONE1, wholeZone: true, names: ['web.dyn.example.test.'] },
      { zone: ZONE2, wholeZone: true, names: [] },
      { zone: ZONE3, wholeZone: true, names: [] },
    ]);
  });

  it('reads nothing for a batch with nothing to apply', () => {
    // Act
    const reads = readsFor([], testAllowlist);

    // Assert
    expect(reads).toEqual([]);
  });
});

describe('planBatch', () => {
  it('starts one execution with the exact workflow input for one register in an empty zone', () => {
    // Arrange
    const record = sqsRecord(registration(), { messageId: 'm-1', sentTimestamp: SENT });

    // Act
    const plan = planFor([record], { [Z1]: [] });

    // Assert
    expect(plan).toEqual({
      starts: [
        {
          name: expect.stringMatching(EXECUTION_NAME),
          messageIds: ['m-1'],
          input: {
            hostedZoneId: Z1,
            changes: [
              {
                relativeName: 'web',
                change: { Action: 'CREATE', ResourceRecordSet: rrset(WEB, 'A', ['52.95.110.1']) },
              },
              {
                relativeName: 'web',
                change: {
                  Action: 'CREATE',
                  ResourceRecordSet: rrset(`_r53dyn.${WEB}`, 'TXT', [
                    upEntry(testInstanceId, SENT, '52.95.110.1'),
                  ]),
                },
              },
            ],
            summary: {
              records: [{ record: WEB, added: ['52.95.110.1'], removed: [] }],
              messages: 1,
              part: '1/1',
            },
            requeue: [
              [
                {
                  Id: 'm0',
                  MessageBody: record.body,
                  MessageAttributes: {
                    'r53dyn-attempt': { DataType: 'Number', StringValue: '1' },
                    'r53dyn-sent-timestamp': { DataType: 'Number', StringValue: String(SENT) },
                  },
                },
              ],
            ],
            attempt: 0,
          },
        },
      ],
      deadLetters: [],
      retry: [],
    });
  });

  it('names the execution after the zone part, the plan and the message ids, the same on redelivery', () => {
    // Arrange
    const first = [sqsRecord(registration(), { messageId: 'm-1', sentTimestamp: SENT })];
    const again = [sqsRecord(registration(), { messageId: 'm-1', sentTimestamp: SENT })];
    const otherId = [sqsRecord(registration(), { messageId: 'm-2', sentTimestamp: SENT })];

    // Act
    const [a, b, c] = [first, again, otherId].map(
      (records) => planFor(records, { [Z1]: [] }).starts[0]?.name,
    );

    // Assert
    expect(a).toMatch(EXECUTION_NAME);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('requeues in chunks of at most ten, each at the highest attempt + 1 with its own original send time', () => {
    // Arrange: twelve instances on one record; one message already went round twice
    const instance = (n: number) => `i-000000${n.toString(16).padStart(2, '0')}`;
    const records = Array.from({ length: 12 }, (_, k) => {
      const n = k + 1;
      const body = registration({ instanceId: instance(n), ipv4: `52.95.110.${n}` });
      const options = {
        messageId: `m-${String(n).padStart(2, '0')}`,
        sentTimestamp: SENT,
        senderId: instanceSenderId(instance(n)),
      };
      return n === 5 ? requeued(sqsRecord(body, options), '2', String(SENT - n)) : sqsRecord(body, options);
    });

    // Act
    const plan = planFor(records, { [Z1]: [] });

    // Assert
    const entries = records.map((record, k) => ({
      Id: `m${k}`,
      MessageBody: record.body,
      MessageAttributes: {
        'r53dyn-attempt': { DataType: 'Number', StringValue: '3' },
        'r53dyn-sent-timestamp': { DataType: 'Number', StringValue: String(k === 4 ? SENT - 5 : SENT) },
      },
    }));
    expect(plan.starts).toHaveLength(1);
    expect(plan.starts[0]?.input.requeue).toEqual([entries.slice(0, 10), entries.slice(10)]);
    expect(plan.starts[0]?.input.attempt).toBe(2);
    expect(plan.starts[0]?.input.summary).toEqual({
      records: [{ record: WEB, added: records.map((_, k) => `52.95.110.${k + 1}`).sort(), removed: [] }],
      messages: 12,
      part: '1/1',
    });
  });

  it('dead-letters registrations for a record created by hand, and starts nothing', () => {
    // Arrange
    const record = sqsRecord(registration(), { messageId: 'm-1', sentTimestamp: SENT });
    const zone = [rrset(WEB, 'A', ['203.0.113.10'], 300)];

    // Act
    const plan = planFor([record], { [Z1]: zone });

    // Assert
    expect(plan).toEqual({
      starts: [],
      deadLetters: [
        {
          messageId: 'm-1',
          body: record.body,
          sentAt: SENT,
          reason: `not-managed: ${WEB} has an A record and no r53dyn registry`,
        },
      ],
      retry: [],
    });
  });

  it('leaves the messages of a zone that could not be read to be delivered again', () => {
    // Arrange
    const inZone1 = sqsRecord(registration(), { messageId: 'm-1', sentTimestamp: SENT });
    const inZone2 = sqsRecord(registration({ record: 'app.v4only.example.test' }), {
      messageId: 'm-2',
      sentTimestamp: SENT,
    });

    // Act
    const plan = planFor([inZone1, inZone2], { [Z2]: [] });

    // Assert
    expect(plan.retry).toEqual(['m-1']);
    expect(plan.deadLetters).toEqual([]);
    expect(plan.starts.map((start) => [start.input.hostedZoneId, start.messageIds])).toEqual([[Z2, ['m-2']]]);
  });

  it('retries a sweep when any zone could not be read, since it was meant for that zone too', () => {
    // Arrange
    const sweep = sqsRecord(
      { v: 1, action: 'sweep' },
      { messageId: 'm-1', sentTimestamp: SENT, senderId: SCHEDULER },
    );

    // Act
    const plan = planFor([sweep], { [Z1]: [], [Z3]: [] });

    // Assert
    expect(plan).toEqual({ starts: [], deadLetters: [], retry: ['m-1'] });
  });

  it('removes an instance-gone instance from every record of every zone', () => {
    // Arrange
    const gone = 'i-0000000a';
    const stays = 'i-0000000b';
    const t = SENT - 1000;
    const api = 'api.dyn.example.test.';
    const app = 'app.v4only.example.test.';
    const zone1 = [
      rrset(api, 'A', ['52.95.110.10']),
      rrset(`_r53dyn.${api}`, 'TXT', [upEntry(gone, t, '52.95.110.10')]),
      rrset(WEB, 'A', ['52.95.110.10', '52.95.110.11']),
      rrset(`_r53dyn.${WEB}`, 'TXT', [upEntry(gone, t, '52.95.110.10'), upEntry(stays, t, '52.95.110.11')]),
    ];
    const zone2 = [
      rrset(app, 'A', ['52.95.110.10']),
      rrset(`_r53dyn.${app}`, 'TXT', [upEntry(gone, t, '52.95.110.10')]),
    ];
    const event = sqsRecord(ec2StateChange(gone, 'terminated'), {
      messageId: 'm-1',
      sentTimestamp: SENT,
      senderId: SCHEDULER,
    });

    // Act
    const plan = planFor([event], { [Z1]: zone1, [Z2]: zone2, [Z3]: [] });

    // Assert
    const changesOf = (hostedZoneId: string) =>
      plan.starts.find((start) => start.input.hostedZoneId === hostedZoneId)?.input.changes;
    expect(plan.starts.map((start) => [start.input.hostedZoneId, start.messageIds])).toEqual([
      [Z1, ['m-1']],
      [Z2, ['m-1']],
    ]);
    expect(changesOf(Z1)).toEqual([
      { relativeName: 'api', change: { Action: 'DELETE', ResourceRecordSet: zone1[0] } },
      { relativeName: 'api', change: { Action: 'DELETE', ResourceRecordSet: zone1[1] } },
      {
        relativeName: 'api',
        change: {
          Action: 'CREATE',
          ResourceRecordSet: rrset(`_r53dyn.${api}`, 'TXT', [goneEntry(gone, SENT)]),
        },
      },
      { relativeName: 'web', change: { Action: 'DELETE', ResourceRecordSet: zone1[2] } },
      {
        relativeName: 'web',
        change: { Action: 'CREATE', ResourceRecordSet: rrset(WEB, 'A', ['52.95.110.11']) },
      },
      { relativeName: 'web', change: { Action: 'DELETE', ResourceRecordSet: zone1[3] } },
      {
        relativeName: 'web',
        change: {
          Action: 'CREATE',
          ResourceRecordSet: rrset(`_r53dyn.${WEB}`, 'TXT', [
            goneEntry(gone, SENT),
            upEntry(stays, t, '52.95.110.11'),
          ]),
        },
      },
    ]);
    expect(changesOf(Z2)).toEqual([
      { relativeName: 'app', change: { Action: 'DELETE', ResourceRecordSet: zone2[0] } },
      { relativeName: 'app', change: { Action: 'DELETE', ResourceRecordSet: zone2[1] } },
      {
        relativeName: 'app',
        change: {
          Action: 'CREATE',
          ResourceRecordSet: rrset(`_r53dyn.${app}`, 'TXT', [goneEntry(gone, SENT)]),
        },
      },
    ]);
    expect(plan.deadLetters).toEqual([]);
    expect(plan.retry).toEqual([]);
  });
});
