// Ownership on LocalStack: two batches planned from the same state at once, where the compare-and-swap makes
// one of them conflict and requeue; and a record created by hand, which r53dyn never touches.
import { Logger } from '@aws-lambda-powertools/logger';
import { ChangeResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { processBatch } from '../../handlers/batcher';
import { readSettings } from '../../handlers/settings';
import { toRecord } from '../../infra/local/event-source';
import { route53, sqs } from '../helpers/localstack';
import {
  type DeployedStack,
  deployedStack,
  executionArns,
  receiveAll,
  recordValues,
  settle,
} from '../helpers/stack';

const run = Date.now().toString(36);
let deployed: DeployedStack;
let zoneId: string;

beforeAll(async () => {
  deployed = await deployedStack();
  zoneId = deployed.zoneId('dyn.example.test');
});

const register = (record: string, instanceId: string, ipv4: string) =>
  JSON.stringify({ v: 1, action: 'register', record, instanceId, ipv4 });

/**
 * Receives the message with this body as a one-record SQS event, as the event source would. Other messages
 * (the sweep schedule's, other tests') are made visible again at once.
 */
async function eventFor(body: string): Promise<SQSEvent> {
  for (let tries = 0; tries < 30; tries++) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deployed.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    let found: SQSEvent | undefined;
    for (const m of out.Messages ?? []) {
      if (m.Body === body && !found) found = { Records: [toRecord(m, deployed.source.queueArn)] };
      else {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: deployed.queueUrl,
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
    }
    if (found) return found;
  }
  throw new Error(`message not received: ${body}`);
}

test('two batches planned from the same state at once: one conflicts, is requeued, and both machines end up in the record', async () => {
  // Arrange: two machines for one new name, each in its own batch.
  const record = `race-${run}.dyn.example.test`;
  const bodies = [
    register(record, 'i-0aaaaaaaaaaaaaaa1', '44.201.0.1'),
    register(record, 'i-0aaaaaaaaaaaaaaa2', '44.201.0.2'),
  ];
  for (const MessageBody of bodies)
    await sqs.send(new SendMessageCommand({ QueueUrl: deployed.queueUrl, MessageBody }));
  const first = await eventFor(bodies[0] as string);
  const second = await eventFor(bodies[1] as string);

  // Both batchers read Route 53 before either starts its workflow: a barrier after the reads.
  let reads = 0;
  let release: () => void = () => undefined;
  const bothRead = new Promise<void>((resolve) => {
    release = resolve;
  });
  // the batcher's own clients, as configured from the packaged stack's environment
  const real = new Route53Client({});
  const gated = {
    send: async (command: Parameters<Route53Client['send']>[0]) => {
      const out = await real.send(command);
      reads += 1;
      if (reads >= 4) release(); // two reads per record (A/AAAA and registry), per batcher
      await bothRead;
      return out;
    },
  } as unknown as Route53Client;
  const settings = readSettings(process.env);
  const deps = {
    settings,
    route53: gated,
    sfn: new SFNClient({}),
    sqs: new SQSClient({}),
    logger: new Logger({ serviceName: 'r53dyn', logLevel: 'WARN' }),
    now: Date.now,
  };

  // Act
  const before = await executionArns(deployed);
  const responses = await Promise.all([processBatch(first, deps), processBatch(second, deps)]);
  for (const event of [first, second]) {
    const message = event.Records[0];
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: deployed.queueUrl, ReceiptHandle: message?.receiptHandle }),
    );
  }
  const { executions } = await settle(deployed, before);

  // Assert
  expect(responses).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
  const mine = executions.filter((e) => JSON.stringify(e.output ?? {}).includes(`${record}.`));
  expect(mine.map((e) => (e.output as { status: string }).status).sort()).toEqual([
    'INSYNC',
    'INSYNC',
    'REQUEUED',
  ]);
  expect(await recordValues(zoneId, `${record}.`, 'A')).toEqual(['44.201.0.1', '44.201.0.2']);
});

test('a record created by hand is left untouched and the message that targeted it is dead-lettered with the reason', async () => {
  // Arrange
  const record = `manual-${run}.dyn.example.test.`;
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'CREATE',
            ResourceRecordSet: {
              Name: record,
              Type: 'A',
              TTL: 300,
              ResourceRecords: [{ Value: '44.202.0.9' }],
            },
          },
        ],
      },
    }),
  );

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
  expect(letters).toHaveLength(1);
  expect(letters[0]?.MessageAttributes?.['r53dyn-reason']?.StringValue).toMatch(/^not-managed: /);
});

test('a redelivered batch maps to the same execution and is not applied twice', async () => {
  // Arrange: one batch, delivered twice (as after a batcher timeout), the second time once its write is done
  const record = `again-${run}.dyn.example.test`;
  const body = register(record, 'i-0ccccccccccccccc1', '44.203.0.1');
  await sqs.send(new SendMessageCommand({ QueueUrl: deployed.queueUrl, MessageBody: body }));
  const event = await eventFor(body);
  const deps = {
    settings: readSettings(process.env),
    route53: new Route53Client({}),
    sfn: new SFNClient({}),
    sqs: new SQSClient({}),
    logger: new Logger({ serviceName: 'r53dyn', logLevel: 'WARN' }),
    now: Date.now,
  };
  const before = await executionArns(deployed);

  // Act: the first delivery, its workflow, then the same event again while its execution is still running,
  // and once more after it ended
  const first = await processBatch(event, deps);
  const whileRunning = await processBatch(event, deps);
  await settle(deployed, before);
  const afterwards = await processBatch(event, deps);
  await sqs.send(
    new DeleteMessageCommand({ QueueUrl: deployed.queueUrl, ReceiptHandle: event.Records[0]?.receiptHandle }),
  );
  const { executions } = await settle(deployed, before);

  // Assert
  expect([first, whileRunning, afterwards]).toEqual([
    { batchItemFailures: [] },
    { batchItemFailures: [] },
    { batchItemFailures: [] },
  ]);
  const mine = executions.filter((e) => JSON.stringify(e.output ?? {}).includes(`${record}.`));
  expect(mine.map((e) => e.status)).toEqual(['SUCCEEDED']);
  expect(await recordValues(zoneId, `${record}.`, 'A')).toEqual(['44.203.0.1']);
});
