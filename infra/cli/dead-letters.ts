// Dead letters as operators see them (docs/design.md §3.2, §3.6), without I/O: who sent each, what it names,
// why it is there, and the envelope a redriven copy may carry. SQS has no peek, so the listing comes from
// receives that are released at once: approximate, like every SQS count.
//
// Whose word is believed (docs/design.md §7.3): a dead letter's `r53dyn-*` attributes are the original
// message's envelope only when one of the stack's roles (batcher, planner, redrive) wrote the dead letter, as
// SQS's SenderId shows. A message SQS itself moved after maxReceiveCount (no reason, DeadLetterQueueSourceArn
// set) carries its original SQS envelope. Anything else keeps only what SQS says about the dead letter itself.
import { ATTRIBUTES, REASONS, type ReasonCode, reasonCode, TOMBSTONE_MS } from '../../handlers/core/contract';
import { messageBody } from '../../handlers/core/dead-letter';
import { CorruptDelta, decodeDelta, isRegistration } from '../../handlers/core/delta';
import { roleSessionOf } from '../../handlers/core/message';
import type { Message } from '../../handlers/core/model';
import { bare, count, duration, oneLine, table } from './format';

export type DeadLetterQueue = 'dead-letter' | 'zone-dead-letter';

/** One received SQS message of a dead-letter queue, as the SDK gives it. */
export interface ReceivedLetter {
  queue: DeadLetterQueue;
  sqsMessageId: string;
  receiptHandle: string;
  body: string;
  /** SQS's own attributes: SenderId, SentTimestamp, DeadLetterQueueSourceArn, ... */
  system: Record<string, string | undefined>;
  /** message attributes, string values */
  attributes: Record<string, string | undefined>;
}

export interface RoleIds {
  batcher: string;
  planner: string;
  redrive: string;
}

/** The original message's id, sent time and sender, as a redriven copy carries them (docs/design.md §3.2). */
export interface Envelope {
  messageId: string;
  sentAt: number;
  senderId?: string;
}

export interface DeadLetterRow {
  queue: DeadLetterQueue;
  sqsMessageId: string;
  /** the id the message first had (r53dyn-message-id); what `redrive --id` takes */
  messageId: string;
  reason: ReasonCode | 'unknown';
  detail: string;
  action?: string;
  record?: string;
  instanceId?: string;
  sentAt: number;
  ageMs: number;
  /** the sender a redriven copy keeps */
  sender?: string;
  /** the sender the dead letter claims, when it is not believed */
  claimedSender?: string;
  /** false when the dead letter was not written by one of the stack's roles: its claims are not kept */
  senderKept: boolean;
  /** who wrote the dead letter: `batcher`, `planner`, `redrive`, `sqs` (maxReceiveCount) or the SenderId */
  writtenBy: string;
}

const attr = (letter: ReceivedLetter, name: string) => {
  const value = letter.attributes[name];
  return value === undefined || value === '' ? undefined : value;
};

/** Which of the stack's roles sent this dead letter, if one did. */
export function writerOf(letter: ReceivedLetter, roles: RoleIds): string | undefined {
  const session = roleSessionOf(letter.system.SenderId ?? '');
  if (session === undefined) return undefined;
  return (Object.keys(roles) as (keyof RoleIds)[]).find((role) => roles[role] === session.roleId);
}

const movedBySqs = (letter: ReceivedLetter) =>
  attr(letter, ATTRIBUTES.reason) === undefined && (letter.system.DeadLetterQueueSourceArn ?? '') !== '';

