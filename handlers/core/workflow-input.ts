// The workflow's execution input (docs/design.md §8.1), built by the planner and read by
// workflows/apply-zone-change.ts. Only service integrations run in the workflow, so the input is shaped for
// JSONPath: every record's changes in six fixed slots, the parts already packed, and nothing the workflow must
// trust: it checks every name, type and count against the zone's allowlist entry in SSM.
import type { ZoneEntry } from './allowlist';
import { STATE_DATA_LIMIT_BYTES } from './contract';
import type { RecordWrite, Slots } from './plan';

export interface WorkflowRecord {
  /** the relative name: `web`, or `_r53dyn-gone` for the zone's gone list */
  name: string;
  slots: Slots;
}

export interface WorkflowPart {
  records: WorkflowRecord[];
}

export interface Release {
  /** DeleteMessageBatch entries: the round is written (records it left out are on the queue in a new delta) */
  delete: { Id: string; ReceiptHandle: string }[];
  /** ChangeMessageVisibilityBatch entries after a failure: back after a jittered, growing delay */
  later: { Id: string; ReceiptHandle: string; VisibilityTimeout: number }[];
}

export interface WorkflowInput {
  hostedZoneId: string;
  /** the zone's allowlist entry the round was planned with; the workflow refuses it unless SSM holds the same */
  zone: ZoneEntry;
  parts: WorkflowPart[];
  /** the zone-queue deltas this round holds */
  release: Release;
  summary: {
    round: string;
    /** the messages of the round's deltas */
    messages: number;
    /**
     * those of them the round serves when it is written (not dead-lettered, not carried over to a later round);
     * the workflow publishes it as MessagesApplied
     */
    applied: number;
    /** the oldest message's age when the round was planned, whole seconds (the workflow adds its INSYNC wait) */
    secondsSentToPlan: number;
    records: { record: string; added: string[]; removed: string[] }[];
  };
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * What the workflow adds to its state data on top of the input, per record (the validation's verdicts) and in
 * all (change ids, the INSYNC poll, a failure's cause): the input is kept below the limit by that much.
 */
export const STATE_GROWTH_PER_RECORD_BYTES = 400;
export const STATE_GROWTH_FIXED_BYTES = 24_576;

export interface BudgetedInput {
  input: WorkflowInput;
  /** the record writes it carries */
  writes: RecordWrite[];
  /** record writes left for the next round */
  deferred: RecordWrite[];
}

/** What a part adds to the input besides its records: `{"records":[]}` and a comma. */
const PART_BYTES = bytes({ records: [] }) + 1;

/** What one record adds to the input and the state: its slots, its summary and the workflow's verdicts. */
function recordBytes(write: RecordWrite): number {
  const record = { name: write.relativeName, slots: write.slots };
  const summary = { record: write.record, added: write.added, removed: write.removed };
  return bytes(record) + bytes(summary) + 2 + STATE_GROWTH_PER_RECORD_BYTES;
}

/**
 * The largest prefix of the parts whose input, with the state the workflow adds to it, stays within Step
 * Functions' 256 KiB (docs/design.md §5.3, "size budget"). Something always goes: a first part too large for the
 * budget (many records with long names fill a ChangeBatch with far more than 256 KiB of input) is cut to the
 * records that fit, at least one, and the rest wait for the next round. One record's changes fit one ChangeBatch,
 * which is far below the budget.
 */
export function budgetedInput(
  base: Omit<WorkflowInput, 'parts' | 'summary'> & { summary: Omit<WorkflowInput['summary'], 'records'> },
  parts: RecordWrite[][],
  limit = STATE_DATA_LIMIT_BYTES,
): BudgetedInput {
  const input: WorkflowInput = { ...base, parts: [], summary: { ...base.summary, records: [] } };
  const writes: RecordWrite[] = [];
  let size = bytes(input) + STATE_GROWTH_FIXED_BYTES;
  let taken = 0;
  for (const whole of parts) {
    let part = whole;
    let more = part.reduce((n, w) => n + recordBytes(w), PART_BYTES);
    if (size + more > limit && taken > 0) break;
    if (size + more > limit) part = firstRecordsWithin(whole, limit - size);
    more = part.reduce((n, w) => n + recordBytes(w), PART_BYTES);
    input.parts.push({ records: part.map((w) => ({ name: w.relativeName, slots: w.slots })) });
    input.summary.records.push(
      ...part.map((w) => ({ record: w.record, added: w.added, removed: w.removed })),
    );
    writes.push(...part);
    size += more;
    taken += 1;
    if (part.length < whole.length)
      return { input, writes, deferred: [...whole.slice(part.length), ...parts.slice(1).flat()] };
  }
  return { input, writes, deferred: parts.slice(taken).flat() };
}

/** The first records of a part that fit in `room` bytes, at least one. */
function firstRecordsWithin(part: RecordWrite[], room: number): RecordWrite[] {
  let used = PART_BYTES;
  let count = 0;
  while (count < part.length && (count === 0 || used + recordBytes(part[count] as RecordWrite) <= room)) {
    used += recordBytes(part[count] as RecordWrite);
    count += 1;
  }
  return part.slice(0, count);
}
