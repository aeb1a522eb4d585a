// The planner handler over in-memory SQS, Route 53 and Step Functions (docs/design.md §4.2-4.5, §9): which deltas
// it keeps in flight and which it lets go, what it dead-letters, and what it starts.

import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { ATTRIBUTES } from '../../handlers/core/contract';
import type { Delta } from '../../handlers/core/delta';
import { deduplicationId } from '../../handlers/core/delta';
import type { Message } from '../../handlers/core/model';
import { WORKFLOW_ERRORS } from '../../handlers/core/outcome';
import { processDeltas } from '../../handlers/planner';
import { serviceError } from '../helpers/fake-client';
import {
  DEAD_LETTER_QUEUE_URL,
  deadLettered,
  eventOf,
  failures,
  fakeAws,
  plannerDeps,
  plannerSettings,
  ZONE_QUEUE_URL,
} from '../helpers/handler-deps';
import {
  dynZone,
  fqdn,
  instanceGoneOf,
  machine,
  NOW,
  registerOf,
  SENT,
  servedRRsets,
  upEntry,
  v4Zone,
} from '../helpers/messages';

const m1 = machine(1);
const m2 = machine(2);
const Z1 = dynZone.hostedZoneId;
const VISIBILITY_MS = 300_000;

let aws: ReturnType<typeof fakeAws>;
let clock: number;

/** Puts deltas (or raw bodies) on the zone queue as the batcher would. */
async function onZoneQueue(...deltas: (Delta | { raw: string; group: string })[]): Promise<void> {
  const Entries = deltas.map((d, n) => {
    const body = 'raw' in d ? d.raw : JSON.stringify(d);
    const group = 'raw' in d ? d.group : d.hostedZoneId;
    return {
      Id: `e${n}`,
      MessageBody: body,
      MessageGroupId: group,
      MessageDeduplicationId: 'raw' in d ? `raw-${n}` : deduplicationId(d),
    };
  });
  await aws.sqs.send(new SendMessageBatchCommand({ QueueUrl: ZONE_QUEUE_URL, Entries }));
}

const delta = (hostedZoneId: string, ...messages: Message[]): Delta => ({ v: 1, hostedZoneId, messages });
/** One receive of the zone queue, as Lambda's event source mapping hands it over. */
const receive = (): SQSRecord[] => aws.sqs.receive(ZONE_QUEUE_URL, 10);
const plan = (records: SQSRecord[], settings = plannerSettings()) =>
  processDeltas(
    eventOf(...records),
    plannerDeps(aws, () => clock, settings),
  );
/** The same deltas received again once their visibility ran out. */
function receiveAgain(): SQSRecord[] {
  clock += VISIBILITY_MS;
  return receive();
}
const ids = (records: SQSRecord[]) => records.map((r) => r.messageId);

const web1 = registerOf(m1, 'web', SENT, { messageId: 'w1' });
const api2 = registerOf(m2, 'api', SENT, { messageId: 'a2' });

beforeEach(() => {
  clock = NOW;
  aws = fakeAws(() => clock);
  aws.route53.createZone(Z1);
  aws.route53.createZone(v4Zone.hostedZoneId);
  jest.spyOn(Math, 'random').mockReturnValue(0);
});

afterEach(() => jest.restoreAllMocks());