/** The envelope a copy of this dead letter may carry, and whether its claims were believed. */
export function envelopeOf(
  letter: ReceivedLetter,
  roles: RoleIds,
): { envelope: Envelope; kept: boolean; claimedSender?: string; writtenBy: string } {
  const sqsSentAt = Number(letter.system.SentTimestamp);
  const own: Envelope = {
    messageId: letter.sqsMessageId,
    sentAt: Number.isSafeInteger(sqsSentAt) ? sqsSentAt : 0,
  };
  if (letter.system.SenderId) own.senderId = letter.system.SenderId;
  const writer = writerOf(letter, roles);
  const claimed: Envelope = {
    messageId: attr(letter, ATTRIBUTES.messageId) ?? own.messageId,
    sentAt: Number(attr(letter, ATTRIBUTES.sentAt) ?? Number.NaN),
  };
  const claimedSender = attr(letter, ATTRIBUTES.senderId);
  if (claimedSender !== undefined) claimed.senderId = claimedSender;
  if (!Number.isSafeInteger(claimed.sentAt)) claimed.sentAt = own.sentAt;
  if (writer !== undefined) return { envelope: claimed, kept: true, writtenBy: writer };
  if (movedBySqs(letter)) return { envelope: own, kept: true, writtenBy: 'sqs' };
  // Not the stack's: its claimed id stays (duplicates share it), a claimed sent time only makes it older, and
  // the sender is whoever wrote the dead letter (docs/design.md §3.2, as the batcher itself judges strangers).
  const envelope: Envelope = { messageId: claimed.messageId, sentAt: Math.min(claimed.sentAt, own.sentAt) };
  if (own.senderId !== undefined) envelope.senderId = own.senderId;
  const result = { envelope, kept: false, writtenBy: own.senderId ?? 'unknown' };
  return claimedSender === undefined ? result : { ...result, claimedSender };
}

function reasonOf(letter: ReceivedLetter): { reason: DeadLetterRow['reason']; detail: string } {
  const text = attr(letter, ATTRIBUTES.reason);
  if (text === undefined) return { reason: 'receive-limit', detail: receiveLimitDetail(letter) };
  const code = reasonCode(text);
  return {
    reason: code ?? 'unknown',
    detail: code === undefined ? text : text.slice(code.length + 1).trim(),
  };
}

function receiveLimitDetail(letter: ReceivedLetter): string {
  const source = (letter.system.DeadLetterQueueSourceArn ?? '').split(':').pop();
  return source
    ? `moved by SQS from ${source} after maxReceiveCount receives`
    : `no ${ATTRIBUTES.reason} attribute`;
}

/** What a registration body names, read leniently: dead letters are often not valid messages. */
export function bodyFields(body: string): { action?: string; record?: string; instanceId?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const doc = parsed as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const detail =
    typeof doc.detail === 'object' && doc.detail !== null ? (doc.detail as Record<string, unknown>) : {};
  const fields: { action?: string; record?: string; instanceId?: string } = {};
  const action = text(doc.action) ?? (doc['detail-type'] !== undefined ? 'ec2-event' : undefined);
  const record = text(doc.record);
  const instanceId = text(doc.instanceId) ?? text(detail['instance-id']);
  if (action !== undefined) fields.action = action;
  if (record !== undefined) fields.record = record;
  if (instanceId !== undefined) fields.instanceId = instanceId;
  return fields;
}

/** A zone-queue delta's messages (docs/design.md §3.5), or undefined when the body is not one. */
export function deltaMessages(letter: ReceivedLetter): Message[] | undefined {
  if (letter.queue !== 'zone-dead-letter') return undefined;
  try {
    return decodeDelta(letter.body).messages;
  } catch (error) {
    if (error instanceof CorruptDelta) return undefined;
    throw error;
  }
}

function messageFields(message: Message): { action: string; record?: string; instanceId?: string } {
  if (message.kind === 'sweep') return { action: 'sweep' };
  if (message.kind === 'instance-gone') return { action: 'instance-gone', instanceId: message.instanceId };
  return { action: message.kind, record: message.record, instanceId: message.instanceId };
}

