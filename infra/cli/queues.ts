// Reading the dead-letter queues without consuming them: SQS has no peek, so messages are received with a
// short visibility timeout and made visible again (ChangeMessageVisibility 0) once read. A FIFO queue shows at
// most one receive's worth of each message group while it is held.
import {
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { changeVisibility } from '../../handlers/adapters/sqs';
import type { DeadLetterQueue, ReceivedLetter } from './dead-letters';

/** How long a listed message stays hidden if the CLI dies before releasing it. */
export const HOLD_SECONDS = 30;

export function toLetter(queue: DeadLetterQueue, message: Message): ReceivedLetter {
  const attributes: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    attributes[name] = value.StringValue;
  }
  return {
    queue,
    sqsMessageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    system: { ...(message.Attributes ?? {}) },
    attributes,
  };
}

/**
 * Receives what it can (up to `limit` messages), holding each for `holdSeconds`; stops when a receive brings
 * nothing new. Messages in `skip` (already dealt with) are released at once. The caller releases or deletes
 * what it got.
 */
export async function receiveHeld(
  sqs: SQSClient,
  queueUrl: string,
  queue: DeadLetterQueue,
  options: { limit: number; holdSeconds?: number; skip?: ReadonlySet<string> },
): Promise<ReceivedLetter[]> {
  const held = new Map<string, ReceivedLetter>();
  while (held.size < options.limit) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, options.limit - held.size),
        WaitTimeSeconds: 1,
        VisibilityTimeout: options.holdSeconds ?? HOLD_SECONDS,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    const skipped = messages.filter((m) => options.skip?.has(m.MessageId ?? ''));
    await release(
      sqs,
      queueUrl,
      skipped.map((m) => m.ReceiptHandle ?? ''),
    );
    const rest = messages.filter((m) => !options.skip?.has(m.MessageId ?? ''));
    const fresh = rest.filter((m) => !held.has(m.MessageId ?? ''));
    // a message seen before comes back with a new receipt handle: keep the newest
    for (const m of rest) held.set(m.MessageId ?? '', toLetter(queue, m));
    if (fresh.length === 0) break;
  }
  return [...held.values()];
}

/** Makes messages visible again at once (best effort: they come back at the end of the hold anyway). */
export async function release(sqs: SQSClient, queueUrl: string, receiptHandles: string[]): Promise<void> {
  await changeVisibility(sqs, queueUrl, receiptHandles, 0);
}

/** SQS's own approximate counts of a queue. */
export async function approximateCounts(
  sqs: SQSClient,
  queueUrl: string,
): Promise<{ visible: number; inFlight: number }> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}
