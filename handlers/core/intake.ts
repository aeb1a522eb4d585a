// The batcher's half of the pipeline, without I/O (docs/design.md §4.1): SQS records from the registrations and
// events queues -> accepted messages and dead letters -> one or more deltas per zone for the zone queue. It
// reads nothing from Route 53: whether a message fits its record is the planner's question, asked once per
// zone with the zone's lock held.
import { ATTRIBUTES, reason } from './contract';
import { type DeadLetter, deadLetterOf } from './dead-letter';
import { type Delta, isRegistration, packDeltas } from './delta';
import { isRejection, parseMessage, roleSessionOf, type SenderBinding } from './message';
import type { Allowlist, Message } from './model';
import { staleReason } from './record-state';
import { compareText, newerEntry } from './registry';

/** The parts of an SQS record the batcher reads. */
export interface SqsRecordLike {
  messageId: string;
  body: string;
  eventSourceARN?: string;
  attributes: { SentTimestamp?: string; SenderId?: string };
  messageAttributes?: Record<string, { stringValue?: string } | undefined>;
}

export interface Received {
  /** the id of this delivery: what the batch response reports */
  receiptId: string;
  /** the id the message first had: kept across redrives */
  messageId: string;
  body: string;
  sentAt: number;
  senderId?: string;
  queue: 'registrations' | 'events';
}

export interface IntakeOptions {
  allowlist: Allowlist;
  senderBinding: SenderBinding;
  /** the events queue's ARN: EC2 events and sweeps are believed from there alone */
  eventsQueueArn: string;
  /**
   * Role ids of the stack's own writers to the registrations queue (the redrive role): their messages carry
   * the original message's id, sent time and sender in attributes, believed from them alone.
   */
  relayRoleIds: readonly string[];
  now: number;
}

function attribute(record: SqsRecordLike, name: string): string | undefined {
  const value = record.messageAttributes?.[name]?.stringValue;
  return value === undefined || value === '' ? undefined : value;
}

function isRelayed(record: SqsRecordLike, relayRoleIds: readonly string[]): boolean {
  const sender = record.attributes.SenderId;
  const session = sender ? roleSessionOf(sender) : undefined;
  return session !== undefined && relayRoleIds.includes(session.roleId);
}

/**
 * One SQS record as the batcher understands it. A redriven message keeps its original envelope when the
 * stack's relay role wrote it; from anyone else, a claimed sent time is believed only when it is earlier than
 * SQS's own (a forged one can make a message older, which only makes it lose), and nothing else is.
 */
export function receivedFromSqs(record: SqsRecordLike, options: IntakeOptions): Received {
  const sentTimestamp = Number(record.attributes.SentTimestamp);
  const claimedSentAt = Number(attribute(record, ATTRIBUTES.sentAt));
  const relayed = isRelayed(record, options.relayRoleIds);
  const received: Received = {
    receiptId: record.messageId,
    messageId: (relayed && attribute(record, ATTRIBUTES.messageId)) || record.messageId,
    body: record.body,
    sentAt:
      Number.isSafeInteger(claimedSentAt) && (relayed || claimedSentAt < sentTimestamp)
        ? claimedSentAt
        : sentTimestamp,
    queue: record.eventSourceARN === options.eventsQueueArn ? 'events' : 'registrations',
  };
  const senderId = relayed ? attribute(record, ATTRIBUTES.senderId) : record.attributes.SenderId;
  if (senderId) received.senderId = senderId;
  return received;
}

export interface Intake {
  deltas: Delta[];
  /** for each delta, the deliveries it acknowledges once it is on the zone queue */
  receiptIdsByDelta: string[][];
  deadLetters: { receiptId: string; letter: DeadLetter }[];
}

