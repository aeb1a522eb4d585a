// One zone round, without I/O (docs/design.md §4.2-4.5): the zone's deltas this receive holds, what Route 53
// holds, and what became of the previous execution -> dead letters, and the one execution that writes the
// zone. The planner holds the zone's lock (its deltas are in flight on the FIFO zone queue) from its receive
// until the workflow deletes them, so nothing else of this stack writes the zone meanwhile.
import { zoneEntry } from './allowlist';
import { GONE_LIST_LABEL, REGISTRY_PREFIX, TOMBSTONE_MS } from './contract';
import { type DeadLetter, deadLetterOf } from './dead-letter';
import { isInstanceGone, isRegistration } from './delta';
import { executionName } from './execution-name';
import { foldRecord, type GoneList } from './fold';
import { registryCapacity } from './limits';
import type { InstanceGone, Message, RecordSet, Registration, ZoneRule } from './model';
import type { Scope, Verdict } from './outcome';
import { packParts, planRecordWrite, type RecordWrite } from './plan';
import { delegationsOf, indexZone, nameKey, readRecordState, type ZoneIndex } from './record-state';
import { compareText, decodeRegistry, goneListName, mergeEntries, type OwnerEntry } from './registry';
import { budgetedInput, type WorkflowInput } from './workflow-input';

/** At most this many ChangeBatches in one round; the rest is left for the next round (docs/design.md §4.4). */
export const MAX_PARTS_PER_ROUND = 8;

/** How many instances a zone's gone list remembers (docs/design.md §3.4): its rewrite stays small. */
export const GONE_LIST_CAPACITY = 100;

export interface ZoneDelta {
  messageId: string;
  receiptHandle: string;
  /** SQS's ApproximateReceiveCount: 1 on the first receive */
  receiveCount: number;
  messages: Message[];
}

export interface RoundInput {
  zone: ZoneRule;
  ownerId: string;
  now: number;
  /** in queue order: the first is the zone's head */
  deltas: ZoneDelta[];
  /** what was read: the named records and their registries, or the whole zone */
  rrsets: RecordSet[];
  /** what the previous execution for these deltas left to do */
  verdicts: Verdict[];
  /** receives after which a message that keeps failing is dead-lettered */
  maxAttempts: number;
  retryBackoff: { baseSeconds: number; capSeconds: number };
  /** [0, 1): the jitter's source, given so that a round is a function of its input */
  random: number;
}

/** Full jitter: a delay drawn from [1, min(cap, base * 2^attempt)] seconds. */
export function retryDelaySeconds(
  backoff: { baseSeconds: number; capSeconds: number },
  attempt: number,
  random: number,
): number {
  const ceiling = Math.max(1, Math.min(backoff.capSeconds, backoff.baseSeconds * 2 ** attempt));
  return Math.max(1, Math.ceil(random * ceiling));
}

export interface RoundPlan {
  deadLetters: DeadLetter[];
  execution?: { name: string; input: WorkflowInput; writes: RecordWrite[] };
  /** the messages of the records the input budget left out: they go back on the zone queue as new deltas */
  carryOver: Message[];
  /** how many records the budget left out */
  deferred: number;
  messages: number;
}

interface Pending {
  message: Message;
  /** receives this message has already been through without being written */
  attempt: number;
}

/** The names a round must read: the records named, or (for EC2 events and sweeps) every record of the zone. */
export function readsFor(messages: Message[]): { wholeZone: boolean; names: string[] } {
  const wholeZone = messages.some((m) => !isRegistration(m));
  const names = [...new Set(messages.filter(isRegistration).map((m) => m.record))].sort(compareText);
  return { wholeZone, names };
}

export function planRound(input: RoundInput): RoundPlan {
  const pending: Pending[] = input.deltas.flatMap((d) =>
    d.messages.map((message) => ({ message, attempt: d.receiveCount - 1 })),
  );
  const deadLetters: DeadLetter[] = [];
  const kept = excludeExhausted(pending, input.verdicts, input.maxAttempts, input.zone.suffix, deadLetters);
  const writes = planWrites(input, kept, deadLetters);
  const planned = execution(input, writes);
  // the records the budget left out are written by a later round, from a delta of their own (§4.4): their
  // messages are decided there, so none of them is dead-lettered here
  const carryOver = carriedOver(kept, planned.deferredRecords);
  const carried = new Set(carryOver.map((m) => m.messageId));
  const letters = deadLetters.filter((letter) => !carried.has(letter.messageId));
  if (planned.execution) {
    planned.execution.input.summary.applied = pending.length - letters.length - carryOver.length;
  }
  return {
    deadLetters: letters,
    ...(planned.execution ? { execution: planned.execution } : {}),
    carryOver,
    deferred: planned.deferredRecords.size,
    messages: pending.length,
  };
}