/** The rows of one dead letter: one, or one per message of a zone-queue delta. */
export function rowsOf(letter: ReceivedLetter, roles: RoleIds, now: number): DeadLetterRow[] {
  const { envelope, kept, claimedSender, writtenBy } = envelopeOf(letter, roles);
  const { reason, detail } = reasonOf(letter);
  const base = {
    queue: letter.queue,
    sqsMessageId: letter.sqsMessageId,
    reason,
    detail,
    senderKept: kept,
    writtenBy,
  };
  const row = (fields: ReturnType<typeof bodyFields>, id: Envelope): DeadLetterRow => {
    const r: DeadLetterRow = {
      ...base,
      ...fields,
      messageId: id.messageId,
      sentAt: id.sentAt,
      ageMs: now - id.sentAt,
    };
    if (id.senderId !== undefined) r.sender = id.senderId;
    if (claimedSender !== undefined) r.claimedSender = claimedSender;
    return r;
  };
  const messages = deltaMessages(letter);
  if (messages === undefined) return [row(bodyFields(letter.body), envelope)];
  return messages.map((m) => row(messageFields(m), copyEnvelope(m, envelope, kept)));
}

/** A delta's message keeps its own envelope when the delta is believed; otherwise as envelopeOf says. */
function copyEnvelope(message: Message, letter: Envelope, kept: boolean): Envelope {
  const envelope: Envelope = {
    messageId: message.messageId,
    sentAt: kept ? message.sentAt : Math.min(message.sentAt, letter.sentAt),
  };
  const sender = kept ? message.senderId : letter.senderId;
  if (sender !== undefined) envelope.senderId = sender;
  return envelope;
}

export interface ReasonGroup {
  reason: DeadLetterRow['reason'];
  meaning: string;
  count: number;
  messages: DeadLetterRow[];
}

/** Grouped by reason code, the largest group first, oldest message first within a group. */
export function groupByReason(rows: DeadLetterRow[]): ReasonGroup[] {
  const groups = new Map<DeadLetterRow['reason'], DeadLetterRow[]>();
  for (const row of rows) groups.set(row.reason, [...(groups.get(row.reason) ?? []), row]);
  return [...groups]
    .map(([reason, messages]) => ({
      reason,
      meaning: reason === 'unknown' ? 'a reason r53dyn does not know' : REASONS[reason],
      count: messages.length,
      messages: messages.sort((a, b) => a.sentAt - b.sentAt || (a.messageId < b.messageId ? -1 : 1)),
    }))
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
}

export interface Copy {
  body: string;
  envelope: Envelope;
}

/** What redriving one dead letter does: the copies it sends, and why anything in it is not sent. */
export interface RedriveStep {
  letter: ReceivedLetter;
  rows: DeadLetterRow[];
  copies: Copy[];
  /** messages of it that are not sent back, with why */
  skipped: { messageId: string; why: string }[];
  /** false: the dead letter stays where it is */
  deleteAfter: boolean;
}

const STALE_NOTE =
  "sent before the tombstone horizon: not redriven; the machine's next heartbeat restores it";
const EVENT_NOTE =
  'an EC2 event or a sweep: only EventBridge may write the events queue (docs/design.md §7.2)';

const isStale = (action: string | undefined, sentAt: number, now: number) =>
  (action === 'register' || action === 'heartbeat') && sentAt < now - TOMBSTONE_MS;

/**
 * Deregistrations always go back; registrations sent longer ago than TOMBSTONE_MS do not (the batcher would
 * refuse them as stale, docs/design.md §3.3). A zone-queue delta goes back as its registrations; its sweeps are
 * superseded by the next scheduled one; one that holds an EC2 event stays whole, since nothing but EventBridge
 * may send that event again.
 */
export function redriveStep(letter: ReceivedLetter, roles: RoleIds, now: number): RedriveStep {
  const rows = rowsOf(letter, roles, now);
  const messages = deltaMessages(letter);
  if (messages === undefined) {
    const [row] = rows;
    if (row === undefined) return { letter, rows, copies: [], skipped: [], deleteAfter: false };
    const { envelope } = envelopeOf(letter, roles);
    if (row.action === 'ec2-event' || row.action === 'sweep') {
      return {
        letter,
        rows,
        copies: [],
        skipped: [{ messageId: row.messageId, why: EVENT_NOTE }],
        deleteAfter: false,
      };
    }
    if (isStale(row.action, envelope.sentAt, now)) {
      return {
        letter,
        rows,
        copies: [],
        skipped: [{ messageId: row.messageId, why: STALE_NOTE }],
        deleteAfter: false,
      };
    }
    return { letter, rows, copies: [{ body: letter.body, envelope }], skipped: [], deleteAfter: true };
  }
  return deltaStep(letter, rows, messages, roles, now);
}

