// The whole bad-message corpus, end to end: every entry goes onto a real SQS queue in LocalStack (the events
// queue for those marked so), interleaved with valid registrations in batches of ten, comes back off it, runs
// through the real batcher (processBatch) and then the real planner (processDeltas, with the deployed state
// machine), and must end in the dead-letter queue with its reason, while Route 53 changes only where the valid
// registrations said, through SUCCEEDED executions.

import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type RRType,
} from '@aws-sdk/client-route-53';
import { DescribeExecutionCommand, SFNClient, type StartExecutionCommandInput } from '@aws-sdk/client-sfn';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { type BatcherDeps, processBatch } from '../../handlers/batcher';
import { ATTRIBUTES } from '../../handlers/core/contract';
import type { Allowlist } from '../../handlers/core/model';
import type { WorkflowInput } from '../../handlers/core/workflow-input';
import { type PlannerDeps, processDeltas } from '../../handlers/planner';
import { type BatcherSettings, type PlannerSettings, readPlannerSettings } from '../../handlers/settings';
import { toRecord } from '../../infra/local/event-source';
import badMessages from '../data/bad-messages.json';
import { endpoint, region, route53, sfn, sqs } from '../helpers/localstack';
import { INSTANCE_ROLE_ID, instanceSenderId, testAllowlist } from '../helpers/messages';
import { type DeployedStack, deployedStack, receiveAll, receiveSome, recordValues } from '../helpers/stack';

interface CorpusEntry {
  name: string;
  body?: string;
  bodyGenerator?: { parts: [string, number][] };
  reason: string;
  senderId?: string;
  /** EC2 events and sweeps judged on their own merits come through the events queue (docs/design.md §7.2) */
  queue?: 'events';
}

const corpus: CorpusEntry[] = badMessages as CorpusEntry[];

function corpusBody(entry: CorpusEntry): string {
  if (entry.bodyGenerator === undefined) return entry.body ?? '';
  return entry.bodyGenerator.parts.map(([text, times]) => text.repeat(times)).join('');
}

// LocalStack keeps its state for the whole run (and the local run may have used these names before)
const run = Date.now().toString(36);

interface Outgoing {
  /** the corpus entry, or undefined for a valid registration */
  entry?: CorpusEntry;
  body: string;
  /** the valid registration's record, without trailing dot */
  record?: string;
  ipv4?: string;
  /** the SenderId AWS would report; set on every message of a batch that runs with sender binding */
  senderId?: string;
}

interface PlannedBatch {
  senderBinding: boolean;
  queue: 'registrations' | 'events';
  messages: Outgoing[];
}

let goodCount = 0;

function goodRegistration(senderBinding: boolean): Outgoing {
  goodCount += 1;
  const record = `hostile-${run}-${goodCount}.dyn.example.test`;
  const instanceId = `i-${goodCount.toString(16).padStart(17, '0')}`;
  const ipv4 = `54.240.${Math.floor(goodCount / 200)}.${(goodCount % 200) + 10}`;
  const body = JSON.stringify({ v: 1, action: 'register', record, instanceId, ipv4 });
  return senderBinding
    ? { body, record, ipv4, senderId: instanceSenderId(instanceId) }
    : { body, record, ipv4 };
}

/** Eight corpus entries and two valid registrations per batch of ten, the valid ones at positions 3 and 7. */
function planBatches(
  entries: CorpusEntry[],
  senderBinding: boolean,
  queue: PlannedBatch['queue'] = 'registrations',
): PlannedBatch[] {
  const batches: PlannedBatch[] = [];
  for (let i = 0; i < entries.length; i += 8) {
    const bad: Outgoing[] = entries.slice(i, i + 8).map((entry) => {
      const outgoing: Outgoing = { entry, body: corpusBody(entry) };
      if (entry.senderId !== undefined) outgoing.senderId = entry.senderId;
      return outgoing;
    });
    const messages = [...bad];
    messages.splice(2, 0, goodRegistration(senderBinding));
    messages.splice(6, 0, goodRegistration(senderBinding));
    batches.push({ senderBinding, queue, messages });
  }
  return batches;
}

