// Ownership on LocalStack (docs/design.md §3.3, §4.4, §4.5): batches from concurrent batchers for one name are
// written by one round at a time and never conflict; another writer changing the record between the planner's
// read and the workflow's write makes the compare-and-swap fail, and the next round writes on top of it; a
// record created by hand is never touched; a batch delivered twice is written once.

import { Logger } from '@aws-lambda-powertools/logger';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { processBatch } from '../../handlers/batcher';
import { ATTRIBUTES } from '../../handlers/core/contract';
import { processDeltas } from '../../handlers/planner';
import { readBatcherSettings, readPlannerSettings } from '../../handlers/settings';
import { sqs } from '../helpers/localstack';
import {
  changeByHand,
  type DeployedStack,
  deployedStack,
  executionArns,
  receiveAll,
  receiveMatching,
  recordValues,
  settle,
} from '../helpers/stack';

const run = Date.now().toString(36);
let deployed: DeployedStack;
let zoneId: string;
const logger = new Logger({ serviceName: 'r53dyn', logLevel: 'WARN' });

beforeAll(async () => {
  deployed = await deployedStack();
  zoneId = deployed.zoneId('dyn.example.test');
});

afterAll(() => deployed.pipeline.stop());

const register = (record: string, instanceId: string, ipv4: string) =>
  JSON.stringify({ v: 1, action: 'register', record, instanceId, ipv4 });

function batcherDeps() {
  return { settings: readBatcherSettings(process.env), sqs: new SQSClient({}), logger, now: Date.now };
}

async function zoneQueueDepth(): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: deployed.zoneQueueUrl,
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
}

test('two batchers deliver for one new name at once: one round at a time writes both machines, with no conflict', async () => {
  // Arrange: two machines for one new name, each in its own batch
  const record = `pair-${run}.dyn.example.test`;
  const bodies = [
    register(record, 'i-0aaaaaaaaaaaaaaa1', '44.201.0.1'),
    register(record, 'i-0aaaaaaaaaaaaaaa2', '44.201.0.2'),
  ];
  for (const MessageBody of bodies)
    await sqs.send(new SendMessageCommand({ QueueUrl: deployed.queueUrl, MessageBody }));
  const events = [];
  for (const body of bodies)
    events.push(await receiveMatching(deployed, deployed.queueUrl, (b) => b === body));
  const before = await executionArns(deployed);

  // Act: both batchers at once, then the pipeline (its planner) until everything is written
  const responses = await Promise.all(events.map((event) => processBatch(event, batcherDeps())));
  for (const event of events) {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: deployed.queueUrl,
        ReceiptHandle: event.Records[0]?.receiptHandle,
        VisibilityTimeout: 0,
      }),
    );
  }
  await deployed.pipeline.settle();
  const { executions } = await settle(deployed, before);

  // Assert
  expect(responses).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
  const mine = executions.filter((e) => JSON.stringify(e.output ?? {}).includes(`${record}.`));
  expect(mine.map((e) => e.status)).toEqual(mine.map(() => 'SUCCEEDED'));
  expect(mine.every((e) => /-r1$/.test(e.name))).toBe(true);
  expect(await recordValues(zoneId, `${record}.`, 'A')).toEqual(['44.201.0.1', '44.201.0.2']);
});

