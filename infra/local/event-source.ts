// The SQS event source mapping, played locally: LocalStack cannot run Lambda functions without Docker, so this
// long-polls the registrations queue with the function's packaged batch size and batching window, calls the real
// handler with a real SQS event, and deletes what the handler did not report as failed.

import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type BatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface EventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  batchSize: number;
  batchWindowSeconds: number;
  handler: BatchHandler;
  /** Lambda leaves a failed message invisible for the queue's visibility timeout; locally that is shortened */
  retryAfterSeconds?: number;
}

export interface BatchOutcome {
  received: number;
  failed: string[];
}

export function toRecord(m: Message, queueArn: string): SQSRecord {
  const attributes = m.Attributes ?? {};
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      stringValue: value.StringValue,
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '',
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes,
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
  };
}

/** Gathers one batch as Lambda does: until batchSize messages, or the window closes after the first one. */
export async function receiveBatch(options: EventSourceOptions, firstWaitSeconds = 20): Promise<Message[]> {
  const messages: Message[] = [];
  let deadline: number | undefined;
  while (messages.length < options.batchSize) {
    const left = deadline === undefined ? firstWaitSeconds : Math.ceil((deadline - Date.now()) / 1000);
    if (left <= 0) break;
    const out = await options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: Math.min(10, options.batchSize - messages.length),
        WaitTimeSeconds: Math.min(20, left),
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const got = out.Messages ?? [];
    messages.push(...got);
    if (got.length > 0 && deadline === undefined) deadline = Date.now() + options.batchWindowSeconds * 1000;
    if (got.length === 0 && deadline === undefined) break;
  }
  return messages;
}

const context = (): Context =>
  ({
    functionName: 'r53dyn-local-batcher',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:r53dyn-local-batcher',
    memoryLimitInMB: '256',
    awsRequestId: `local-${Date.now()}`,
    logGroupName: '/aws/lambda/r53dyn-local-batcher',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 60000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) satisfies Context;

/** One poll: receive a batch, invoke the handler, delete the successes. Returns undefined when the queue was empty. */
export async function pollOnce(
  options: EventSourceOptions,
  firstWaitSeconds = 20,
): Promise<BatchOutcome | undefined> {
  const messages = await receiveBatch(options, firstWaitSeconds);
  if (messages.length === 0) return undefined;
  const event: SQSEvent = { Records: messages.map((m) => toRecord(m, options.queueArn)) };
  let failed: string[];
  try {
    const response = await options.handler(event, context());
    failed = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
  } catch (error) {
    // a thrown handler fails the whole batch, as with Lambda
    process.stderr.write(`[event-source] handler failed: ${String(error)}\n`);
    failed = messages.map((m) => m.MessageId ?? '');
  }
  const done = messages.filter((m) => !failed.includes(m.MessageId ?? ''));
  for (let i = 0; i < done.length; i += 10) {
    await options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: done
          .slice(i, i + 10)
          .map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
  for (const m of messages.filter((m) => failed.includes(m.MessageId ?? ''))) {
    await options.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: options.queueUrl,
        ReceiptHandle: m.ReceiptHandle ?? '',
        VisibilityTimeout: options.retryAfterSeconds ?? 2,
      }),
    );
  }
  return { received: messages.length, failed };
}

/** Polls until the queue has stayed empty for one long-poll; for tests that wait for a fleet to settle. */
export async function drain(options: EventSourceOptions, idleSeconds = 2): Promise<BatchOutcome[]> {
  const outcomes: BatchOutcome[] = [];
  for (;;) {
    const outcome = await pollOnce(options, idleSeconds);
    if (!outcome) return outcomes;
    outcomes.push(outcome);
  }
}