/** Every record of the round folded and planned; what cannot be written is dead-lettered on the way. */
function planWrites(input: RoundInput, kept: Pending[], deadLetters: DeadLetter[]): RecordWrite[] {
  const { zone, now } = input;
  const index = indexZone(input.rrsets);
  const registrations = kept.map((p) => p.message).filter(isRegistration);
  const goneEvents = kept.map((p) => p.message).filter(isInstanceGone);
  const gone = foldGoneList(zone, index, input.ownerId, goneEvents, now);
  const wholeZone = kept.some((p) => !isRegistration(p.message));
  const byRecord = groupBy(registrations, (m) => m.record);
  const names = new Set([...byRecord.keys(), ...(wholeZone ? registeredNames(index, zone) : [])]);
  const context: RecordContext = {
    input,
    index,
    goneEvents,
    goneList: gone.list,
    capacity: registryCapacity(zone, input.ownerId),
    delegations: delegationsOf(index, zone),
  };
  const writes: RecordWrite[] = [];
  let dropped = 0;
  for (const name of [...names].sort(compareText)) {
    const planned = planRecord(context, name, byRecord.get(name) ?? [], deadLetters);
    if (planned === 'dropped') dropped += 1;
    else if (planned) writes.push(planned);
  }
  // A zone-wide refusal (the zone is gone, access denied, ...) also ends the EC2 events and sweeps that had
  // something left to write; with nothing left to write, they are already in effect.
  const zoneRefusal = refusalOf(input.verdicts, undefined, zone.suffix);
  if (zoneRefusal === undefined && gone.write) writes.push(gone.write);
  if (zoneRefusal !== undefined && (gone.write || dropped > 0)) {
    const zoneWide = kept.filter((p) => !isRegistration(p.message));
    deadLetters.push(...zoneWide.map((p) => deadLetterOf(p.message, zoneRefusal)));
  }
  return writes;
}

interface RecordContext {
  input: RoundInput;
  index: ZoneIndex;
  goneEvents: InstanceGone[];
  goneList: GoneList;
  capacity: number;
  delegations: ReadonlySet<string>;
}

/** One record: its write, nothing to write, or 'dropped' (refused, its messages dead-lettered). */
function planRecord(
  context: RecordContext,
  name: string,
  mine: Registration[],
  deadLetters: DeadLetter[],
): RecordWrite | 'dropped' | undefined {
  const { input } = context;
  const { zone } = input;
  const state = readRecordState(name, zone, context.index, input.ownerId, context.delegations);
  if (state.refusal !== undefined) {
    deadLetters.push(...mine.map((m) => deadLetterOf(m, state.refusal ?? '')));
    return undefined;
  }
  const folded = foldRecord({
    zone,
    entries: state.entries,
    registrations: mine,
    goneEvents: context.goneEvents,
    goneList: context.goneList,
    registryCapacity: context.capacity - state.foreign.length,
    now: input.now,
  });
  deadLetters.push(...folded.refused.map((r) => deadLetterOf(r.message, r.reason)));
  const write = planRecordWrite({
    record: name,
    relativeName: name.slice(0, -zone.suffix.length - 2),
    current: state.current,
    registryName: `${REGISTRY_PREFIX}${name}`,
    ttl: zone.ttl,
    types: zone.types,
    entries: folded.entries,
    foreign: state.foreign,
    ownerId: input.ownerId,
  });
  if (write === undefined) return undefined;
  const refused = 'reason' in write ? write.reason : refusalOf(input.verdicts, name, zone.suffix);
  if (refused === undefined && !('reason' in write)) return write;
  const refusedIds = new Set(folded.refused.map((r) => r.message.messageId));
  deadLetters.push(
    ...mine.filter((m) => !refusedIds.has(m.messageId)).map((m) => deadLetterOf(m, refused ?? '')),
  );
  return 'dropped';
}

/**
 * The messages a later round must decide: those of the records left out, and (when any record is left out) the
 * EC2 events and sweeps, which may touch them; applying those twice changes nothing.
 */
function carriedOver(kept: Pending[], deferredRecords: ReadonlySet<string>): Message[] {
  if (deferredRecords.size === 0) return [];
  return kept.map((p) => p.message).filter((m) => !isRegistration(m) || deferredRecords.has(m.record));
}

/** Messages that have failed past the bound leave with the reason of their last failure. */
function excludeExhausted(
  pending: Pending[],
  verdicts: Verdict[],
  maxAttempts: number,
  suffix: string,
  deadLetters: DeadLetter[],
): Pending[] {
  const retries = verdicts.filter((v) => v.kind === 'retry');
  if (retries.length === 0) return pending;
  return pending.filter(({ message, attempt }) => {
    if (attempt < maxAttempts) return true;
    const record = isRegistration(message) ? relative(message.record, suffix) : undefined;
    const verdict = retries.find((v) => covers(v.scope, record));
    if (verdict?.kind !== 'retry') return true;
    deadLetters.push(deadLetterOf(message, `${verdict.reason} (after ${attempt} attempts)`));
    return false;
  });
}

