// `r53dyn executions`: the workflow's recent executions, newest first, each with a one-line outcome read from
// its output (docs/design.md §8: records, changeIds, status) or its error and cause (§8.3).
import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { bare, clock, count, duration, oneLine, table } from './format';

export interface ExecutionSummary {
  name: string;
  executionArn: string;
  status: string;
  startedAt: number;
  stoppedAt?: number;
  /** one line: what the round wrote, or why it failed */
  outcome: string;
  hostedZoneId?: string;
  records?: RecordChange[];
  changeIds?: string[];
  error?: string;
  cause?: string;
}

export interface RecordChange {
  record: string;
  added: string[];
  removed: string[];
}

/** What a SUCCEEDED execution's output holds (workflows/apply-zone-change.ts, SummarizeChange). */
interface ExecutionOutput {
  hostedZoneId?: string;
  records?: RecordChange[];
  changeIds?: string[];
  status?: string;
  polls?: number;
  complete?: boolean;
}

const FAILED_STATUSES: ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];

export function parseOutput(output: string | undefined): ExecutionOutput {
  if (output === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(output);
    return typeof parsed === 'object' && parsed !== null ? (parsed as ExecutionOutput) : {};
  } catch {
    return {};
  }
}

/** The one-line outcome of an execution, from its output or its error and cause. */
export function outcomeLine(summary: Omit<ExecutionSummary, 'outcome'>, output: ExecutionOutput): string {
  if (summary.status === 'RUNNING') return 'running';
  if (summary.status !== 'SUCCEEDED') {
    const error = summary.error ?? summary.status;
    return oneLine(summary.cause ? `${error}: ${summary.cause}` : error, 400);
  }
  const records = output.records ?? [];
  const changes = (output.changeIds ?? []).length;
  const what = records.map(
    (r) =>
      `${bare(r.record)}${r.added.map((v) => ` +${v}`).join('')}${r.removed.map((v) => ` -${v}`).join('')}`,
  );
  const rest = output.complete === false ? '; more left for the next round' : '';
  return `${output.status ?? 'done'}, ${count(changes, 'change')}: ${what.join('; ') || 'no address changed'}${rest}`;
}

export async function describeExecution(
  sfn: SFNClient,
  executionArn: string,
): Promise<{ summary: ExecutionSummary; output: ExecutionOutput }> {
  const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const output = parseOutput(d.output);
  const base: Omit<ExecutionSummary, 'outcome'> = {
    name: d.name ?? '',
    executionArn,
    status: d.status ?? 'UNKNOWN',
    startedAt: d.startDate?.getTime() ?? 0,
  };
  if (d.stopDate) base.stoppedAt = d.stopDate.getTime();
  if (d.error) base.error = d.error;
  if (d.cause) base.cause = d.cause;
  if (output.hostedZoneId) base.hostedZoneId = output.hostedZoneId;
  if (output.records) base.records = output.records;
  if (output.changeIds) base.changeIds = output.changeIds;
  return { summary: { ...base, outcome: outcomeLine(base, output) }, output };
}

/** The newest `limit` executions (with one of `statuses`, or any), newest first. */
export async function recentExecutionArns(
  sfn: SFNClient,
  stateMachineArn: string,
  limit: number,
  statuses?: ExecutionStatus[],
): Promise<{ arn: string; startedAt: number }[]> {
  const found: { arn: string; startedAt: number }[] = [];
  for (const statusFilter of statuses ?? [undefined]) {
    let nextToken: string | undefined;
    let listed = 0;
    do {
      const page = await sfn.send(
        new ListExecutionsCommand({
          stateMachineArn,
          statusFilter,
          maxResults: Math.min(1000, limit),
          nextToken,
        }),
      );
      for (const e of page.executions ?? []) {
        found.push({ arn: e.executionArn ?? '', startedAt: e.startDate?.getTime() ?? 0 });
      }
      listed += page.executions?.length ?? 0;
      nextToken = page.nextToken;
    } while (nextToken && listed < limit);
  }
  return found.sort((a, b) => b.startedAt - a.startedAt || (a.arn < b.arn ? 1 : -1)).slice(0, limit);
}

/** Described in parallel, ten at a time, in the order given. */
export async function describeAll(
  sfn: SFNClient,
  arns: string[],
): Promise<{ summary: ExecutionSummary; output: ExecutionOutput }[]> {
  const described = [];
  for (let i = 0; i < arns.length; i += 10) {
    described.push(...(await Promise.all(arns.slice(i, i + 10).map((arn) => describeExecution(sfn, arn)))));
  }
  return described;
}

export async function executionsCommand(
  sfn: SFNClient,
  stateMachineArn: string,
  options: { failed: boolean; limit: number },
): Promise<ExecutionSummary[]> {
  const arns = await recentExecutionArns(
    sfn,
    stateMachineArn,
    options.limit,
    options.failed ? FAILED_STATUSES : undefined,
  );
  return (
    await describeAll(
      sfn,
      arns.map((a) => a.arn),
    )
  ).map((d) => d.summary);
}

export function executionsTable(executions: ExecutionSummary[], failedOnly: boolean): string {
  if (executions.length === 0) return failedOnly ? 'no failed executions' : 'no executions';
  return table(
    ['STARTED', 'TOOK', 'STATUS', 'EXECUTION', 'OUTCOME'],
    executions.map((e) => [
      clock(e.startedAt),
      e.stoppedAt === undefined ? '' : duration(e.stoppedAt - e.startedAt),
      e.status,
      e.name,
      oneLine(e.outcome, 140),
    ]),
  );
}
