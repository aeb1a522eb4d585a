// One SQS batch, end to end, without I/O: received messages -> parsed messages and dead letters -> the reads
// the batch needs -> per-record folds -> one workflow start per zone part. The handler only performs the
// reads and writes this module asks for.
import { executionName } from './execution-name';
import { isRejection, parseMessage } from './message';
import type { Allowlist, Message, RecordSet, Registration, ZoneRule } from './model';
import { planRecord, type RecordPlan, splitZonePlan, type ZonePart } from './plan';
import { foldMessages, readRecordState, staleReason } from './record-state';
import { REGISTRY_PREFIX } from './registry';

/** The parts of an SQS record the batch reads. */
export interface ReceivedMessage {
  messageId: string;
  body: string;
  /** when the message was first sent: SentTimestamp, or the original one carried by a requeued message */
  sentAt: number;
  /** how many times a write conflict sent this message back to the queue */
  attempt: number;
  senderId?: string;
}

export interface DeadLetter {
  messageId: string;
  body: string;
  reason: string;
  sentAt: number;
}

export interface SqsRecordLike {
  messageId: string;
  body: string;
  attributes: { SentTimestamp?: string; SenderId?: string };
  messageAttributes?: Record<string, { stringValue?: string } | undefined>;
}

export const ATTEMPT_ATTRIBUTE = 'r53dyn-attempt';
export const SENT_AT_ATTRIBUTE = 'r53dyn-sent-timestamp';