// SQS accepts bodies of at least one character from #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
// #x10000-#x10FFFF; any other body is refused at SendMessage, on AWS as here, and never reaches the batcher.
function refusedBySqs(body: string): boolean {
  if (body === '') return true;
  for (const char of body) {
    const code = char.codePointAt(0) ?? 0;
    const allowed =
      code === 0x9 ||
      code === 0xa ||
      code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      code >= 0x10000;
    if (!allowed) return true;
  }
  return false;
}

const sendable = corpus.filter((entry) => !refusedBySqs(corpusBody(entry)));
const unsendable = corpus.filter((entry) => refusedBySqs(corpusBody(entry)));

// Corpus entries with a senderId are about sender binding: they run in a batch whose settings turn it on;
// entries marked for the events queue run in batches that come from it.
const batches = [
  ...planBatches(
    sendable.filter((entry) => entry.senderId === undefined && entry.queue === undefined),
    false,
  ),
  ...planBatches(
    sendable.filter((entry) => entry.senderId !== undefined && entry.queue === undefined),
    true,
  ),
  ...planBatches(
    sendable.filter((entry) => entry.queue === 'events'),
    false,
    'events',
  ),
];
const goods = batches.flatMap((b) => b.messages).filter((m) => m.entry === undefined);

let deployed: DeployedStack;
let allowlist: Allowlist;
/** this file's own pair of queues, shaped like the stack's (see beforeAll) */
let queueUrl: string;
let deadLetterQueueUrl: string;

async function ensureZone(name: string): Promise<string> {
  const found = await route53.send(new ListHostedZonesByNameCommand({ DNSName: name, MaxItems: 1 }));
  const existing = found.HostedZones?.find((zone) => zone.Name === `${name}.`)?.Id;
  const id =
    existing ??
    (
      await route53.send(
        new CreateHostedZoneCommand({ Name: name, CallerReference: `hostile-${name}-${run}` }),
      )
    ).HostedZone?.Id;
  if (id === undefined) throw new Error(`could not create ${name}`);
  return id.replace('/hostedzone/', '');
}

/** Every rrset of a zone, all pages: helpers/stack.ts's zoneSnapshot stops at 300, and dyn.example.test grows. */
async function fullZone(zoneId: string): Promise<ResourceRecordSet[]> {
  const all: ResourceRecordSet[] = [];
  let start: { StartRecordName?: string; StartRecordType?: RRType } = {};
  for (;;) {
    const out = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }));
    all.push(...(out.ResourceRecordSets ?? []));
    if (!out.IsTruncated) return all;
    start = { StartRecordName: out.NextRecordName, StartRecordType: out.NextRecordType };
  }
}

async function snapshotAll(zoneIds: string[]): Promise<Record<string, ResourceRecordSet[]>> {
  const entries = await Promise.all(zoneIds.map(async (id) => [id, await fullZone(id)] as const));
  return Object.fromEntries(entries);
}

const eventsQueueArn = 'arn:aws:sqs:us-east-1:000000000000:r53dyn-hostile-events';
const logger = new Logger({ serviceName: 'r53dyn', logLevel: 'ERROR' });

function batcherDeps(senderBinding: boolean): BatcherDeps {
  const settings: BatcherSettings = {
    allowlist,
    senderBinding: senderBinding ? { instanceRoleIds: [INSTANCE_ROLE_ID] } : false,
    relayRoleIds: [],
    eventsQueueArn,
    zoneQueueUrl: deployed.zoneQueueUrl,
    deadLetterQueueUrl,
  };
  // 133 rejections would each log a warning; errors still show
  return { settings, sqs, logger, now: Date.now };
}

function plannerDeps(): PlannerDeps {
  const settings: PlannerSettings = {
    ...readPlannerSettings(deployed.deployment.functions.planner.environment),
    allowlist,
    deadLetterQueueUrl,
  };
  return { settings, route53, sfn: recordingSfn, sqs, logger, now: Date.now };
}

