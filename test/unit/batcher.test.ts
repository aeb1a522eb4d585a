import { ExecutionAlreadyExists, type StartExecutionCommandInput } from '@aws-sdk/client-sfn';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { processBatch } from '../../handlers/batcher';
import type { RecordSet } from '../../handlers/core/model';
import type { BatcherSettings } from '../../handlers/settings';
import {
  FakeRoute53,
  FakeSqs,
  FakeStepFunctions,
  fakeDeps,
  serviceError,
  type ZoneContents,
} from '../helpers/fake-aws';
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
const WEB = 'web.dyn.example.test.';
const SCHEDULER = 'AROASCHEDULERROLE00001:scheduler';
const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/r53dyn-dead-letters';
const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:r53dyn-apply';

const settings: BatcherSettings = {
  allowlist: testAllowlist,
  ownerId: OWNER,
  senderBinding: true,
  stateMachineArn: STATE_MACHINE,
  deadLetterQueueUrl: DLQ_URL,
};

const rrset = (Name: string, Type: string, values: string[], TTL = 60): RecordSet => ({
  Name,
  Type,
  TTL,
  ResourceRecords: values.map((Value) => ({ Value })),
});
const upEntry = (instanceId: string, t: number, ipv4: string) =>
  `"r53dyn=1;o=${OWNER};i=${instanceId};4=${ipv4};t=${t};s=up"`;

function fakes(zones: Record<string, ZoneContents> = { [Z1]: [], [Z2]: [], [Z3]: [] }) {
  return { route53: new FakeRoute53(zones), sfn: new FakeStepFunctions(), sqs: new FakeSqs() };
}

const eventOf = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const register = (messageId: string, record = 'web.dyn.example.test') =>
  sqsRecord(registration({ record }), { messageId, sentTimestamp: SENT });
const failures = (...ids: string[]) => ({
  batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })),
});
const dlqMessageId = (entry: { MessageAttributes?: Record<string, { StringValue?: string }> }) =>
  entry.MessageAttributes?.['r53dyn-message-id']?.StringValue;

