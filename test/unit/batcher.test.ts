// The batcher handler over an in-memory SQS (docs/design.md §4.1, §9): a delivery is acknowledged only once its
// message is on the dead-letter queue or in a delta on the zone queue; SendMessageBatch entries SQS refuses are
// sent again on their own, unless SQS blames the sender.
import type { SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { processBatch } from '../../handlers/batcher';
import { SWEEP_BODY } from '../../handlers/core/contract';
import { decodeDelta, deduplicationId } from '../../handlers/core/delta';
import { serviceError } from '../helpers/fake-client';
import {
  batcherDeps,
  DEAD_LETTER_QUEUE_URL,
  deadLettered,
  eventOf,
  type FakeAws,
  failures,
  fakeAws,
  ZONE_QUEUE_URL,
} from '../helpers/handler-deps';
import {
  dynZone,
  ec2StateChange,
  eventRecord,
  fleet,
  labZone,
  type Machine,
  NOW,
  registrationRecord,
  SENT,
  sqsRecord,
  v4Zone,
} from '../helpers/messages';

const [m1, m2] = fleet(2) as [Machine, Machine];

let aws: FakeAws;
const run = (...records: ReturnType<typeof sqsRecord>[]) =>
  processBatch(
    eventOf(...records),
    batcherDeps(aws, () => NOW),
  );
const register = (id: string, m = m1, record = `web.${dynZone.suffix}`, sentAt = SENT) =>
  registrationRecord(id, { record, instanceId: m.instanceId, ipv4: m.ipv4 }, sentAt);
const bad = (id: string) => sqsRecord('not json', { messageId: id });
/** The entry ids of each SendMessageBatch to a queue, in order. */
const sends = (queueUrl: string) =>
  aws.sqs
    .inputsOf<SendMessageBatchCommandInput>('SendMessageBatch')
    .filter((input) => input.QueueUrl === queueUrl)
    .map((input) => (input.Entries ?? []).map((e) => e.Id));
const zoneDeltas = () =>
  aws.sqs.messages(ZONE_QUEUE_URL).map((m) => ({ group: m.groupId, delta: decodeDelta(m.body) }));

/** SQS refuses, every time and not for the sender's fault, the deltas of one zone. */
function refuseDeltasOf(hostedZoneId: string): void {
  aws.sqs.refuseEntry = (url, entry) =>
    url === ZONE_QUEUE_URL && entry.MessageGroupId === hostedZoneId
      ? { code: 'InternalError', senderFault: false }
      : undefined;
}

beforeEach(() => {
  aws = fakeAws(() => NOW);
  // no jitter: the adapter's retries of refused entries do not wait
  jest.spyOn(Math, 'random').mockReturnValue(0);
});

afterEach(() => jest.restoreAllMocks());

describe('processBatch', () => {
  it('acknowledges every delivery once its dead letter and its delta are sent', async () => {
    const response = await run(register('m-1'), bad('m-2'), register('m-3', m2));

    expect(response).toEqual(failures());
    expect(deadLettered(aws)).toEqual([{ messageId: 'm-2', code: 'not-json' }]);
    const [sent] = aws.sqs
      .inputsOf<SendMessageBatchCommandInput>('SendMessageBatch')
      .filter((i) => i.QueueUrl === ZONE_QUEUE_URL);
    const delta = decodeDelta(sent?.Entries?.[0]?.MessageBody ?? '');
    expect(delta.messages.map((m) => m.messageId)).toEqual(['m-1', 'm-3']);
    expect(sent?.Entries?.[0]).toMatchObject({
      MessageGroupId: dynZone.hostedZoneId,
      MessageDeduplicationId: deduplicationId(delta),
    });
  });

  it('writes a dead letter’s reason and original envelope as message attributes', async () => {
    await run(bad('m-2'));

    const [letter] = aws.sqs.messages(DEAD_LETTER_QUEUE_URL);
    expect(letter?.body).toBe('not json');
    expect(letter?.messageAttributes).toEqual({
      'r53dyn-reason': 'not-json: body is not valid JSON: "not json"',
      'r53dyn-message-id': 'm-2',
      'r53dyn-sent-timestamp': String(SENT),
      'r53dyn-sender-id': 'AROAEXAMPLEROLEID12345:i-0123456789abcdef0',
    });
  });

  it('reports a delivery whose dead letter could not be sent, and acknowledges the rest', async () => {
    aws.sqs.refuseEntry = (url) =>
      url === DEAD_LETTER_QUEUE_URL ? { code: 'InternalError', senderFault: false } : undefined;

    const response = await run(register('m-1'), bad('m-2'));

    expect(response).toEqual(failures('m-2'));
    expect(sends(DEAD_LETTER_QUEUE_URL)).toEqual([['l0'], ['l0'], ['l0'], ['l0'], ['l0']]);
    expect(zoneDeltas()).toHaveLength(1);
  });

  it('reports every delivery a delta would have acknowledged when it could not be sent, duplicates included', async () => {
    refuseDeltasOf(dynZone.hostedZoneId);

    const response = await run(
      register('m-1'),
      register('m-2', m1, `web.${dynZone.suffix}`, SENT + 1),
      register('m-3', m2, `web.${v4Zone.suffix}`),
      bad('m-4'),
    );

    expect(response).toEqual(failures('m-1', 'm-2'));
    expect(zoneDeltas().map((d) => d.group)).toEqual([v4Zone.hostedZoneId]);
    expect(deadLettered(aws)).toEqual([{ messageId: 'm-4', code: 'not-json' }]);
  });

  it('reports an EC2 event when the delta of any one zone could not be sent', async () => {
    refuseDeltasOf(labZone.hostedZoneId);

    const response = await run(
      eventRecord('e-1', ec2StateChange(m1.instanceId, 'terminated')),
      register('m-1', m2, `web.${v4Zone.suffix}`),
    );

    expect(response).toEqual(failures('e-1'));
    expect(zoneDeltas().map((d) => [d.group, d.delta.messages.map((m) => m.messageId)])).toEqual([
      [dynZone.hostedZoneId, ['e-1']],
      [v4Zone.hostedZoneId, ['e-1', 'm-1']],
    ]);
  });

  it('sends again only the entries SQS refused, in a request of their own', async () => {
    const refused = new Set(['l3', 'l11']);
    aws.sqs.refuseEntry = (_, entry) =>
      refused.delete(entry.Id ?? '') ? { code: 'InternalError', senderFault: false } : undefined;
    const letters = Array.from({ length: 12 }, (_, i) => bad(`b-${i}`));

    const response = await run(...letters);

    expect(response).toEqual(failures());
    expect(sends(DEAD_LETTER_QUEUE_URL)).toEqual([
      ['l0', 'l1', 'l2', 'l3', 'l4', 'l5', 'l6', 'l7', 'l8', 'l9'],
      ['l10', 'l11'],
      ['l3', 'l11'],
    ]);
    expect(
      deadLettered(aws)
        .map((d) => d.messageId)
        .sort(),
    ).toEqual(letters.map((l) => l.messageId).sort());
  });

  it('does not retry an entry SQS blames on the sender, and reports its delivery', async () => {
    aws.sqs.refuseEntry = (_, entry) =>
      entry.Id === 'l1' ? { code: 'InvalidMessageContents', senderFault: true } : undefined;

    const response = await run(bad('b-0'), bad('b-1'), register('m-1'));

    expect(response).toEqual(failures('b-1'));
    expect(sends(DEAD_LETTER_QUEUE_URL)).toEqual([['l0', 'l1']]);
  });

  it('retries a request that failed as a whole, and reports its deliveries when it never goes through', async () => {
    let failing = 2;
    aws.sqs.failRequest = (command, input) => {
      const toZones =
        command === 'SendMessageBatch' && (input as SendMessageBatchCommandInput).QueueUrl === ZONE_QUEUE_URL;
      if (!toZones || failing === 0) return undefined;
      failing -= 1;
      return serviceError('ServiceUnavailable');
    };

    const recovered = await run(register('m-1'));
    aws.sqs.failRequest = () => serviceError('ServiceUnavailable');
    const lost = await run(register('m-2'), bad('b-1'));

    expect(recovered).toEqual(failures());
    expect(lost).toEqual(failures('b-1', 'm-2'));
  });

  it('sends the same delta again when retried with the same messages, which the FIFO queue drops', async () => {
    await run(register('m-1'), register('m-2', m2));
    await run(register('m-2', m2), register('m-1'));

    expect(sends(ZONE_QUEUE_URL)).toEqual([['d0'], ['d0']]);
    expect(zoneDeltas()).toHaveLength(1);
  });

  it('puts a sweep from the events queue into every zone’s delta, and dead-letters one from the registrations queue', async () => {
    const response = await run(eventRecord('s-1', SWEEP_BODY), sqsRecord(SWEEP_BODY, { messageId: 's-2' }));

    expect(response).toEqual(failures());
    expect(zoneDeltas().map((d) => d.group)).toEqual([
      dynZone.hostedZoneId,
      v4Zone.hostedZoneId,
      labZone.hostedZoneId,
    ]);
    expect(deadLettered(aws)).toEqual([{ messageId: 's-2', code: 'event-not-trusted' }]);
  });
});