/** An SQS record as the Lambda event source builds it from a received message. */
function asRecord(message: Message, senderId: string | undefined, queue: PlannedBatch['queue']): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '',
      // LocalStack reports the account id as SenderId; under binding, this is what AWS would report instead
      SenderId: senderId ?? attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN:
      queue === 'events' ? eventsQueueArn : `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split('/').pop()}`,
    awsRegion: 'us-east-1',
  };
}

/** Receives until every id in `wanted` has arrived (the queue is this file's own: nothing else is on it). */
async function receiveExactly(wanted: Set<string>): Promise<Map<string, Message>> {
  const got = new Map<string, Message>();
  const deadline = Date.now() + 60_000;
  while (got.size < wanted.size && Date.now() < deadline) {
    for (const message of await receiveSome(queueUrl)) got.set(message.MessageId ?? '', message);
  }
  return got;
}

/** What the batcher asked Step Functions to start, recorded on the way out: the only way it can write Route 53. */
const started: StartExecutionCommandInput[] = [];
const recordingSfn = new SFNClient({
  endpoint,
  region,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
recordingSfn.middlewareStack.add(
  (next, context) => async (args) => {
    if (context.commandName === 'StartExecutionCommand')
      started.push(args.input as StartExecutionCommandInput);
    return next(args);
  },
  { step: 'initialize', name: 'recordStartExecution' },
);

const changesOf = (input: string | undefined): string[] =>
  input === undefined
    ? []
    : (JSON.parse(input) as WorkflowInput).parts.flatMap((part) =>
        part.records.flatMap((record) =>
          record.slots
            .flat()
            .map(
              (change) =>
                `${change.Action} ${change.ResourceRecordSet.Type} ${change.ResourceRecordSet.Name}`,
            ),
        ),
      );

async function waitForEnd(executionArn: string) {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING' || Date.now() > deadline) return described;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const codeOf = (reason: string | undefined) => reason?.split(':')[0];

const executionArnOf = (input: StartExecutionCommandInput) =>
  `${input.stateMachineArn?.replace(':stateMachine:', ':execution:')}:${input.name}`;

/**
 * One receive from the zone queue, as the planner's event source makes it. Every delta is taken, this run's or
 * not: a FIFO group hands out its oldest first, and the zone's deltas are written whoever sent them.
 */
async function nextDeltas(): Promise<SQSEvent> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: deployed.zoneQueueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 2,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  const queueArn = `arn:aws:sqs:us-east-1:000000000000:${deployed.zoneQueueUrl.split('/').pop()}`;
  return { Records: (out.Messages ?? []).map((m) => toRecord(m, queueArn)) };
}

beforeAll(async () => {
  deployed = await deployedStack();
  // Other test files drain the stack's registrations queue through the deployed handler, whose allowlist lacks
  // this corpus's zones; so the messages travel through this file's own queues, with the stack's attributes.
  const shape = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: deployed.queueUrl,
      AttributeNames: ['VisibilityTimeout', 'MessageRetentionPeriod', 'MaximumMessageSize'],
    }),
  );
  deadLetterQueueUrl =
    (await sqs.send(new CreateQueueCommand({ QueueName: `r53dyn-hostile-${run}-dead-letter` }))).QueueUrl ??
    '';
  const deadLetterArn = `arn:aws:sqs:us-east-1:000000000000:r53dyn-hostile-${run}-dead-letter`;
  queueUrl =
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: `r53dyn-hostile-${run}-registrations`,
          Attributes: {
            ...shape.Attributes,
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: 5 }),
          },
        }),
      )
    ).QueueUrl ?? '';
  const ids: Record<string, string> = {
    'dyn.example.test': deployed.zoneId('dyn.example.test'),
    'v4only.example.test': await ensureZone('v4only.example.test'),
    'lab.example.test': await ensureZone('lab.example.test'),
  };
  // the corpus is written against testAllowlist; the same rules, on zones that exist in LocalStack
  allowlist = {
    zones: testAllowlist.zones.map((zone) => ({ ...zone, hostedZoneId: ids[zone.suffix] ?? '' })),
  };
});