describe('processBatch', () => {
  it('reads only the touched record, starts one execution for it and acknowledges the message', async () => {
    // Arrange
    const aws = fakes();

    // Act
    const response = await processBatch(eventOf(register('m-1')), fakeDeps(aws, settings, NOW));

    // Assert
    expect(response).toEqual(failures());
    expect(aws.route53.calls).toEqual([
      { HostedZoneId: Z1, StartRecordName: WEB, MaxItems: 10 },
      { HostedZoneId: Z1, StartRecordName: `_r53dyn.${WEB}`, StartRecordType: 'TXT', MaxItems: 2 },
    ]);
    expect(aws.sfn.calls).toEqual([
      {
        stateMachineArn: STATE_MACHINE,
        name: expect.stringMatching(/^Z1TESTZONE00000000001-p1of1-/),
        input: expect.any(String),
      },
    ]);
    const input = JSON.parse(aws.sfn.calls[0]?.input ?? '');
    expect(input.changes).toEqual([
      {
        relativeName: 'web',
        change: { Action: 'CREATE', ResourceRecordSet: rrset(WEB, 'A', ['52.95.110.1']) },
      },
      {
        relativeName: 'web',
        change: {
          Action: 'CREATE',
          ResourceRecordSet: rrset(`_r53dyn.${WEB}`, 'TXT', [upEntry(testInstanceId, SENT, '52.95.110.1')]),
        },
      },
    ]);
    expect(aws.sqs.calls).toEqual([]);
  });

  it('acknowledges invalid messages and dead-letters them with their reason', async () => {
    // Arrange
    const aws = fakes();
    const notJson = sqsRecord('hello', { messageId: 'm-2', sentTimestamp: SENT });
    const badIp = sqsRecord(registration({ ipv4: '999.1.1.1' }), { messageId: 'm-3', sentTimestamp: SENT });

    // Act
    const response = await processBatch(
      eventOf(register('m-1'), notJson, badIp),
      fakeDeps(aws, settings, NOW),
    );

    // Assert
    expect(response).toEqual(failures());
    const letter = (Id: string, body: string, messageId: string, reason: string) => ({
      Id,
      MessageBody: body,
      MessageAttributes: {
        'r53dyn-reason': { DataType: 'String', StringValue: reason },
        'r53dyn-message-id': { DataType: 'String', StringValue: messageId },
        'r53dyn-sent-timestamp': { DataType: 'Number', StringValue: String(SENT) },
      },
    });
    expect(aws.sqs.calls).toEqual([
      {
        QueueUrl: DLQ_URL,
        Entries: [
          letter('m0', 'hello', 'm-2', 'not-json: body is not valid JSON: "hello"'),
          letter(
            'm1',
            badIp.body,
            'm-3',
            'bad-ipv4: ipv4 "999.1.1.1" is not a dotted quad (0-255, no leading zeros)',
          ),
        ],
      },
    ]);
    expect(aws.sfn.calls).toHaveLength(1);
  });

  it('reports exactly the messages behind a part whose execution could not be started', async () => {
    // Arrange
    const aws = fakes();
    aws.sfn.fail = (input) => (input.name?.startsWith(Z1) ? serviceError('ServiceUnavailable') : undefined);
    const event = eventOf(
      register('m-1'),
      register('m-2', 'api.dyn.example.test'),
      register('m-3', 'app.v4only.example.test'),
    );

    // Act
    const response = await processBatch(event, fakeDeps(aws, settings, NOW));

    // Assert
    expect(response).toEqual(failures('m-1', 'm-2'));
    expect([...aws.sfn.executions.keys()]).toEqual([expect.stringMatching(/^Z2TESTZONE00000000002-p1of1-/)]);
  });

  it('reports the messages of a zone that could not be read, and every instance event, and no others', async () => {
    // Arrange
    const aws = fakes();
    aws.route53.fail = (input) => (input.HostedZoneId === Z1 ? serviceError('Throttling') : undefined);
    const event = eventOf(
      register('m-1'),
      register('m-2', 'app.v4only.example.test'),
      sqsRecord(ec2StateChange('i-0000000a', 'terminated'), {
        messageId: 'm-3',
        sentTimestamp: SENT,
        senderId: SCHEDULER,
      }),
      sqsRecord('hello', { messageId: 'm-4', sentTimestamp: SENT }),
    );

    // Act
    const response = await processBatch(event, fakeDeps(aws, settings, NOW));

    // Assert
    expect(response).toEqual(failures('m-1', 'm-3'));
    expect(aws.sfn.calls.map((call) => JSON.parse(call.input ?? '').hostedZoneId)).toEqual([Z2]);
    expect(aws.sqs.sent.map(({ entry }) => dlqMessageId(entry))).toEqual(['m-4']);
  });

  it('reports every dead letter of a dead-letter send that failed as a whole', async () => {
    // Arrange
    const aws = fakes();
    aws.sqs.fail = () => serviceError('ServiceUnavailable');
    const event = eventOf(
      register('m-1'),
      sqsRecord('hello', { messageId: 'm-2', sentTimestamp: SENT }),
      sqsRecord('{}', { messageId: 'm-3', sentTimestamp: SENT }),
    );

    // Act
    const response = await processBatch(event, fakeDeps(aws, settings, NOW));

    // Assert
    expect(response).toEqual(failures('m-2', 'm-3'));
    expect(aws.sfn.executions.size).toBe(1);
  });

  it('reports only the dead letter SQS refused within a send', async () => {
    // Arrange
    const aws = fakes();
    aws.sqs.failEntry = (entry) => dlqMessageId(entry) === 'm-3';
    const event = eventOf(
      sqsRecord('hello', { messageId: 'm-1', sentTimestamp: SENT }),
      sqsRecord('{}', { messageId: 'm-2', sentTimestamp: SENT }),
      sqsRecord('[]', { messageId: 'm-3', sentTimestamp: SENT }),
    );

    // Act
    const response = await processBatch(event, fakeDeps(aws, settings, NOW));

    // Assert
    expect(response).toEqual(failures('m-3'));
    expect(aws.sqs.sent.map(({ entry }) => dlqMessageId(entry))).toEqual(['m-1', 'm-2']);
  });

  it('sends dead letters ten at a time and reports only the chunk whose send failed', async () => {
    // Arrange
    const aws = fakes();
    aws.sqs.fail = () => (aws.sqs.calls.length === 2 ? serviceError('ServiceUnavailable') : undefined);
    const ids = Array.from({ length: 12 }, (_, k) => `m-${String(k + 1).padStart(2, '0')}`);
    const event = eventOf(...ids.map((messageId) => sqsRecord('hello', { messageId, sentTimestamp: SENT })));

    // Act
    const response = await processBatch(event, fakeDeps(aws, settings, NOW));

    // Assert
    expect(response).toEqual(failures('m-11', 'm-12'));
    expect(aws.sqs.calls.map((call) => call.Entries?.length)).toEqual([10, 2]);
    expect(aws.sqs.sent.map(({ entry }) => dlqMessageId(entry))).toEqual(ids.slice(0, 10));
  });

  it('maps a redelivered batch to the same execution, and takes ExecutionAlreadyExists as success', async () => {
    // Arrange
    const aws = fakes();
    const event = eventOf(register('m-1'), register('m-2', 'api.dyn.example.test'));
    const deps = fakeDeps(aws, settings, NOW);

    // Act
    const first = await processBatch(event, deps);
    const second = await processBatch(event, deps);

    // Assert
    expect(first).toEqual(failures());
    expect(second).toEqual(failures());
    const [a, b] = aws.sfn.calls.map((call) => call.name);
    expect(aws.sfn.calls).toHaveLength(2);
    expect(b).toBe(a);
    expect(aws.sfn.executions.size).toBe(1);
  });

  it('lists a whole zone page by page when a sweep is in the batch', async () => {
    // Arrange: more records than one page, so that only following NextRecordName finds the expired lease
    const many = Array.from({ length: 350 }, (_, k) =>
      rrset(`h${k}.v4only.example.test.`, 'TXT', ['"note"']),
    );
    const expired = 'zz.v4only.example.test.';
    const zone2 = [
      ...many,
      rrset(expired, 'A', ['52.95.110.9']),
      rrset(`_r53dyn.${expired}`, 'TXT', [upEntry('i-00000009', SENT - HOUR / 2, '52.95.110.9')]),
    ];
    const aws = fakes({ [Z1]: [], [Z2]: zone2, [Z3]: [] });
    const sweep = sqsRecord(
      { v: 1, action: 'sweep' },
      { messageId: 'm-1', sentTimestamp: SENT, senderId: SCHEDULER },
    );

    // Act
    const response = await processBatch(eventOf(sweep), fakeDeps(aws, settings, NOW));

    // Assert
    expect(response).toEqual(failures());
    expect(aws.route53.calls.filter((call) => call.HostedZoneId === Z2)).toHaveLength(2);
    const input = JSON.parse(aws.sfn.calls[0]?.input ?? '');
    expect(aws.sfn.calls).toHaveLength(1);
    expect(input.summary).toEqual({
      records: [{ record: expired, added: [], removed: ['52.95.110.9'] }],
      messages: 1,
      part: '1/1',
    });
  });
});

