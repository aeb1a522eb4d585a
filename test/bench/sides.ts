// The two sides of every scenario, measured the same way on the same LocalStack under the same Route 53 limits:
//   - r53dyn: messages onto the registrations or events queue, the real handlers behind the local event sources,
//     the real workflow; measured until every name is exact and the pipeline is idle;
//   - the seed's script: every machine UPSERTs its own address through the AWS CLI v2's standard retries
//     (test/bench/seed-script.ts); measured until the last machine's call ended.
// Every Route 53 call is counted by route53-limits.py (the workflow's included), every other call by
// call-counter.py; the benchmark's own reads are observers' and are not counted.
import { performance } from 'node:perf_hooks';
import type { LocalDeployment } from '../../infra/local/deploy';
import type { LocalPipeline } from '../../infra/local/pipeline';
import { type CallCounters, callsBetween, readCallCounters } from '../helpers/call-counter';
import type { Machine } from '../helpers/fleet';
import { type Route53Counters, readRoute53Counters, setRoute53Limits } from '../helpers/route53-limits';
import { type MeasuredRun, runCost, type UsageCost } from './cost';
import {
  drainDeadLetters,
  type ExecutionFigures,
  executionArns,
  executionsBetween,
  type LogMeter,
  presence,
  readZone,
} from './measure';
import { runSeedStorm } from './seed-script';

export interface BenchContext {
  endpoint: string;
  deployment: LocalDeployment;
  pipeline: LocalPipeline;
  logs: LogMeter;
  say: (line: string) => void;
  /** Lambda memory of the packaged functions (serverless.yml provider.memorySize) */
  memoryMb: number;
}

export interface Route53Figures {
  byOperation: Record<string, number>;
  calls: number;
  throttled: number;
  /** record changes Route 53 accepted (Change elements of successful ChangeResourceRecordSets) */
  recordChanges: number;
}

export interface LambdaFigures {
  invocations: number;
  /** the handlers' time, summed, on this machine */
  durationMs: number;
}

export interface SideFigures {
  messages: number;
  route53: Route53Figures;
  deadLetters: Record<string, number>;
  /** from the first message sent until every name was exact; null: never */
  secondsToExact: number | null;
  /** r53dyn: until the pipeline was idle; the seed: until its last call ended */
  secondsToSettle: number;
  present: number;
  expected: number;
  executions?: ExecutionFigures;
  lambda?: { batcher: LambdaFigures; planner: LambdaFigures };
  /** SQS billed requests the system made (the machines' own sends included, one each) */
  sqs?: { standard: number; fifo: number; emptyReceives: number };
  logBytes?: number;
  /** what this run's messages cost, by service (test/bench/cost.ts, prices.json) */
  cost?: UsageCost;
}

export function route53Between(before: Route53Counters, after: Route53Counters): Route53Figures {
  const byOperation: Record<string, number> = {};
  for (const [op, n] of Object.entries(after.calls)) {
    const delta = n - (before.calls[op] ?? 0);
    if (delta > 0) byOperation[op] = delta;
  }
  return {
    byOperation,
    calls: after.totalCalls - before.totalCalls,
    throttled: after.totalThrottled - before.totalThrottled,
    recordChanges: after.recordChanges - before.recordChanges,
  };
}

/** Lambda writes START, END and REPORT lines for every invocation: about this many bytes in all. */
export const PLATFORM_LOG_BYTES_PER_INVOCATION = 300;

export interface R53dynRun {
  label: string;
  zoneId: string;
  /** the machines that should be served when the run ends */
  live: Machine[];
  limit: number;
  /** sends the run's messages; answers how many machine messages that was */
  send: () => Promise<number>;
  /** a text every message of this run carries, to find its dead letters */
  mark: string;
  /** false: the zone is too large to watch (the sweep); the run ends when the pipeline is idle */
  watchZone?: boolean;
  timeoutSeconds?: number;
}

interface Snapshot {
  route53: Route53Counters;
  calls: CallCounters;
  executions: Set<string>;
  outcomes: number;
  logBytes: number;
}

async function snapshot(ctx: BenchContext): Promise<Snapshot> {
  return {
    route53: await readRoute53Counters(ctx.endpoint),
    calls: await readCallCounters(ctx.endpoint),
    executions: await executionArns(ctx.deployment.outputs.StateMachineArn ?? ''),
    outcomes: ctx.pipeline.outcomes.length,
    logBytes: ctx.logs.bytes,
  };
}