function attributeNumber(record: SqsRecordLike, name: string): number | undefined {
  const text = record.messageAttributes?.[name]?.stringValue;
  const value = text === undefined ? Number.NaN : Number(text);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * A requeued message keeps the time it was first sent, so that last-writer-wins still orders it correctly.
 * Anyone who may send to the queue can set that attribute, so it is only believed when it is earlier than
 * SQS's own SentTimestamp: a forged value can make a message older, never newer.
 */
export function receivedFromSqs(record: SqsRecordLike): ReceivedMessage {
  const sentTimestamp = Number(record.attributes.SentTimestamp);
  const claimed = attributeNumber(record, SENT_AT_ATTRIBUTE);
  const sentAt = claimed !== undefined && claimed < sentTimestamp ? claimed : sentTimestamp;
  const received: ReceivedMessage = {
    messageId: record.messageId,
    body: record.body,
    sentAt,
    attempt: Math.min(attributeNumber(record, ATTEMPT_ATTRIBUTE) ?? 0, 1000),
  };
  if (record.attributes.SenderId) received.senderId = record.attributes.SenderId;
  return received;
}

export interface Sorted {
  messages: Message[];
  deadLetters: DeadLetter[];
}

export interface SortOptions {
  allowlist: Allowlist;
  senderBinding: boolean;
  /**
   * The role id (AROA...) of the workflow's role. A write conflict sends a batch's messages back to the queue
   * from that role, so SQS names it as their sender; they were bound to their instance when first received,
   * and only that role (and the instances themselves) may send to the queue.
   */
  relayRoleId?: string;
  now: number;
}

export function sortMessages(received: ReceivedMessage[], options: SortOptions): Sorted {
  const messages: Message[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const r of received) {
    if (!Number.isSafeInteger(r.sentAt)) {
      deadLetters.push({ ...letterOf(r), reason: 'missing-sent-timestamp: SQS gave no SentTimestamp' });
      continue;
    }
    const context = r.senderId === undefined ? { messageId: r.messageId, sentAt: r.sentAt } : { ...r };
    const relayed =
      options.relayRoleId !== undefined && r.senderId?.startsWith(`${options.relayRoleId}:`) === true;
    const parsed = parseMessage(r.body, context, {
      allowlist: options.allowlist,
      senderBinding: options.senderBinding && !relayed,
    });
    if (isRejection(parsed)) {
      deadLetters.push({ ...letterOf(r), reason: parsed.reason });
      continue;
    }
    // a registration too old to be applied safely is kept, with its reason, rather than dropped unseen
    const stale = staleReason(parsed, options.now);
    if (stale !== undefined) deadLetters.push({ ...letterOf(r), reason: stale });
    else messages.push(parsed);
  }
  return { messages, deadLetters };
}

function letterOf(r: ReceivedMessage): Omit<DeadLetter, 'reason'> {
  return { messageId: r.messageId, body: r.body, sentAt: Number.isSafeInteger(r.sentAt) ? r.sentAt : 0 };
}

/** What must be read from a zone: a few records, or all of it when a sweep or an instance event is in the batch. */
export interface ZoneRead {
  zone: ZoneRule;
  wholeZone: boolean;
  names: string[];
}

const isRegistration = (m: Message): m is Registration =>
  m.kind === 'register' || m.kind === 'deregister' || m.kind === 'heartbeat';

export function readsFor(messages: Message[], allowlist: Allowlist): ZoneRead[] {
  const everywhere = messages.some((m) => !isRegistration(m));
  const reads: ZoneRead[] = [];
  for (const zone of allowlist.zones) {
    const names = [
      ...new Set(
        messages
          .filter(isRegistration)
          .filter((m) => m.hostedZoneId === zone.hostedZoneId)
          .map((m) => m.record),
      ),
    ].sort();
    if (everywhere || names.length > 0) reads.push({ zone, wholeZone: everywhere, names });
  }
  return reads;
}

/** The Step Functions execution input (SPEC §5); `workflows/apply-zone-change.asl.json` reads it. */
export interface WorkflowInput {
  hostedZoneId: string;
  changes: { relativeName: string; change: RecordPlan['changes'][number] }[];
  summary: {
    records: { record: string; added: string[]; removed: string[] }[];
    messages: number;
    part: string;
  };
  requeue: RequeueEntry[][];
  attempt: number;
}

export interface RequeueEntry {
  Id: string;
  MessageBody: string;
  MessageAttributes: Record<string, { DataType: 'Number' | 'String'; StringValue: string }>;
}

export interface WorkflowStart {
  name: string;
  input: WorkflowInput;
  messageIds: string[];
}

export interface BatchPlan {
  starts: WorkflowStart[];
  deadLetters: DeadLetter[];
  /** messages that could not be planned now (their zone could not be read): SQS should deliver them again */
  retry: string[];
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function workflowStart(part: ZonePart, byId: Map<string, ReceivedMessage>): WorkflowStart {
  const behind = part.messageIds
    .map((id) => byId.get(id))
    .filter((r): r is ReceivedMessage => r !== undefined);
  const attempt = Math.max(0, ...behind.map((r) => r.attempt));
  const entries: RequeueEntry[] = behind.map((r, n) => ({
    Id: `m${n}`,
    MessageBody: r.body,
    MessageAttributes: {
      [ATTEMPT_ATTRIBUTE]: { DataType: 'Number', StringValue: String(attempt + 1) },
      [SENT_AT_ATTRIBUTE]: { DataType: 'Number', StringValue: String(r.sentAt) },
    },
  }));
  return {
    name: executionName(part),
    messageIds: part.messageIds,
    input: {
      hostedZoneId: part.hostedZoneId,
      changes: part.records.flatMap((r) =>
        r.changes.map((change) => ({ relativeName: r.relativeName, change })),
      ),
      summary: {
        records: part.records.map((r) => ({ record: r.record, added: r.added, removed: r.removed })),
        messages: part.messageIds.length,
        part: `${part.index}/${part.count}`,
      },
      requeue: chunks(entries, 10),
      attempt,
    },
  };
}

/**
 * The names of the records a zone's registry knows, from a whole-zone read: only those under the allowlisted
 * suffix (a registry left outside it, e.g. after the suffix was narrowed, would fail the workflow's validation
 * and take the part's other records down with it).
 */
function registeredNames(rrsets: RecordSet[], zone: ZoneRule): string[] {
  return rrsets
    .filter((r) => r.Type === 'TXT' && r.Name.toLowerCase().startsWith(REGISTRY_PREFIX))
    .map((r) => r.Name.toLowerCase().slice(REGISTRY_PREFIX.length))
    .filter((name) => name.endsWith(`.${zone.suffix}.`));
}

export function planBatch(args: {
  received: ReceivedMessage[];
  sorted: Sorted;
  reads: ZoneRead[];
  /** rrsets per zone id, for each read that succeeded */
  rrsets: Map<string, RecordSet[]>;
  ownerId: string;
  now: number;
}): BatchPlan {
  const { sorted, ownerId, now } = args;
  const byId = new Map(args.received.map((r) => [r.messageId, r]));
  const deadLetters = [...sorted.deadLetters];
  const retry = new Set<string>();
  const starts: WorkflowStart[] = [];
  const everywhere = sorted.messages.filter((m) => !isRegistration(m));

  for (const read of args.reads) {
    const { zone } = read;
    const inZone = sorted.messages.filter((m) => isRegistration(m) && m.hostedZoneId === zone.hostedZoneId);
    const rrsets = args.rrsets.get(zone.hostedZoneId);
    if (!rrsets) {
      for (const m of [...inZone, ...everywhere]) retry.add(m.messageId);
      continue;
    }
    const names = [
      ...new Set([...read.names, ...(read.wholeZone ? registeredNames(rrsets, zone) : [])]),
    ].sort();
    const plans: RecordPlan[] = [];
    for (const name of names) {
      const forRecord = inZone.filter((m) => isRegistration(m) && m.record === name);
      const messages = [...forRecord, ...everywhere];
      const before = readRecordState(name, zone, rrsets, ownerId);
      if (!before.managed) {
        const reason = before.refusal ?? `not-managed: ${name} is not managed by ${ownerId}`;
        for (const m of forRecord)
          deadLetters.push({ ...letterOf(byId.get(m.messageId) ?? emptyOf(m)), reason });
        continue;
      }
      const after = foldMessages(before, messages, now);
      const plan = planRecord(
        before,
        after,
        now,
        ownerId,
        messages.map((m) => m.messageId),
      );
      if (!plan) continue;
      if ('reason' in plan) {
        for (const m of forRecord) {
          deadLetters.push({ ...letterOf(byId.get(m.messageId) ?? emptyOf(m)), reason: plan.reason });
        }
        continue;
      }
      plans.push(plan);
    }
    for (const part of splitZonePlan(zone.hostedZoneId, plans)) starts.push(workflowStart(part, byId));
  }
  return { starts, deadLetters, retry: [...retry] };
}

function emptyOf(m: Message): ReceivedMessage {
  return { messageId: m.messageId, body: '', sentAt: m.sentAt, attempt: 0 };
}