describe('processBatch, whatever fails', () => {
  const instances = ['i-00000001', 'i-00000002', 'i-00000003'];
  const records = [
    'web.dyn.example.test',
    'api.dyn.example.test',
    'hand.dyn.example.test',
    'app.v4only.example.test',
    'box.lab.example.test',
    'web.elsewhere.test',
  ];
  const zones = (): Record<string, RecordSet[]> => ({
    [Z1]: [
      rrset('hand.dyn.example.test.', 'A', ['203.0.113.10'], 300),
      rrset(WEB, 'A', ['52.95.110.1']),
      rrset(`_r53dyn.${WEB}`, 'TXT', [upEntry('i-00000001', SENT - 5000, '52.95.110.1')]),
    ],
    [Z2]: [
      rrset('app.v4only.example.test.', 'A', ['52.95.110.2']),
      rrset('_r53dyn.app.v4only.example.test.', 'TXT', [
        upEntry('i-00000002', SENT - 400_000, '52.95.110.2'),
      ]),
    ],
    [Z3]: [],
  });

  interface Draft {
    body: string | object;
    sentTimestamp: number;
    senderId: string;
  }

  const sentTimestamp = fc.oneof(
    fc.integer({ min: 0, max: 5 }).map((k) => SENT - k * 1000),
    fc.constant(NOW - 2 * HOUR),
  );
  const registrationDraft: fc.Arbitrary<Draft> = fc
    .record({
      action: fc.constantFrom('register' as const, 'deregister' as const, 'heartbeat' as const),
      record: fc.constantFrom(...records),
      instanceId: fc.constantFrom(...instances),
      ipv4: fc.constantFrom('52.95.110.1', '52.95.110.2', '10.0.0.1'),
      sentTimestamp,
      boundToSender: fc.boolean(),
    })
    .map(({ action, record, instanceId, ipv4, sentTimestamp: t, boundToSender }) => ({
      body: registration({ action, record, instanceId, ipv4 }),
      sentTimestamp: t,
      senderId: instanceSenderId(boundToSender ? instanceId : 'i-0000000f'),
    }));
  const scheduledDraft: fc.Arbitrary<Draft> = fc
    .oneof(
      fc.constant<object>({ v: 1, action: 'sweep' }),
      fc
        .record({
          instanceId: fc.constantFrom(...instances),
          state: fc.constantFrom('terminated', 'running'),
        })
        .map(({ instanceId, state }) => ec2StateChange(instanceId, state)),
    )
    .chain((body) => sentTimestamp.map((t) => ({ body, sentTimestamp: t, senderId: SCHEDULER })));
  const junkDraft: fc.Arbitrary<Draft> = fc
    .constantFrom('hello', '{}', '{"v":2}', '[]')
    .map((body) => ({ body, sentTimestamp: SENT, senderId: instanceSenderId() }));

  const scenario = fc.record({
    drafts: fc.array(fc.oneof({ weight: 5, arbitrary: registrationDraft }, scheduledDraft, junkDraft), {
      minLength: 1,
      maxLength: 16,
    }),
    unreadable: fc.subarray([Z1, Z2, Z3]),
    startOutcomes: fc.array(fc.constantFrom('ok', 'ok', 'error', 'exists'), { maxLength: 4 }),
    failedSends: fc.array(fc.boolean(), { maxLength: 2 }),
    refusedLetters: fc.array(fc.boolean(), { maxLength: 16 }),
  });

  const toEvent = (drafts: Draft[]) =>
    eventOf(...drafts.map(({ body, ...options }, k) => sqsRecord(body, { messageId: `m-${k}`, ...options })));

  it('reports a subset of the batch without duplicates, and accounts for every message it acknowledges', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenario,
        async ({ drafts, unreadable, startOutcomes, failedSends, refusedLetters }) => {
          // Arrange
          const event = toEvent(drafts);
          const aws = fakes(zones());
          aws.route53.fail = (input) =>
            unreadable.includes(input.HostedZoneId ?? '') ? serviceError('Throttling') : undefined;
          const started: StartExecutionCommandInput[] = [];
          aws.sfn.fail = (input) => {
            const outcome = startOutcomes[aws.sfn.calls.length - 1] ?? 'ok';
            if (outcome === 'error') return serviceError('ServiceUnavailable');
            started.push(input);
            return outcome === 'exists'
              ? new ExecutionAlreadyExists({ message: 'exists', $metadata: {} })
              : undefined;
          };
          aws.sqs.fail = () =>
            failedSends[aws.sqs.calls.length - 1] ? serviceError('InternalError') : undefined;
          aws.sqs.failEntry = (entry) => refusedLetters[Number(dlqMessageId(entry)?.slice(2))] === true;

          // Act
          const response = await processBatch(event, fakeDeps(aws, settings, NOW));

          // Assert
          const ids = event.Records.map((record) => record.messageId);
          const failed = response.batchItemFailures.map((failure) => failure.itemIdentifier);
          expect(new Set(failed).size).toBe(failed.length);
          expect(failed.filter((id) => !ids.includes(id))).toEqual([]);

          const deadLettered = new Set(aws.sqs.sent.map(({ entry }) => dlqMessageId(entry)));
          const requeued = new Set(
            started.flatMap((call) =>
              JSON.parse(call.input ?? '')
                .requeue.flat()
                .map(
                  (entry: {
                    MessageBody: string;
                    MessageAttributes: Record<string, { StringValue: string }>;
                  }) =>
                    `${entry.MessageAttributes['r53dyn-sent-timestamp']?.StringValue} ${entry.MessageBody}`,
                ),
            ),
          );
          for (const record of event.Records) {
            if (failed.includes(record.messageId) || deadLettered.has(record.messageId)) continue;
            if (requeued.has(`${record.attributes.SentTimestamp} ${record.body}`)) continue;
            // Neither failed, dead-lettered nor in a started execution: on its own it must change nothing.
            const alone = fakes(zones());
            const outcome = await processBatch(eventOf(record), fakeDeps(alone, settings, NOW));
            expect({
              id: record.messageId,
              outcome,
              starts: alone.sfn.calls,
              letters: alone.sqs.calls,
            }).toEqual({
              id: record.messageId,
              outcome: failures(),
              starts: [],
              letters: [],
            });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