describe('processDeltas', () => {
  it('keeps the deltas in flight (reported failed) while the execution it started writes the zone', async () => {
    await onZoneQueue(delta(Z1, web1), delta(Z1, api2));
    const records = receive();

    const response = await plan(records);

    expect(response).toEqual(failures(...ids(records)));
    const [execution] = aws.sfn.executions.values();
    expect(execution?.name).toBe(`${Z1}-${records[0]?.messageId}-r1`);
    expect(execution?.input.parts.flatMap((p) => p.records.map((r) => r.name))).toEqual(['api', 'web']);
    expect(execution?.input.release.delete.map((d) => d.ReceiptHandle)).toEqual(
      records.map((r) => r.receiptHandle),
    );
    expect(deadLettered(aws)).toEqual([]);
  });

  it('lets the deltas go when there is nothing to write', async () => {
    aws.route53.createZone(Z1, servedRRsets(fqdn('web'), [upEntry(m1, SENT)]));
    await onZoneQueue(delta(Z1, web1));

    const response = await plan(receive());

    expect(response).toEqual(failures());
    expect(aws.sfn.requests.map((r) => r.command)).toEqual([]);
  });

  it('dead-letters every message zone-missing on the first try when the hosted zone does not exist', async () => {
    aws.route53.deleteZone(Z1);
    await onZoneQueue(delta(Z1, web1, instanceGoneOf(m2, SENT, 'e1')), delta(Z1, api2));

    const response = await plan(receive());

    expect(response).toEqual(failures());
    expect(deadLettered(aws)).toEqual([
      { messageId: 'w1', code: 'zone-missing' },
      { messageId: 'e1', code: 'zone-missing' },
      { messageId: 'a2', code: 'zone-missing' },
    ]);
    expect(aws.sfn.executions.size).toBe(0);
  });

  it('keeps the deltas and plans nothing while the previous round’s execution still runs', async () => {
    await onZoneQueue(delta(Z1, web1));
    await plan(receive());
    const reads = aws.route53.requests.length;
    const again = receiveAgain();

    const response = await plan(again);

    expect(response).toEqual(failures(...ids(again)));
    expect(aws.route53.requests.length).toBe(reads);
    expect(aws.sfn.requests.map((r) => r.command)).toEqual(['StartExecution', 'DescribeExecution']);
  });

  it('still finds the running execution when the receive before it started none', async () => {
    await onZoneQueue(delta(Z1, web1));
    const first = receive();
    await plan(first);
    await plan(receiveAgain());
    const third = receiveAgain();

    const response = await plan(third);

    expect(response).toEqual(failures(...ids(third)));
    expect([...aws.sfn.executions.keys()]).toEqual([`${Z1}-${first[0]?.messageId}-r1`]);
    expect(aws.sfn.requests.map((r) => r.command)).toEqual([
      'StartExecution',
      'DescribeExecution',
      'DescribeExecution',
      'DescribeExecution',
    ]);
  });

  it('dead-letters the records a failed part was about past the attempt bound, and writes the rest', async () => {
    await onZoneQueue(delta(Z1, web1, api2));
    const settings = plannerSettings({ maxAttempts: 1 });
    const first = receive();
    await plan(first, settings);
    const cause = JSON.stringify([
      { records: ['web'], error: 'Route53.ThrottlingException', cause: 'Rate exceeded' },
    ]);
    aws.sfn.end(`${Z1}-${first[0]?.messageId}-r1`, 'FAILED', { error: WORKFLOW_ERRORS.partsFailed, cause });
    const second = receiveAgain();

    const response = await plan(second, settings);

    expect(response).toEqual(failures(...ids(second)));
    expect(
      aws.sqs
        .messages(DEAD_LETTER_QUEUE_URL)
        .map((m) => [m.messageAttributes[ATTRIBUTES.messageId], m.messageAttributes[ATTRIBUTES.reason]]),
    ).toEqual([
      [
        'w1',
        `retries-exhausted: execution ${Z1}-${first[0]?.messageId}-r1 ended FAILED: Route53.ThrottlingException: Rate exceeded (after 1 attempts)`,
      ],
    ]);
    const execution = aws.sfn.executions.get(`${Z1}-${first[0]?.messageId}-r2`);
    expect(execution?.input.parts.flatMap((p) => p.records.map((r) => r.name))).toEqual(['api']);
  });

  it('refuses at once the records Route 53 refused by name, on the next receive', async () => {
    await onZoneQueue(delta(Z1, web1, api2));
    const first = receive();
    await plan(first);
    const cause = JSON.stringify([
      {
        records: ['api', 'web'],
        error: 'Route53.InvalidChangeBatchException',
        cause: `RRSet with DNS name ${fqdn('web')} is not permitted`,
      },
    ]);
    aws.sfn.end(`${Z1}-${first[0]?.messageId}-r1`, 'FAILED', { error: WORKFLOW_ERRORS.partsFailed, cause });

    await plan(receiveAgain());

    expect(deadLettered(aws)).toEqual([{ messageId: 'w1', code: 'invalid-change' }]);
  });

  it('keeps the deltas and brings them back after a backoff when reading the zone is throttled', async () => {
    aws.route53.failRequest = () => serviceError('Throttling', 'Rate exceeded');
    await onZoneQueue(delta(Z1, web1));
    const records = receive();

    const response = await plan(records);

    expect(response).toEqual(failures(...ids(records)));
    expect(aws.sqs.inputsOf('ChangeMessageVisibilityBatch')).toEqual([
      {
        QueueUrl: ZONE_QUEUE_URL,
        Entries: [{ Id: 'v0', ReceiptHandle: records[0]?.receiptHandle, VisibilityTimeout: 1 }],
      },
    ]);
    expect(aws.sqs.messages(ZONE_QUEUE_URL)[0]?.visibleAt).toBe(clock + 1000);
  });

  it('dead-letters a corrupt delta raw and plans the zone’s good deltas', async () => {
    await onZoneQueue({ raw: '{"v":1,"hostedZoneId":', group: Z1 }, delta(Z1, web1));
    const records = receive();

    const response = await plan(records);

    const [letter] = aws.sqs.messages(DEAD_LETTER_QUEUE_URL);
    expect(letter?.body).toBe('{"v":1,"hostedZoneId":');
    expect(letter?.messageAttributes[ATTRIBUTES.reason]).toBe(
      'workflow-error: the zone-queue message is not JSON; the raw zone-queue message is kept here',
    );
    expect(letter?.messageAttributes[ATTRIBUTES.messageId]).toBe(records[0]?.messageId);
    expect(response).toEqual(failures(...ids(records)));
    expect([...aws.sfn.executions.keys()]).toEqual([`${Z1}-${records[1]?.messageId}-r1`]);
  });

  it('dead-letters the messages of a zone no longer in the allowlist', async () => {
    await onZoneQueue(delta('ZGONE', web1));

    const response = await plan(receive());

    expect(response).toEqual(failures());
    expect(deadLettered(aws)).toEqual([{ messageId: 'w1', code: 'record-not-allowed' }]);
  });

  it('keeps the round and tries it again later when its dead letters cannot be sent', async () => {
    aws.route53.createZone(Z1, [...servedRRsets(fqdn('web'), [upEntry(m2, SENT)]).slice(0, 1)]);
    await onZoneQueue(delta(Z1, web1));
    aws.sqs.refuseEntry = () => ({ code: 'InternalError', senderFault: false });
    const records = receive();

    const response = await plan(records);

    expect(response).toEqual(failures(...ids(records)));
    expect(aws.sfn.executions.size).toBe(0);
    expect(aws.sqs.inputsOf('ChangeMessageVisibilityBatch')).toHaveLength(1);
  });

  it('keeps the round and tries it again later when the execution cannot be started', async () => {
    aws.sfn.failRequest = (command) =>
      command === 'StartExecution' ? serviceError('ServiceUnavailable') : undefined;
    await onZoneQueue(delta(Z1, web1));
    const records = receive();

    const response = await plan(records);

    expect(response).toEqual(failures(...ids(records)));
    expect(aws.sqs.inputsOf('ChangeMessageVisibilityBatch')).toHaveLength(1);
  });

  it('decides each zone of a batch on its own', async () => {
    aws.route53.createZone(
      v4Zone.hostedZoneId,
      servedRRsets(fqdn('web', v4Zone), [upEntry(m1, SENT, v4Zone)], { zone: v4Zone }),
    );
    await onZoneQueue(
      delta(Z1, web1),
      delta(v4Zone.hostedZoneId, registerOf(m1, 'web', SENT, { zone: v4Zone })),
    );
    const records = receive();

    const response = await plan(records);

    expect(response).toEqual(failures(records[0]?.messageId ?? ''));
  });
});