afterAll(async () => {
  for (const url of [queueUrl, deadLetterQueueUrl]) {
    if (url) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  }
});

test('the corpus is fed whole: 135 entries, of which only the bodies SQS itself refuses stay off the queue', () => {
  expect(corpus).toHaveLength(135);
  expect(sendable).toHaveLength(133);
  expect(batches.flatMap((b) => b.messages.filter((m) => m.entry))).toHaveLength(133);
  expect(batches.every((b) => b.messages.length <= 10)).toBe(true);
});

test('SQS refuses an empty body and a raw control character before r53dyn ever sees them', async () => {
  // Arrange
  const entries = unsendable.map((entry, n) => ({ Id: `u${n}`, MessageBody: corpusBody(entry) }));

  // Act
  const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));

  // Assert
  expect(unsendable.map((entry) => entry.name)).toEqual([
    'empty body',
    'raw control character inside a JSON string',
  ]);
  expect(out.Successful ?? []).toEqual([]);
  expect((out.Failed ?? []).map((f) => [f.Id, f.Code])).toEqual([
    ['u0', 'MissingRequiredParameterException'],
    ['u1', 'InvalidMessageContents'],
  ]);
});

/** Sends the corpus, batch by batch; what each message id carries, and the ids of each batch in order. */
async function sendCorpus() {
  const sent = new Map<string, Outgoing>();
  const sentBatches: string[][] = [];
  for (const batch of batches) {
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.messages.map((m, n) => ({ Id: `m${n}`, MessageBody: m.body })),
      }),
    );
    expect(out.Failed ?? []).toEqual([]);
    const ids = (out.Successful ?? [])
      .sort((a, b) => Number(a.Id?.slice(1)) - Number(b.Id?.slice(1)))
      .map((s) => s.MessageId ?? '');
    ids.forEach((id, n) => {
      const message = batch.messages[n];
      if (message) sent.set(id, message);
    });
    sentBatches.push(ids);
  }
  return { sent, sentBatches };
}

/**
 * The batches as they were sent, each through the batcher with its binding setting and from its queue (and
 * acknowledged as the event source mapping would); then the planner over the deltas they made. Every message
 * reported as failed, and how each execution ended.
 */
async function throughPipeline(sent: Map<string, Outgoing>, sentBatches: string[][]) {
  const received = await receiveExactly(new Set(sent.keys()));
  expect(received.size).toBe(sent.size);
  const failures: string[] = [];
  for (const [n, ids] of sentBatches.entries()) {
    const binding = batches[n]?.senderBinding ?? false;
    const queue = batches[n]?.queue ?? 'registrations';
    const event: SQSEvent = {
      Records: ids.map((id) => {
        const message = received.get(id);
        if (message === undefined) throw new Error(`message ${id} never arrived`);
        return asRecord(message, binding ? sent.get(id)?.senderId : undefined, queue);
      }),
    };
    const response = await processBatch(event, batcherDeps(binding));
    failures.push(...response.batchItemFailures.map((f) => f.itemIdentifier));
    // acknowledged as the event source mapping would: everything not reported as failed
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: event.Records.filter((r) => !failures.includes(r.messageId)).map((r, i) => ({
          Id: String(i),
          ReceiptHandle: r.receiptHandle,
        })),
      }),
    );
  }
  // the zone's deltas, ten at a time as the FIFO event source hands them out, one round after the other
  for (let round = 0, empty = 0; round < 20 && empty < 2; round += 1) {
    const deltas = await nextDeltas();
    empty = deltas.Records.length === 0 ? empty + 1 : 0;
    if (deltas.Records.length === 0) continue;
    const planned = await processDeltas(deltas, plannerDeps());
    failures.push(...planned.batchItemFailures.map((f) => f.itemIdentifier));
    await Promise.all(started.map((input) => waitForEnd(executionArnOf(input))));
  }
  const executions = await Promise.all(started.map((input) => waitForEnd(executionArnOf(input))));
  return { failures, executions };
}

