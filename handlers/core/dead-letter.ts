// A message on its way to the dead-letter queue (docs/design.md §3.2): its body, its reason, and the envelope of
// the original message, so that it can be redriven and still be judged as its original sender.
import { ATTRIBUTES, EC2_EVENT_SOURCE, EC2_STATE_CHANGE, SWEEP_BODY } from './contract';
import type { Message } from './model';

export interface DeadLetter {
  /** the message id the registration first had (kept across redrives); duplicates share it */
  messageId: string;
  body: string;
  /** `<code>: <detail>` */
  reason: string;
  sentAt: number;
  senderId?: string;
}

export type AttributeMap = Record<string, { DataType: 'String' | 'Number'; StringValue: string }>;

export function deadLetterAttributes(letter: DeadLetter): AttributeMap {
  const attributes: AttributeMap = {
    [ATTRIBUTES.reason]: { DataType: 'String', StringValue: letter.reason },
    [ATTRIBUTES.messageId]: { DataType: 'String', StringValue: letter.messageId },
    [ATTRIBUTES.sentAt]: { DataType: 'Number', StringValue: String(letter.sentAt) },
  };
  if (letter.senderId) attributes[ATTRIBUTES.senderId] = { DataType: 'String', StringValue: letter.senderId };
  return attributes;
}

/**
 * The body of an accepted message, written back as a message r53dyn accepts: the normalised fields, so that a
 * redriven copy means exactly what the original was understood to mean.
 */
export function messageBody(message: Message): string {
  switch (message.kind) {
    case 'sweep':
      return JSON.stringify(SWEEP_BODY);
    case 'instance-gone':
      return JSON.stringify({
        source: EC2_EVENT_SOURCE,
        'detail-type': EC2_STATE_CHANGE,
        detail: { 'instance-id': message.instanceId, state: 'terminated' },
      });
    default: {
      const body: Record<string, unknown> = {
        v: 1,
        action: message.kind,
        record: message.record,
        instanceId: message.instanceId,
      };
      if (message.ipv4 !== undefined) body.ipv4 = message.ipv4;
      if (message.ipv6 !== undefined) body.ipv6 = message.ipv6;
      return JSON.stringify(body);
    }
  }
}

export function deadLetterOf(message: Message, reason: string): DeadLetter {
  const letter: DeadLetter = {
    messageId: message.messageId,
    body: messageBody(message),
    reason,
    sentAt: message.sentAt,
  };
  if (message.senderId !== undefined) letter.senderId = message.senderId;
  return letter;
}