/** Watches the zone and the pipeline until the pipeline is idle twice in a row; answers when it got exact. */
async function watch(ctx: BenchContext, run: R53dynRun, started: number) {
  let exactAt: number | null = null;
  let idleSince: number | undefined;
  let idleCount = 0;
  let lastNote = started;
  for (;;) {
    const now = performance.now();
    if (run.watchZone !== false && exactAt === null) {
      const p = presence(await readZone(run.zoneId), run.live, run.limit, ctx.deployment.outputs.OwnerId);
      if (p.exact) exactAt = (performance.now() - started) / 1000;
    }
    const backlog = await ctx.pipeline.backlog();
    const idle = backlog.queued + backlog.inFlight + backlog.running === 0;
    idleSince = idle ? (idleSince ?? now) : undefined;
    idleCount = idle ? idleCount + 1 : 0;
    if (idleCount >= 2 && idleSince !== undefined) return { exactAt, idleAt: (idleSince - started) / 1000 };
    if (now - lastNote >= 10_000) {
      lastNote = now;
      ctx.say(
        `  ${run.label}: ${((now - started) / 1000).toFixed(0)} s, ${exactAt === null ? 'not exact yet' : 'exact'}, ` +
          `${backlog.queued} queued, ${backlog.inFlight} in flight, ${backlog.running} execution(s) running`,
      );
    }
    if (now - started > (run.timeoutSeconds ?? 900) * 1000) {
      throw new Error(`${run.label}: the pipeline did not settle within ${run.timeoutSeconds ?? 900} s`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function lambdaOf(ctx: BenchContext, from: number): { batcher: LambdaFigures; planner: LambdaFigures } {
  const figures = { batcher: { invocations: 0, durationMs: 0 }, planner: { invocations: 0, durationMs: 0 } };
  for (const outcome of ctx.pipeline.outcomes.slice(from)) {
    const fn = outcome.source.startsWith('planner') ? figures.planner : figures.batcher;
    fn.invocations += 1;
    fn.durationMs += outcome.durationMs;
  }
  return figures;
}

export async function measureR53dyn(ctx: BenchContext, run: R53dynRun): Promise<SideFigures> {
  await setRoute53Limits(ctx.endpoint, {}); // every bucket full again: each run starts from rest
  const before = await snapshot(ctx);
  const started = performance.now();
  const messages = await run.send();
  const { exactAt, idleAt } = await watch(ctx, run, started);
  const after = await snapshot(ctx);
  const final =
    run.watchZone === false
      ? { present: 0, expected: 0 }
      : presence(await readZone(run.zoneId), run.live, run.limit, ctx.deployment.outputs.OwnerId);
  const calls = callsBetween(before.calls, after.calls);
  const lambda = lambdaOf(ctx, before.outcomes);
  const executions = await executionsBetween(before.executions, after.executions);
  const invocations = lambda.batcher.invocations + lambda.planner.invocations;
  const logBytes = after.logBytes - before.logBytes + invocations * PLATFORM_LOG_BYTES_PER_INVOCATION;
  const sqs = {
    standard: calls.sqs.billed.standard + messages,
    fifo: calls.sqs.billed.fifo,
    emptyReceives: calls.sqs.emptyReceives.standard + calls.sqs.emptyReceives.fifo,
  };
  const route53 = route53Between(before.route53, after.route53);
  const measured: MeasuredRun = {
    messages,
    sqsRequests: { standard: sqs.standard, fifo: sqs.fifo },
    lambda: {
      invocations,
      averageDurationMs:
        invocations === 0 ? 0 : (lambda.batcher.durationMs + lambda.planner.durationMs) / invocations,
      memoryMb: ctx.memoryMb,
    },
    stateTransitions: executions.transitions,
    logBytes,
    route53Requests: route53.calls,
  };
  return {
    messages,
    route53,
    deadLetters: await drainDeadLetters(ctx.deployment.outputs.DeadLetterQueueUrl ?? '', run.mark),
    secondsToExact: run.watchZone === false ? null : exactAt,
    secondsToSettle: idleAt,
    present: final.present,
    expected: final.expected,
    executions,
    lambda,
    sqs,
    logBytes,
    cost: runCost(measured),
  };
}

/** Boot scripts running at the same moment (a larger storm queues behind them, as in LocalStack's accept queue). */
export const SEED_CONCURRENCY = 1000;

export interface SeedRun {
  zoneId: string;
  /** the machines whose boot script runs now */
  booting: Machine[];
  /** the machines that should be served afterwards */
  live: Machine[];
  limit: number;
}

export async function measureSeed(ctx: BenchContext, run: SeedRun): Promise<SideFigures> {
  await setRoute53Limits(ctx.endpoint, {});
  const before = await readRoute53Counters(ctx.endpoint);
  const result = await runSeedStorm({
    route53Endpoint: ctx.endpoint,
    hostedZoneId: run.zoneId,
    names: [...new Set(run.booting.map((m) => `${m.record}.`))],
    machines: run.booting.map((m) => ({ instanceId: m.instanceId, ipv4: m.ipv4, name: `${m.record}.` })),
    // LocalStack on this machine answers at most about a thousand connections at once
    concurrency: SEED_CONCURRENCY,
  });
  const after = await readRoute53Counters(ctx.endpoint);
  const final = presence(await readZone(run.zoneId), run.live, run.limit);
  return {
    messages: run.booting.length,
    route53: route53Between(before, after),
    deadLetters: {},
    secondsToExact: final.exact ? result.secondsUntilLastUpsert : null,
    secondsToSettle: result.secondsUntilLastUpsert,
    present: final.present,
    expected: final.expected,
  };
}