/**
 * Apart from the valid registrations' A and registry TXT, every zone is byte-for-byte as before. Other test files
 * (and other people's runs) share these zones and may write meanwhile, always under names that end their first
 * label with their own run id; those are excused unless this file's messages named them.
 */
async function expectOnlyGoodsWritten(
  zoneIds: string[],
  before: Record<string, ResourceRecordSet[]>,
  sent: Map<string, Outgoing>,
) {
  const touched = new Set(goods.flatMap((g) => [`${g.record}.`, `_r53dyn.${g.record}.`]));
  const asked = new Set(
    [...sent.values()].flatMap((m) =>
      [...m.body.toLowerCase().matchAll(/[a-z0-9_.-]+\.example\.test/g)].map((match) => `${match[0]}.`),
    ),
  );
  const anotherRun = (name: string) => {
    const marker = /^(?:_r53dyn\.)?[a-z0-9-]+-([0-9a-z]{8})\./.exec(name)?.[1];
    return marker !== undefined && marker !== run && !asked.has(name.replace(/^_r53dyn\./, ''));
  };
  const judged = (rrset: ResourceRecordSet) =>
    !touched.has(rrset.Name ?? '') && !anotherRun(rrset.Name ?? '');
  const after = await snapshotAll(zoneIds);
  for (const id of zoneIds) {
    expect([id, after[id]?.filter(judged)]).toEqual([id, before[id]?.filter(judged)]);
  }
}

test('every bad message is dead-lettered with its reason, Route 53 changes only for the valid ones', async () => {
  // Arrange
  const zoneIds = [
    ...allowlist.zones.map((zone) => zone.hostedZoneId),
    deployed.zoneId('leased.example.test'),
  ];
  const before = await snapshotAll(zoneIds);
  const { sent, sentBatches } = await sendCorpus();

  // Act
  const { failures, executions } = await throughPipeline(sent, sentBatches);

  // Assert: the batcher failed nothing; the planner kept only the deltas its executions write (and delete)
  expect(failures.filter((id) => sent.has(id))).toEqual([]);
  const letters = (await receiveAll(deadLetterQueueUrl)).filter((letter) =>
    sent.has(letter.MessageAttributes?.[ATTRIBUTES.messageId]?.StringValue ?? ''),
  );
  const byId = new Map(
    letters.map((letter) => [letter.MessageAttributes?.[ATTRIBUTES.messageId]?.StringValue ?? '', letter]),
  );
  const expectedLetters = [...sent.entries()]
    .filter(([, m]) => m.entry !== undefined)
    .map(([id, m]) => ({ name: m.entry?.name, code: m.entry?.reason, body: m.body, id }));
  const actualLetters = expectedLetters.map(({ name, id }) => {
    const letter = byId.get(id);
    return {
      name,
      code: codeOf(letter?.MessageAttributes?.[ATTRIBUTES.reason]?.StringValue),
      body: letter?.Body,
      id,
    };
  });
  expect(actualLetters).toEqual(expectedLetters);
  expect(letters).toHaveLength(expectedLetters.length);

  // Assert: the executions, together, create exactly the valid records (A and registry TXT), and succeed
  expect(started.flatMap((input) => changesOf(input.input)).sort()).toEqual(
    goods.flatMap((m) => [`CREATE A ${m.record}.`, `CREATE TXT _r53dyn.${m.record}.`]).sort(),
  );
  expect(executions.map((e) => e.status)).toEqual(started.map(() => 'SUCCEEDED'));
  const zoneId = deployed.zoneId('dyn.example.test');
  for (const good of goods) {
    expect([good.record, await recordValues(zoneId, `${good.record}.`, 'A')]).toEqual([
      good.record,
      [good.ipv4],
    ]);
  }

  // Assert: apart from the valid registrations' records, every zone is as before
  await expectOnlyGoodsWritten(zoneIds, before, sent);
});
