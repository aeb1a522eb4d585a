// The reads behind `status` and `dlq`: Route 53 zones, the workflow's executions, the dead-letter queues.
import { readZone } from '../../handlers/adapters/route53';
import type { ZoneRule } from '../../handlers/core/model';
import { normaliseRecordName, zoneForRecord } from '../../handlers/core/names';
import type { Aws, Stack } from './context';
import { loadZoneRules, stackRoleIds } from './context';
import {
  APPROXIMATE_NOTE,
  type DeadLetterQueue,
  type DeadLetterRow,
  groupByReason,
  type ReasonGroup,
  rowsOf,
} from './dead-letters';
import { CliError } from './errors';
import { describeAll, recentExecutionArns } from './executions';
import { approximateCounts, receiveHeld, release } from './queues';
import { lastChanges, type StatusReport, zoneStatus } from './status';

/** The zone a record name belongs to, or a one-line error naming the stack's zones. */
function zoneOf(zones: ZoneRule[], stack: Stack, name: string): { zone: ZoneRule; record: string } {
  const named = normaliseRecordName(name);
  if (!named.ok)
    throw new CliError(`${name} is not a record name r53dyn can manage: ${named.problem.detail}`);
  const zone = zoneForRecord({ zones }, named.name);
  if (zone === undefined) {
    const suffixes = zones.map((z) => z.suffix).join(', ') || 'none';
    throw new CliError(`${name} is not below a zone of stack ${stack.name} (zones: ${suffixes})`);
  }
  return { zone, record: named.name };
}

export async function statusReport(
  aws: Aws,
  stack: Stack,
  options: { name?: string; lookBack: number; now: number },
): Promise<StatusReport> {
  const zones = await loadZoneRules(aws, stack);
  const only = options.name === undefined ? undefined : zoneOf(zones, stack, options.name);
  const targets = only === undefined ? zones : [only.zone];
  const report: StatusReport = {
    stack: stack.name,
    ownerId: stack.outputs.OwnerId,
    now: options.now,
    zones: [],
    lookedBack: { executions: 0, limit: options.lookBack },
  };
  for (const zone of targets) {
    const rrsets = await readZone(aws.route53, zone.hostedZoneId);
    report.zones.push(zoneStatus(zone, rrsets, stack.outputs.OwnerId, options.now, only?.record));
  }
  const records = report.zones.flatMap((z) => z.records);
  if (only !== undefined && records.length === 0) {
    throw new CliError(
      `no record ${options.name} is managed by stack ${stack.name} (owner ${stack.outputs.OwnerId})`,
    );
  }
  await attachLastChanges(aws, stack, report, options.lookBack);
  return report;
}

/** Looks through the newest SUCCEEDED executions, ten at a time, until every record's last change is found. */
async function attachLastChanges(
  aws: Aws,
  stack: Stack,
  report: StatusReport,
  lookBack: number,
): Promise<void> {
  const records = report.zones.flatMap((z) => z.records);
  if (records.length === 0 || lookBack === 0) return;
  const arns = await recentExecutionArns(aws.sfn, stack.outputs.StateMachineArn, lookBack, ['SUCCEEDED']);
  const wanted = new Set(records.map((r) => r.record));
  const found = new Map<string, NonNullable<(typeof records)[number]['lastChange']>>();
  for (let i = 0; i < arns.length && found.size < wanted.size; i += 10) {
    const chunk = arns.slice(i, i + 10);
    const described = await describeAll(
      aws.sfn,
      chunk.map((a) => a.arn),
    );
    const changes = lastChanges(
      described.map((d) => d.summary),
      [...wanted].filter((name) => !found.has(name)),
    );
    for (const [name, change] of changes) found.set(name, change);
    report.lookedBack.executions += chunk.length;
    const oldest = chunk[chunk.length - 1];
    if (oldest !== undefined) report.lookedBack.since = oldest.startedAt;
  }
  for (const record of records) {
    const change = found.get(record.record);
    if (change !== undefined) record.lastChange = change;
  }
}

export interface DeadLetterReport {
  approximate: string;
  queues: { queue: DeadLetterQueue; url: string; approximateVisible: number; approximateInFlight: number }[];
  seen: number;
  groups: ReasonGroup[];
}

export async function deadLetterReport(
  aws: Aws,
  stack: Stack,
  options: { reason?: string; limit: number; now: number },
): Promise<DeadLetterReport> {
  const roles = stackRoleIds(stack);
  const queues: [DeadLetterQueue, string][] = [
    ['dead-letter', stack.outputs.DeadLetterQueueUrl],
    ['zone-dead-letter', stack.outputs.ZoneDeadLetterQueueUrl],
  ];
  const report: DeadLetterReport = { approximate: APPROXIMATE_NOTE, queues: [], seen: 0, groups: [] };
  const rows: DeadLetterRow[] = [];
  for (const [queue, url] of queues) {
    const counts = await approximateCounts(aws.sqs, url);
    report.queues.push({
      queue,
      url,
      approximateVisible: counts.visible,
      approximateInFlight: counts.inFlight,
    });
    const letters = await receiveHeld(aws.sqs, url, queue, {
      limit: Math.max(0, options.limit - report.seen),
    });
    await release(
      aws.sqs,
      url,
      letters.map((l) => l.receiptHandle),
    );
    report.seen += letters.length;
    rows.push(...letters.flatMap((letter) => rowsOf(letter, roles, options.now)));
  }
  report.groups = groupByReason(
    rows.filter((row) => options.reason === undefined || row.reason === options.reason),
  );
  return report;
}
