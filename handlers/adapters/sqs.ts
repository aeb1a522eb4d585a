// The SQS writes r53dyn makes: dead letters, deltas onto the zone queue, and visibility changes. The SDK client
// retries throttling and 5xx answers with full jitter; a SendMessageBatch that succeeds with some entries
// refused is retried here, for the refused entries only (docs/design.md §9).
import {
  ChangeMessageVisibilityBatchCommand,
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { SQS_MESSAGE_LIMIT_BYTES } from '../core/contract';
import { type DeadLetter, deadLetterAttributes } from '../core/dead-letter';
import { type Delta, deduplicationId } from '../core/delta';

export interface Entry {
  Id: string;
  MessageBody: string;
  MessageAttributes?: Record<string, MessageAttributeValue>;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
}

const ENTRY_RETRIES = 4;
const RETRY_BASE_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fullJitter = (attempt: number) => Math.floor(Math.random() * RETRY_BASE_MS * 2 ** attempt);

function entryBytes(entry: Entry): number {
  let bytes = Buffer.byteLength(entry.MessageBody, 'utf8');
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes +=
      Buffer.byteLength(name) +
      Buffer.byteLength(value.DataType ?? '') +
      Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

/** Requests of at most 10 entries and at most SQS's request size. */
function requests(entries: Entry[]): Entry[][] {
  const out: Entry[][] = [];
  let current: Entry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entryBytes(entry);
    if (current.length === 10 || (current.length > 0 && bytes + size > SQS_MESSAGE_LIMIT_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Sends every entry, retrying refused ones that SQS did not blame on the request; returns the Ids never sent. */
export async function sendEntries(client: SQSClient, queueUrl: string, entries: Entry[]): Promise<string[]> {
  let left = entries;
  const refusedForGood: string[] = [];
  for (let attempt = 0; left.length > 0 && attempt <= ENTRY_RETRIES; attempt += 1) {
    if (attempt > 0) await sleep(fullJitter(attempt));
    const again: Entry[] = [];
    for (const request of requests(left)) {
      try {
        const out = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: request as SendMessageBatchRequestEntry[],
          }),
        );
        for (const failed of out.Failed ?? []) {
          const entry = request.find((e) => e.Id === failed.Id);
          if (!entry) continue;
          if (failed.SenderFault) refusedForGood.push(entry.Id);
          else again.push(entry);
        }
      } catch {
        // the client already retried throttling and server errors; try the whole request again later
        again.push(...request);
      }
    }
    left = again;
  }
  return [...refusedForGood, ...left.map((e) => e.Id)];
}

/** Dead letters with their reason; returns the message ids that could not be sent. */
export async function sendDeadLetters(
  client: SQSClient,
  queueUrl: string,
  letters: DeadLetter[],
): Promise<string[]> {
  const entries = letters.map((letter, n) => ({
    Id: `l${n}`,
    MessageBody: letter.body,
    MessageAttributes: deadLetterAttributes(letter),
  }));
  const unsent = new Set(await sendEntries(client, queueUrl, entries));
  return letters.filter((_, n) => unsent.has(`l${n}`)).map((letter) => letter.messageId);
}

/**
 * Deltas onto the FIFO zone queue, one message group per zone; returns the indexes of those not sent. `salt`
 * tells a round's carry-over apart from the deltas it came from (deduplicationId).
 */
export async function sendDeltas(
  client: SQSClient,
  queueUrl: string,
  deltas: Delta[],
  salt = '',
): Promise<number[]> {
  const entries = deltas.map((delta, n) => ({
    Id: `d${n}`,
    MessageBody: JSON.stringify(delta),
    MessageGroupId: delta.hostedZoneId,
    MessageDeduplicationId: deduplicationId(delta, salt),
  }));
  const unsent = new Set(await sendEntries(client, queueUrl, entries));
  return deltas.flatMap((_, n) => (unsent.has(`d${n}`) ? [n] : []));
}

/** Makes received messages visible again after `seconds` (0: at once). Best effort: they reappear anyway. */
export async function changeVisibility(
  client: SQSClient,
  queueUrl: string,
  receiptHandles: string[],
  seconds: number,
): Promise<void> {
  for (let i = 0; i < receiptHandles.length; i += 10) {
    await client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: receiptHandles
          .slice(i, i + 10)
          .map((ReceiptHandle, n) => ({ Id: `v${n}`, ReceiptHandle, VisibilityTimeout: seconds })),
      }),
    );
  }
}
