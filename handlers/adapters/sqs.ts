import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetter } from '../core/batch';

/**
 * Sends rejected messages to the dead-letter queue with their reason; returns the ids that could not be sent,
 * which the caller reports as failed so that SQS delivers them again rather than losing them.
 */
export async function sendToDeadLetterQueue(
  client: SQSClient,
  queueUrl: string,
  letters: DeadLetter[],
): Promise<string[]> {
  const unsent: string[] = [];
  for (let i = 0; i < letters.length; i += 10) {
    const chunk = letters.slice(i, i + 10);
    try {
      const out = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((letter, n) => ({
            Id: `m${n}`,
            MessageBody: letter.body,
            MessageAttributes: {
              'r53dyn-reason': { DataType: 'String', StringValue: letter.reason },
              'r53dyn-message-id': { DataType: 'String', StringValue: letter.messageId },
              'r53dyn-sent-timestamp': { DataType: 'Number', StringValue: String(letter.sentAt) },
            },
          })),
        }),
      );
      for (const failed of out.Failed ?? []) {
        const letter = chunk[Number(failed.Id?.slice(1))];
        if (letter) unsent.push(letter.messageId);
      }
    } catch {
      unsent.push(...chunk.map((l) => l.messageId));
    }
  }
  return unsent;
}