/** Accepts, normalises and packs one batch (docs/design.md §4.1). */
export function intake(batch: Received[], options: IntakeOptions): Intake {
  const deadLetters: Intake['deadLetters'] = [];
  const accepted: { receiptId: string; message: Message }[] = [];
  for (const received of batch) {
    const verdict = judge(received, options);
    if ('reason' in verdict) deadLetters.push({ receiptId: received.receiptId, letter: verdict });
    else accepted.push({ receiptId: received.receiptId, message: verdict });
  }
  const { winners, receiptsOf } = newestPerKey(accepted);
  const everywhere = winners.filter((m) => !isRegistration(m));
  const deltas: Delta[] = [];
  const receiptIdsByDelta: string[][] = [];
  for (const zone of options.allowlist.zones) {
    const own = winners.filter((m) => isRegistration(m) && m.hostedZoneId === zone.hostedZoneId);
    if (own.length === 0 && everywhere.length === 0) continue;
    const messages = [...own, ...everywhere].sort(
      (a, b) => a.sentAt - b.sentAt || compareText(a.messageId, b.messageId),
    );
    for (const delta of packDeltas(zone.hostedZoneId, messages)) {
      deltas.push(delta);
      receiptIdsByDelta.push(delta.messages.flatMap((m) => receiptsOf.get(m) ?? []));
    }
  }
  return { deltas, receiptIdsByDelta, deadLetters };
}

function judge(received: Received, options: IntakeOptions): Message | DeadLetter {
  const letter = (why: string): DeadLetter => {
    const dead: DeadLetter = {
      messageId: received.messageId,
      body: received.body,
      reason: why,
      sentAt: Number.isSafeInteger(received.sentAt) ? received.sentAt : 0,
    };
    if (received.senderId) dead.senderId = received.senderId;
    return dead;
  };
  if (!Number.isSafeInteger(received.sentAt)) {
    return letter(reason('missing-sent-timestamp', 'SQS gave no SentTimestamp'));
  }
  const context = { messageId: received.messageId, sentAt: received.sentAt, queue: received.queue };
  const parsed = parseMessage(
    received.body,
    received.senderId === undefined ? context : { ...context, senderId: received.senderId },
    options,
  );
  if (isRejection(parsed)) return letter(parsed.reason);
  if (received.senderId !== undefined) parsed.senderId = received.senderId;
  const stale = staleReason(parsed, options.now);
  return stale === undefined ? parsed : deadLetterOf(parsed, stale);
}

/**
 * One machine sending many messages in one batch costs one message per record (the newest, by the same rule
 * as the registry's last-writer-wins), one instance-gone event per instance and one sweep. The others are
 * acknowledged with the winner: their effect is contained in it.
 */
function newestPerKey(accepted: { receiptId: string; message: Message }[]) {
  const newest = new Map<string, Message>();
  const receipts = new Map<string, string[]>();
  for (const { receiptId, message } of accepted) {
    const key = keyOf(message);
    const held = newest.get(key);
    newest.set(key, held === undefined ? message : newerMessage(held, message));
    receipts.set(key, [...(receipts.get(key) ?? []), receiptId]);
  }
  const receiptsOf = new Map<Message, string[]>();
  for (const [key, message] of newest) receiptsOf.set(message, receipts.get(key) ?? []);
  return { winners: [...newest.values()], receiptsOf };
}

function keyOf(message: Message): string {
  if (message.kind === 'sweep') return 'sweep';
  if (message.kind === 'instance-gone') return `gone|${message.instanceId}`;
  return `record|${message.record}|${message.instanceId}`;
}

function newerMessage(a: Message, b: Message): Message {
  if (!isRegistration(a) || !isRegistration(b)) {
    return a.sentAt !== b.sentAt
      ? a.sentAt > b.sentAt
        ? a
        : b
      : compareText(a.messageId, b.messageId) >= 0
        ? a
        : b;
  }
  const entry = (m: typeof a) => ({
    instanceId: m.instanceId,
    t: m.sentAt,
    state: m.kind === 'deregister' ? ('gone' as const) : ('up' as const),
    ...(m.ipv4 === undefined ? {} : { ipv4: m.ipv4 }),
    ...(m.ipv6 === undefined ? {} : { ipv6: m.ipv6 }),
  });
  const ea = entry(a);
  const eb = entry(b);
  // The same entry from a register and a heartbeat: the register, which is always written (docs/design.md §4.2),
  // whatever the order of the batch; then the larger message id.
  if (JSON.stringify(ea) === JSON.stringify(eb)) {
    if (a.kind !== b.kind) return a.kind === 'register' ? a : b;
    return compareText(a.messageId, b.messageId) >= 0 ? a : b;
  }
  return newerEntry(ea, eb) === ea ? a : b;
}
