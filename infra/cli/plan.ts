// `r53dyn plan <message.json>`: a dry run of one message through the real core, against the zone as it is now:
// parsed as the batcher parses it (handlers/core/message.ts), the record read as the planner reads it
// (handlers/adapters/route53.ts), folded and planned by the planner's round (handlers/core/round.ts) on a
// delta that holds only this message. Nothing is sent and nothing is written.
import { readFileSync } from 'node:fs';
import { readForRound } from '../../handlers/adapters/route53';
import { reasonCode } from '../../handlers/core/contract';
import { isRejection, parseMessage } from '../../handlers/core/message';
import type { Change, Message, ZoneRule } from '../../handlers/core/model';
import { staleReason } from '../../handlers/core/record-state';
import { planRound, readsFor } from '../../handlers/core/round';
import type { Aws, Stack } from './context';
import { usageError } from './errors';
import { bare, clock, table } from './format';

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

export interface PlanReport {
  file: string;
  sentAt: number;
  /** the message as r53dyn understood it; absent when it was refused before any read */
  message?: Message;
  hostedZoneId?: string;
  /** what it would be dead-lettered with */
  deadLetter?: { code: string; reason: string };
  changeBatches: { Comment: string; Changes: Change[] }[];
  records: { record: string; added: string[]; removed: string[] }[];
  note: string;
}

const DRY_RUN_ID = 'dry-run';
const NOTE =
  'dry run: sender binding is not checked (a file has no SQS sender), and another writer may change the zone before a real round';

export function readMessageFile(file: string): string {
  try {
    return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code || String(error);
    throw usageError(`cannot read message file ${file}: ${why}`);
  }
}

export async function planMessage(
  aws: Aws,
  stack: Stack,
  zones: ZoneRule[],
  input: { file: string; body: string; sentAt: number; now: number },
): Promise<PlanReport> {
  const report: PlanReport = {
    file: input.file,
    sentAt: input.sentAt,
    changeBatches: [],
    records: [],
    note: NOTE,
  };
  // Messages arrive with their newline when saved by an editor; SQS would carry the body as sent.
  const parsed = parseMessage(
    input.body.trimEnd(),
    { messageId: DRY_RUN_ID, sentAt: input.sentAt, queue: 'registrations' },
    { allowlist: { zones }, senderBinding: false },
  );
  if (isRejection(parsed)) return { ...report, deadLetter: deadLetterOf(parsed.reason) };
  report.message = parsed;
  const stale = staleReason(parsed, input.now);
  if (stale !== undefined) return { ...report, deadLetter: deadLetterOf(stale) };
  const zone =
    'hostedZoneId' in parsed ? zones.find((z) => z.hostedZoneId === parsed.hostedZoneId) : undefined;
  if (zone === undefined) return report;
  report.hostedZoneId = zone.hostedZoneId;
  const read = await readForRound(aws.route53, zone.hostedZoneId, zone.suffix, readsFor([parsed]));
  const plan = planRound({
    zone,
    ownerId: stack.outputs.OwnerId,
    now: input.now,
    deltas: [{ messageId: DRY_RUN_ID, receiptHandle: DRY_RUN_ID, receiveCount: 1, messages: [parsed] }],
    rrsets: read.rrsets,
    verdicts: [],
    maxAttempts: 1,
    retryBackoff: { baseSeconds: 1, capSeconds: 1 },
    random: 0,
  });
  const [refused] = plan.deadLetters;
  if (refused !== undefined) report.deadLetter = deadLetterOf(refused.reason);
  const execution = plan.execution;
  if (execution === undefined) return report;
  report.changeBatches = execution.input.parts.map((part, n) => ({
    Comment: `r53dyn part ${n}`,
    Changes: part.records.flatMap((record) => record.slots.flat()),
  }));
  report.records = execution.input.summary.records;
  return report;
}

function deadLetterOf(reason: string): { code: string; reason: string } {
  return { code: reasonCode(reason) ?? 'unknown', reason };
}

export function planText(report: PlanReport): string {
  const out: string[] = [];
  const m = report.message;
  if (m !== undefined && 'record' in m) {
    const address = [m.ipv4, m.ipv6].filter(Boolean).join(' ');
    out.push(
      `message: ${m.kind} ${bare(m.record)} ${m.instanceId}${address ? ` ${address}` : ''}, as sent at ${clock(report.sentAt)}`,
    );
  }
  if (report.deadLetter !== undefined) out.push(`would be dead-lettered: ${report.deadLetter.reason}`);
  if (report.changeBatches.length === 0 && report.deadLetter === undefined) {
    out.push('nothing to write: the zone already says what this message says');
  }
  for (const record of report.records) {
    const changes = [...record.added.map((v) => `+${v}`), ...record.removed.map((v) => `-${v}`)];
    out.push(`${bare(record.record)}: ${changes.join(' ') || 'registry only'}`);
  }
  for (const batch of report.changeBatches) {
    out.push(
      `ChangeBatch for hosted zone ${report.hostedZoneId} (${batch.Comment}; --json prints it whole):`,
    );
    const rows = batch.Changes.map((c) => {
      const set = c.ResourceRecordSet;
      const values = (set.ResourceRecords ?? []).map((r) => r.Value).join(' ');
      return [c.Action, set.Type, set.Name, String(set.TTL ?? ''), values];
    });
    out.push(indent(table(['ACTION', 'TYPE', 'NAME', 'TTL', 'VALUES'], rows)));
  }
  out.push(`(${report.note})`);
  return out.join('\n');
}
