// Lambda's SQS event source mapping, played locally: LocalStack cannot run Lambda functions without Docker, so
// this long-polls a queue with the mapping's packaged batch size and batching window, calls the real handler
// with a real SQS event, and deletes what the handler did not report as failed. Like Lambda, a FIFO queue gets
// batches of at most 10 and no window, and SQS itself holds back a message group while a batch of it is in
// flight (docs/design.md §11, "local runtime").
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type BatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface EventSourceOptions {
  name: string;
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  batchSize: number;
  batchWindowSeconds: number;
  fifo: boolean;
  handler: BatchHandler;
  /**
   * Lambda leaves a failed message invisible for the rest of the queue's visibility timeout; locally that is
   * shortened to this many seconds. Undefined: failed messages are left alone (the planner's deltas, which its
   * workflow deletes or releases).
   */
  retryAfterSeconds?: number;
}

export interface BatchOutcome {
  source: string;
  received: number;
  failed: string[];
  /** how long the handler ran: what Lambda would bill as duration, on this machine */
  durationMs: number;
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
  const recordAttributes: SQSRecord['attributes'] = {
    ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
    SentTimestamp: attributes.SentTimestamp ?? '',
    SenderId: attributes.SenderId ?? '',
    ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
  };
  if (attributes.MessageGroupId) recordAttributes.MessageGroupId = attributes.MessageGroupId;
  if (attributes.MessageDeduplicationId)
    recordAttributes.MessageDeduplicationId = attributes.MessageDeduplicationId;
  if (attributes.SequenceNumber) recordAttributes.SequenceNumber = attributes.SequenceNumber;
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: recordAttributes,
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
    // a FIFO event source has no batching window: one receive is one batch
    if (options.fifo && got.length > 0) break;
    if (got.length > 0 && deadline === undefined) deadline = Date.now() + options.batchWindowSeconds * 1000;
    if (got.length === 0 && deadline === undefined) break;
  }
  return messages;
}

const context = (name: string): Context =>
  ({
    functionName: `r53dyn-local-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:r53dyn-local-${name}`,
    memoryLimitInMB: '256',
    awsRequestId: `local-${Date.now()}-${Math.floor(Math.random() * 1e9)}`,
    logGroupName: `/aws/lambda/r53dyn-local-${name}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 60000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) satisfies Context;

async function inTens<T>(items: T[], send: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += 10) await send(items.slice(i, i + 10));
}

/** One poll: receive a batch, invoke the handler, delete the successes. Undefined when nothing came. */
export async function pollOnce(
  options: EventSourceOptions,
  firstWaitSeconds = 20,
): Promise<BatchOutcome | undefined> {
  const messages = await receiveBatch(options, firstWaitSeconds);
  if (messages.length === 0) return undefined;
  const event: SQSEvent = { Records: messages.map((m) => toRecord(m, options.queueArn)) };
  let failed: string[];
  const started = performance.now();
  try {
    const response = await options.handler(event, context(options.name));
    failed = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
  } catch (error) {
    // a thrown handler fails the whole batch, as with Lambda
    process.stderr.write(`[event-source ${options.name}] handler failed: ${String(error)}\n`);
    failed = messages.map((m) => m.MessageId ?? '');
  }
  const durationMs = performance.now() - started;
  const failedSet = new Set(failed);
  const entry = (m: Message, n: number) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle ?? '' });
  await inTens(
    messages.filter((m) => !failedSet.has(m.MessageId ?? '')),
    (chunk) =>
      options.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: chunk.map(entry) }),
      ),
  );
  const retryAfter = options.retryAfterSeconds;
  if (retryAfter !== undefined) {
    await inTens(
      messages.filter((m) => failedSet.has(m.MessageId ?? '')),
      (chunk) =>
        options.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: chunk.map((m, n) => ({ ...entry(m, n), VisibilityTimeout: retryAfter })),
          }),
        ),
    );
  }
  return { source: options.name, received: messages.length, failed, durationMs };
}