test('another writer changes the registry between the read and the write: the round fails its compare-and-swap, the next one writes on top', async () => {
  // Arrange: a managed record, then one more machine whose round is planned from a read that goes stale
  const record = `race-${run}.dyn.example.test`;
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: deployed.queueUrl,
      MessageBody: register(record, 'i-0ddddddddddddddd1', '44.204.0.1'),
    }),
  );
  await settle(deployed);
  await deployed.pipeline.stop();
  const body = register(record, 'i-0ddddddddddddddd2', '44.204.0.2');
  await sqs.send(new SendMessageCommand({ QueueUrl: deployed.queueUrl, MessageBody: body }));
  const batch = await receiveMatching(deployed, deployed.queueUrl, (b) => b === body);
  await processBatch(batch, batcherDeps());
  await sqs.send(
    new DeleteMessageCommand({ QueueUrl: deployed.queueUrl, ReceiptHandle: batch.Records[0]?.receiptHandle }),
  );
  const deltas = await receiveMatching(deployed, deployed.zoneQueueUrl, (b) => b.includes(record));
  const foreign = '"note=kept by hand"';
  const real = new Route53Client({});
  let wrote = false;
  const staleReads = {
    send: async (command: Parameters<Route53Client['send']>[0]) => {
      const out = await real.send(command);
      if (!wrote) {
        wrote = true;
        const registry = (await recordValues(zoneId, `_r53dyn.${record}.`, 'TXT')) ?? [];
        // the other writer replaces the registry, keeping every entry and adding one of its own
        await changeByHand(
          zoneId,
          [{ name: `_r53dyn.${record}.`, type: 'TXT', values: [...registry, foreign] }],
          'UPSERT',
        );
      }
      return out;
    },
  } as unknown as Route53Client;
  const before = await executionArns(deployed);

  // Act: the planner reads (and the other writer writes), its execution fails; then the pipeline runs on
  const planned = await processDeltas(deltas, {
    settings: readPlannerSettings(process.env),
    route53: staleReads,
    sfn: new SFNClient({}),
    sqs: new SQSClient({}),
    logger,
    now: Date.now,
  });
  const { executions } = await settle(deployed, before);

  // Assert: the first round kept its deltas, failed its compare-and-swap and released them; the second wrote
  expect(planned).toEqual({
    batchItemFailures: deltas.Records.map((r) => ({ itemIdentifier: r.messageId })),
  });
  const mine = executions.sort((a, b) => a.name.localeCompare(b.name));
  expect(mine.map((e) => [e.name.slice(-3), e.status, e.error])).toEqual([
    ['-r1', 'FAILED', 'PartsFailed'],
    ['-r2', 'SUCCEEDED', undefined],
  ]);
  expect(mine[0]?.cause).toContain('InvalidChangeBatch');
  expect(await recordValues(zoneId, `${record}.`, 'A')).toEqual(['44.204.0.1', '44.204.0.2']);
  expect(await recordValues(zoneId, `_r53dyn.${record}.`, 'TXT')).toContain(foreign);
  expect((await receiveAll(deployed.deadLetterQueueUrl)).filter((m) => m.Body?.includes(record))).toEqual([]);
});

test('a record created by hand is left untouched and the message that targeted it is dead-lettered with the reason', async () => {
  // Arrange
  const record = `manual-${run}.dyn.example.test.`;
  await changeByHand(zoneId, [{ name: record, type: 'A', values: ['44.202.0.9'], ttl: 300 }]);

  // Act
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: deployed.queueUrl,
      MessageBody: register(record, 'i-0bbbbbbbbbbbbbbb1', '44.202.0.1'),
    }),
  );
  const { executions } = await settle(deployed);

  // Assert
  expect(executions.filter((e) => JSON.stringify(e.output ?? {}).includes(record))).toEqual([]);
  expect(await recordValues(zoneId, record, 'A')).toEqual(['44.202.0.9']);
  expect(await recordValues(zoneId, `_r53dyn.${record}`, 'TXT')).toBeUndefined();
  const letters = (await receiveAll(deployed.deadLetterQueueUrl)).filter((m) => m.Body?.includes(record));
  expect(letters.map((m) => m.MessageAttributes?.[ATTRIBUTES.reason]?.StringValue?.split(':')[0])).toEqual([
    'not-managed',
  ]);
});

test('a batch delivered twice to the batcher makes one delta, and is written once', async () => {
  // Arrange: one batch, delivered twice (as after a batcher timeout)
  await deployed.pipeline.stop();
  const record = `again-${run}.dyn.example.test`;
  const body = register(record, 'i-0ccccccccccccccc1', '44.203.0.1');
  await sqs.send(new SendMessageCommand({ QueueUrl: deployed.queueUrl, MessageBody: body }));
  const event = await receiveMatching(deployed, deployed.queueUrl, (b) => b === body);
  const before = await executionArns(deployed);

  // Act
  const first = await processBatch(event, batcherDeps());
  const again = await processBatch(event, batcherDeps());
  const queued = await zoneQueueDepth();
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: deployed.queueUrl,
      ReceiptHandle: event.Records[0]?.receiptHandle,
      VisibilityTimeout: 0,
    }),
  );
  const { executions } = await settle(deployed, before);

  // Assert: SQS dropped the second delta as a duplicate; the message itself came back once more and was folded
  // into a record that already held it
  expect([first, again]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
  expect(queued).toBe(1);
  const mine = executions.filter((e) => JSON.stringify(e.output ?? {}).includes(`${record}.`));
  expect(mine.map((e) => e.status)).toEqual(['SUCCEEDED']);
  expect(await recordValues(zoneId, `${record}.`, 'A')).toEqual(['44.203.0.1']);
});
