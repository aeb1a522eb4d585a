// An in-memory SQS for the handlers' tests: standard and FIFO queues with the behaviour r53dyn relies on.
// SendMessageBatch checks requests as SQS does and can refuse entries or whole requests on demand;
// ReceiveMessage (called by the tests, playing Lambda's event source mapping) honours visibility timeouts,
// counts receives, hands out a new receipt handle on every receive, and on a FIFO queue returns nothing of a
// message group while any of it is in flight; DeleteMessageBatch and ChangeMessageVisibilityBatch accept only
// the latest receipt handle of an in-flight message. Any other command is an error.
import {
  type BatchResultErrorEntry,
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { SQS_MESSAGE_LIMIT_BYTES } from '../../handlers/core/contract';
import { sdkMetadata as $metadata, FakeClient, serviceError } from './fake-client';

const DEDUPLICATION_WINDOW_MS = 5 * 60_000;

export interface QueueOptions {
  fifo?: boolean;
  visibilityTimeoutSeconds?: number;
  /** the ARN Lambda reports as eventSourceARN */
  arn?: string;
}

export interface StoredMessage {
  messageId: string;
  body: string;
  attributes: Record<string, string>;
  /** String message attributes, by name */
  messageAttributes: Record<string, string>;
  groupId?: string;
  receiveCount: number;
  /** ms; visible when the clock reaches it */
  visibleAt: number;
  /** the receipt handle of the latest receive, while it is in flight */
  receiptHandle?: string;
}

interface Queue {
  url: string;
  arn: string;
  fifo: boolean;
  visibilityTimeoutMs: number;
  messages: StoredMessage[];
  deduplication: Map<string, number>;
  deleted: StoredMessage[];
}

/** An entry refused by SQS: `SenderFault` true means retrying it will not help. */
export interface EntryRefusal {
  code: string;
  senderFault: boolean;
}

export class FakeSqs extends FakeClient {
  /** refuses one entry of a SendMessageBatch; the others are sent */
  refuseEntry: (queueUrl: string, entry: SendMessageBatchRequestEntry) => EntryRefusal | undefined = () =>
    undefined;
  private readonly queues = new Map<string, Queue>();
  private sequence = 0;

  /** `clock` gives the time in ms; queues' visibility timeouts run on it. */
  constructor(private readonly clock: () => number = () => 0) {
    super();
  }

  createQueue(url: string, options: QueueOptions = {}): string {
    this.queues.set(url, {
      url,
      arn: options.arn ?? `arn:aws:sqs:us-east-1:123456789012:${url.split('/').pop()}`,
      fifo: options.fifo ?? url.endsWith('.fifo'),
      visibilityTimeoutMs: (options.visibilityTimeoutSeconds ?? 30) * 1000,
      messages: [],
      deduplication: new Map(),
      deleted: [],
    });
    return url;
  }

  protected answer(command: unknown): unknown {
    if (command instanceof SendMessageBatchCommand) return this.sendBatch(command.input);
    if (command instanceof DeleteMessageBatchCommand) {
      const queue = this.queue(command.input.QueueUrl);
      return this.perEntry(command.input.Entries ?? [], queue, (message) => this.remove(queue, message));
    }
    if (!(command instanceof ChangeMessageVisibilityBatchCommand)) return undefined;
    const queue = this.queue(command.input.QueueUrl);
    return this.perEntry(command.input.Entries ?? [], queue, (message, entry) => {
      message.visibleAt = this.clock() + (entry.VisibilityTimeout ?? 0) * 1000;
      if (entry.VisibilityTimeout === 0) delete message.receiptHandle;
    });
  }

  /** Messages on the queue (in flight or not), oldest first. */
  messages(url: string): StoredMessage[] {
    return [...this.queue(url).messages];
  }

  /** Messages deleted from the queue, in the order they were deleted. */
  deleted(url: string): StoredMessage[] {
    return [...this.queue(url).deleted];
  }

  /** Puts a message on a queue as a sender would (SentTimestamp is the clock, unless given). */
  enqueue(url: string, body: string, options: { senderId?: string; sentTimestamp?: number } = {}): string {
    const queue = this.queue(url);
    const messageId = this.nextMessageId();
    queue.messages.push({
      messageId,
      body,
      attributes: {
        SentTimestamp: String(options.sentTimestamp ?? this.clock()),
        SenderId: options.senderId ?? 'AIDAEXAMPLESENDER',
      },
      messageAttributes: {},
      receiveCount: 0,
      visibleAt: 0,
    });
    return messageId;
  }

  /**
   * What Lambda's event source mapping receives: up to `max` visible messages, as SQS records. A standard queue
   * returns them in the order `pick` gives (oldest first by default); a FIFO queue returns, per message group with
   * nothing in flight, its messages from the head in order.
   */
  receive(url: string, max: number, pick: (visible: StoredMessage[]) => StoredMessage[] = (v) => v) {
    const queue = this.queue(url);
    const now = this.clock();
    const visible = queue.messages.filter((m) => m.visibleAt <= now);
    const chosen = queue.fifo ? this.unlockedGroups(queue, now) : pick(visible);
    return chosen.slice(0, max).map((message) => {
      message.receiveCount += 1;
      message.visibleAt = now + queue.visibilityTimeoutMs;
      message.receiptHandle = `${message.messageId}#${message.receiveCount}`;
      return this.asRecord(queue, message);
    });
  }

  /** Whether a receive now would hand out anything (on a FIFO queue: a visible message of an unlocked group). */
  receivable(url: string): boolean {
    const queue = this.queue(url);
    const now = this.clock();
    const candidates = queue.fifo ? this.unlockedGroups(queue, now) : queue.messages;
    return candidates.some((m) => m.visibleAt <= now);
  }

  /** The earliest time an in-flight message becomes visible again, if any is in flight. */
  nextVisibility(): number | undefined {
    const now = this.clock();
    const times = [...this.queues.values()].flatMap((q) =>
      q.messages.filter((m) => m.visibleAt > now).map((m) => m.visibleAt),
    );
    return times.length === 0 ? undefined : Math.min(...times);
  }

  private unlockedGroups(queue: Queue, now: number): StoredMessage[] {
    const locked = new Set(queue.messages.filter((m) => m.visibleAt > now).map((m) => m.groupId));
    return queue.messages.filter((m) => !locked.has(m.groupId));
  }

  private asRecord(queue: Queue, message: StoredMessage): SQSRecord {
    const messageAttributes: SQSRecord['messageAttributes'] = {};
    for (const [name, stringValue] of Object.entries(message.messageAttributes)) {
      messageAttributes[name] = {
        stringValue,
        dataType: 'String',
        stringListValues: [],
        binaryListValues: [],
      };
    }
    return {
      messageId: message.messageId,
      receiptHandle: message.receiptHandle ?? '',
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: message.attributes.SentTimestamp ?? '0',
        SenderId: message.attributes.SenderId ?? '',
        ApproximateFirstReceiveTimestamp: String(this.clock()),
        ...(message.groupId === undefined ? {} : { MessageGroupId: message.groupId }),
      },
      messageAttributes,
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'us-east-1',
    };
  }

  /** SQS message ids are UUIDs; these count up, so that tests read in order. */
  private nextMessageId(): string {
    this.sequence += 1;
    return `00000000-0000-4000-8000-${String(this.sequence).padStart(12, '0')}`;
  }

  private queue(url: string | undefined): Queue {
    const queue = this.queues.get(url ?? '');
    if (!queue) throw serviceError('AWS.SimpleQueueService.NonExistentQueue', `no queue ${url}`);
    return queue;
  }

  private sendBatch(input: SendMessageBatchCommandInput) {
    const queue = this.queue(input.QueueUrl);
    const entries = input.Entries ?? [];
    checkBatch(entries, queue.fifo);
    const Failed: BatchResultErrorEntry[] = [];
    const Successful: { Id: string; MessageId: string; MD5OfMessageBody: string }[] = [];
    for (const entry of entries) {
      const refusal = this.refuseEntry(queue.url, entry);
      if (refusal) {
        Failed.push({
          Id: entry.Id,
          SenderFault: refusal.senderFault,
          Code: refusal.code,
          Message: 'refused',
        });
        continue;
      }
      Successful.push({ Id: entry.Id ?? '', MessageId: this.store(queue, entry), MD5OfMessageBody: '' });
    }
    return { $metadata, Successful, Failed };
  }

  private store(queue: Queue, entry: SendMessageBatchRequestEntry): string {
    const now = this.clock();
    const dedup = entry.MessageDeduplicationId;
    const seen = dedup === undefined ? undefined : queue.deduplication.get(dedup);
    if (seen !== undefined && now - seen < DEDUPLICATION_WINDOW_MS) return `duplicate-of-${dedup}`;
    if (dedup !== undefined) queue.deduplication.set(dedup, now);
    const messageId = this.nextMessageId();
    const messageAttributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
      messageAttributes[name] = value.StringValue ?? '';
    }
    queue.messages.push({
      messageId,
      body: entry.MessageBody ?? '',
      attributes: { SentTimestamp: String(now), SenderId: 'AROAEXAMPLEBATCHER0001:batcher' },
      messageAttributes,
      ...(entry.MessageGroupId === undefined ? {} : { groupId: entry.MessageGroupId }),
      receiveCount: 0,
      visibleAt: 0,
    });
    return messageId;
  }

  private perEntry<Entry extends { Id?: string; ReceiptHandle?: string }>(
    entries: Entry[],
    queue: Queue,
    apply: (message: StoredMessage, entry: Entry) => void,
  ) {
    const Failed: BatchResultErrorEntry[] = [];
    const Successful: { Id: string }[] = [];
    for (const entry of entries) {
      const message = queue.messages.find(
        (m) => m.receiptHandle !== undefined && m.receiptHandle === entry.ReceiptHandle,
      );
      if (!message || message.visibleAt <= this.clock()) {
        Failed.push({ Id: entry.Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'stale' });
        continue;
      }
      apply(message, entry);
      Successful.push({ Id: entry.Id ?? '' });
    }
    return { $metadata, Successful, Failed };
  }

  private remove(queue: Queue, message: StoredMessage): void {
    queue.messages = queue.messages.filter((m) => m !== message);
    queue.deleted.push(message);
  }
}