function deltaStep(
  letter: ReceivedLetter,
  rows: DeadLetterRow[],
  messages: Message[],
  roles: RoleIds,
  now: number,
): RedriveStep {
  const { envelope, kept } = envelopeOf(letter, roles);
  const gone = messages.filter((m) => m.kind === 'instance-gone');
  if (gone.length > 0) {
    const why = `the delta holds an EC2 event (${gone.map((m) => m.instanceId).join(', ')}): left whole; ${EVENT_NOTE}`;
    return {
      letter,
      rows,
      copies: [],
      skipped: messages.map((m) => ({ messageId: m.messageId, why })),
      deleteAfter: false,
    };
  }
  const copies: Copy[] = [];
  const skipped: RedriveStep['skipped'] = [];
  for (const message of messages) {
    const copied = copyEnvelope(message, envelope, kept);
    if (!isRegistration(message))
      skipped.push({ messageId: message.messageId, why: 'a sweep: the next scheduled sweep does the same' });
    else if (isStale(message.kind, copied.sentAt, now))
      skipped.push({ messageId: message.messageId, why: STALE_NOTE });
    else copies.push({ body: messageBody(message), envelope: copied });
  }
  return { letter, rows, copies, skipped, deleteAfter: true };
}

/** The attributes of a redriven copy (docs/design.md §3.2). */
export function copyAttributes(
  envelope: Envelope,
): Record<string, { DataType: string; StringValue: string }> {
  const attributes: Record<string, { DataType: string; StringValue: string }> = {
    [ATTRIBUTES.messageId]: { DataType: 'String', StringValue: envelope.messageId },
    [ATTRIBUTES.sentAt]: { DataType: 'Number', StringValue: String(envelope.sentAt) },
  };
  if (envelope.senderId !== undefined) {
    attributes[ATTRIBUTES.senderId] = { DataType: 'String', StringValue: envelope.senderId };
  }
  return attributes;
}

export const APPROXIMATE_NOTE =
  'approximate: SQS has no peek; dead letters were received and released at once, and messages in flight elsewhere are not seen';

export function deadLetterTable(groups: ReasonGroup[]): string {
  if (groups.length === 0) return 'no dead letters seen';
  const out: string[] = [];
  for (const group of groups) {
    out.push(`${group.reason} (${count(group.count, 'message')}): ${group.meaning}`);
    const rows = group.messages.map((m) => [
      m.messageId,
      m.queue === 'zone-dead-letter' ? 'zone' : 'main',
      [m.action, m.record === undefined ? undefined : bare(m.record)].filter(Boolean).join(' ') || '?',
      m.instanceId ?? '',
      senderText(m),
      duration(m.ageMs),
      oneLine(m.detail, 80),
    ]);
    out.push(
      indentLines(table(['ID', 'QUEUE', 'MESSAGE', 'INSTANCE', 'SENDER', 'AGE', 'DETAIL'], rows), 2),
      '',
    );
  }
  return out.join('\n').trimEnd();
}

/** The sender a copy keeps; `(unverified)` when the dead letter was not written by the stack's roles. */
export function senderText(row: DeadLetterRow): string {
  const sender = row.sender ?? '?';
  return row.senderKept ? sender : `${sender} (unverified)`;
}

export const UNVERIFIED_NOTE =
  "unverified: the dead letter was not written by one of the stack's roles (SenderId), so the sender it claims is not kept; redrive sends it as from its writer";

const indentLines = (text: string, spaces: number) =>
  text
    .split('\n')
    .map((line) => `${' '.repeat(spaces)}${line}`)
    .join('\n');