function refusalOf(verdicts: Verdict[], record: string | undefined, suffix: string): string | undefined {
  const name = record === undefined ? undefined : relative(record, suffix);
  const verdict = verdicts.find((v) => v.kind === 'refuse' && covers(v.scope, name));
  return verdict && verdict.kind === 'refuse' ? verdict.reason : undefined;
}

function covers(scope: Scope, relativeName: string | undefined): boolean {
  return 'zone' in scope || (relativeName !== undefined && scope.records.has(relativeName));
}

const relative = (record: string, suffix: string) => record.slice(0, -suffix.length - 2);

function execution(
  input: RoundInput,
  writes: RecordWrite[],
): { execution?: RoundPlan['execution']; deferredRecords: Set<string> } {
  const head = input.deltas[0];
  if (writes.length === 0 || !head) return { deferredRecords: new Set() };
  const isolated = new Set(
    input.verdicts.flatMap((v) => (v.kind === 'isolate' && 'records' in v.scope ? [...v.scope.records] : [])),
  );
  const alone = writes.filter((w) => isolated.has(w.relativeName));
  const parts = [...packParts(writes.filter((w) => !isolated.has(w.relativeName))), ...alone.map((w) => [w])];
  const handles = input.deltas.map((d, i) => ({ Id: `d${i}`, ReceiptHandle: d.receiptHandle }));
  const later = retryDelaySeconds(input.retryBackoff, head.receiveCount - 1, input.random);
  const budgeted = budgetedInput(
    {
      hostedZoneId: input.zone.hostedZoneId,
      zone: zoneEntry(input.zone),
      release: { delete: handles, later: handles.map((h) => ({ ...h, VisibilityTimeout: later })) },
      summary: {
        round: `receive ${head.receiveCount} of ${input.deltas.length} delta(s) from ${head.messageId}`,
        messages: input.deltas.reduce((n, d) => n + d.messages.length, 0),
        // at most every message: the budget reserves its digits, planRound() sets it once the carry-over is known
        applied: input.deltas.reduce((n, d) => n + d.messages.length, 0),
        secondsSentToPlan: Math.max(
          0,
          Math.round(
            (input.now - Math.min(...input.deltas.flatMap((d) => d.messages.map((m) => m.sentAt)))) / 1000,
          ),
        ),
      },
    },
    parts.slice(0, MAX_PARTS_PER_ROUND),
  );
  const deferred = [...budgeted.deferred, ...parts.slice(MAX_PARTS_PER_ROUND).flat()];
  return {
    execution: {
      name: executionName(input.zone.hostedZoneId, head.messageId, head.receiveCount),
      input: budgeted.input,
      writes: budgeted.writes,
    },
    deferredRecords: new Set(deferred.map((w) => w.record)),
  };
}

/** Every record whose registry is in the zone and under the suffix, but not the gone list. */
function registeredNames(index: ZoneIndex, zone: ZoneRule): string[] {
  const under = `.${zone.suffix}.`;
  const goneList = nameKey(goneListName(zone.suffix));
  const names: string[] = [];
  for (const [name, rrsets] of index) {
    if (!name.startsWith(REGISTRY_PREFIX) || name === goneList || !name.endsWith(under)) continue;
    if (rrsets.some((r) => r.Type === 'TXT')) names.push(name.slice(REGISTRY_PREFIX.length));
  }
  return names;
}

/**
 * The zone's gone list after this round's EC2 events: instances that left within the tombstone horizon, newest
 * first up to the list's capacity, with the write that keeps it (docs/design.md §3.4).
 */
function foldGoneList(
  zone: ZoneRule,
  index: ZoneIndex,
  ownerId: string,
  events: InstanceGone[],
  now: number,
): { list: GoneList; write?: RecordWrite } {
  const name = goneListName(zone.suffix);
  const read = (index.get(nameKey(name)) ?? []).find((r) => r.Type === 'TXT');
  const { entries, foreign } = decodeRegistry(
    (read?.ResourceRecords ?? []).map((r) => r.Value),
    ownerId,
  );
  const added = events.map((e): OwnerEntry => ({ instanceId: e.instanceId, t: e.sentAt, state: 'gone' }));
  const kept = mergeEntries([...entries, ...added])
    .filter((e) => e.state === 'gone' && e.t >= now - TOMBSTONE_MS)
    .sort((a, b) => b.t - a.t || compareText(a.instanceId, b.instanceId))
    .slice(0, GONE_LIST_CAPACITY);
  const list = new Map(kept.map((e) => [e.instanceId, e.t]));
  const write = planRecordWrite({
    record: `${GONE_LIST_LABEL}.${zone.suffix}.`,
    relativeName: GONE_LIST_LABEL,
    current: read ? { registry: read } : {},
    registryName: name,
    ttl: zone.ttl,
    types: [],
    entries: mergeEntries(kept),
    foreign,
    ownerId,
  });
  return write === undefined || 'reason' in write ? { list } : { list, write };
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