/** The request checks SQS makes on a SendMessageBatch. */
function checkBatch(entries: SendMessageBatchRequestEntry[], fifo: boolean): void {
  if (entries.length === 0) throw serviceError('EmptyBatchRequest');
  if (entries.length > 10) throw serviceError('TooManyEntriesInBatchRequest');
  const ids = entries.map((entry) => entry.Id ?? '');
  if (new Set(ids).size !== ids.length) throw serviceError('BatchEntryIdsNotDistinct');
  if (ids.some((id) => !/^[A-Za-z0-9_-]{1,80}$/.test(id))) throw serviceError('InvalidBatchEntryId');
  const bytes = entries.reduce((n, e) => n + entryBytes(e), 0);
  if (bytes > SQS_MESSAGE_LIMIT_BYTES) throw serviceError('BatchRequestTooLong');
  for (const entry of entries) {
    if (entryBytes(entry) > SQS_MESSAGE_LIMIT_BYTES) throw serviceError('InvalidParameterValue');
    if (fifo && (entry.MessageGroupId === undefined || entry.MessageDeduplicationId === undefined)) {
      throw serviceError('MissingParameter', 'a FIFO queue needs MessageGroupId and MessageDeduplicationId');
    }
  }
}

/** The size SQS counts for an entry: its body and its attributes' names, types and values. */
export function entryBytes(entry: SendMessageBatchRequestEntry): number {
  let bytes = Buffer.byteLength(entry.MessageBody ?? '', 'utf8');
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '');
    bytes += Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}
