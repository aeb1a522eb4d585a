// `npm run bench [-- --quick] [-- --rate 5] [-- --changes <capacity>/<per second>]`: r53dyn measured against the
// seed's boot script, side by side in one run, on LocalStack with Route 53's limits enforced on every Route 53
// call (infra/local/hooks/route53-limits.py). Deploys the stage `bench` (infra/stages/bench.yml: production's
// batching, zones of 100 values a record), runs the scenarios of test/bench/scenarios.ts and the
// micro-benchmarks of test/bench/micro.ts, prints every figure with its ratio to the seed's run, and (the full run)
// writes docs/bench/bench.json, docs/bench/bench.svg, the README's table and docs/design.md §10.2.
// --quick runs a short subset and writes .local/bench-quick.json only. Figures to read, never asserted.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  DisableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateHostedZoneCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
} from '@aws-sdk/client-route-53';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { localClientConfig } from '../../infra/local/connection';
import { deployStage, type LocalDeployment } from '../../infra/local/deploy';
import { type LocalPipeline, localPipeline } from '../../infra/local/pipeline';
import { asObserver } from '../helpers/call-counter';
import { type Route53LimitsUpdate, resetRoute53Limits, setRoute53Limits } from '../helpers/route53-limits';
import { fillSweepZone } from './fill';
import { LogMeter, observers } from './measure';
import { describeMicro, microBenchmarks } from './micro';
import { type BenchReport, headline, printReport, writeReport } from './report';
import {
  bootStorm,
  heartbeats,
  rollingReplacement,
  type ScenarioResult,
  sweeps,
  type Zones,
} from './scenarios';
import type { BenchContext } from './sides';

const root = join(__dirname, '..', '..');
const say = (line: string) => process.stdout.write(`[bench] ${line}\n`);

export interface BenchOptions {
  quick: boolean;
  /** refill per second of the account's and every operation's request bucket (10 since July 2026, 5 before) */
  rate: number;
  changes: { capacity: number; refillPerSecond: number };
}

function parseOptions(argv: string[]): BenchOptions {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const [capacity, refill] = (value('--changes') ?? '1000/100').split('/').map(Number);
  return {
    quick: argv.includes('--quick'),
    rate: Number(value('--rate') ?? 10),
    changes: { capacity: capacity ?? 1000, refillPerSecond: refill ?? 100 },
  };
}

/** Route 53's documented request limits, and the change-throughput bucket (its size is not public: assumed). */
export function limitsFor(options: BenchOptions): Route53LimitsUpdate {
  return {
    enabled: true,
    account: { capacity: 50, refillPerSecond: options.rate },
    operation: { capacity: 50, refillPerSecond: options.rate },
    changes: { ...options.changes, upsertWeight: 1 },
  };
}

function batchingOf(deployment: LocalDeployment): BenchReport['batching'] {
  const source = deployment.eventSources.find(
    (es) => es.queueUrl === deployment.outputs.RegistrationsQueueUrl,
  );
  return {
    batchSize: source?.batchSize ?? 0,
    windowSeconds: source?.windowSeconds ?? 0,
    concurrency: deployment.batcherConcurrency,
  };
}

/**
 * The stack's sweep schedule fires every 5 minutes on LocalStack too; the benchmark sends its own sweep when it
 * measures one, so the schedule is turned off for the run (its cost is the sweep scenario's, once per 5 minutes).
 */
async function pauseSweepSchedule(deployment: LocalDeployment): Promise<void> {
  const events = asObserver(new EventBridgeClient(localClientConfig));
  const rules = await events.send(new ListRulesCommand({ NamePrefix: deployment.stackName }));
  for (const rule of rules.Rules ?? []) {
    if (!rule.ScheduleExpression) continue;
    // LocalStack's scheduler keeps firing a disabled rule: the rule also loses its target
    await events.send(new DisableRuleCommand({ Name: rule.Name }));
    const targets = await events.send(new ListTargetsByRuleCommand({ Rule: rule.Name }));
    const ids = (targets.Targets ?? []).flatMap((t) => (t.Id ? [t.Id] : []));
    if (ids.length > 0) await events.send(new RemoveTargetsCommand({ Rule: rule.Name, Ids: ids }));
  }
  // and whatever an earlier, interrupted run left on the queues
  const o = deployment.outputs;
  for (const url of [o.EventsQueueUrl, o.RegistrationsQueueUrl, o.ZoneQueueUrl, o.DeadLetterQueueUrl]) {
    await observers.sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
  }
}

async function ensureSeedZone(): Promise<string> {
  const name = 'seed.bench.test';
  const found = await observers.route53.send(
    new ListHostedZonesByNameCommand({ DNSName: name, MaxItems: 1 }),
  );
  const zone = found.HostedZones?.find((z) => z.Name === `${name}.`);
  const id =
    zone?.Id ??
    (
      await observers.route53.send(
        new CreateHostedZoneCommand({ Name: name, CallerReference: `r53dyn-bench-${name}` }),
      )
    ).HostedZone?.Id;
  return (id ?? '').replace('/hostedzone/', '');
}

async function withPipeline<T>(
  ctx: Omit<BenchContext, 'pipeline'>,
  k: number,
  work: (ctx: BenchContext) => Promise<T>,
): Promise<T> {
  const pipeline: LocalPipeline = await localPipeline(ctx.deployment, {
    batcherConcurrency: k,
    waitSeconds: 1,
    observe: asObserver,
  });
  pipeline.start();
  try {
    return await work({ ...ctx, pipeline });
  } finally {
    await pipeline.stop();
  }
}

/** Runs one scenario; a scenario that fails is reported and the others still run. */
async function attempt(
  say: (line: string) => void,
  results: ScenarioResult[],
  work: () => Promise<ScenarioResult | ScenarioResult[] | undefined>,
): Promise<void> {
  try {
    const out = await work();
    if (out) results.push(...(Array.isArray(out) ? out : [out]));
  } catch (error) {
    say(`scenario failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  writeFileSync(join(root, '.local', 'bench-partial.json'), `${JSON.stringify(results, null, 2)}\n`);
}

async function scenarios(
  base: Omit<BenchContext, 'pipeline'>,
  zones: Zones,
  options: BenchOptions,
  stageK: number,
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  const storms = options.quick
    ? [[100, 20]]
    : [
        [100, 1],
        [1000, 1],
        [5000, 1],
        [100, 20],
        [5000, 20],
      ];
  const ks = options.quick ? [1] : [1, 5, 10];
  for (const k of ks) {
    await withPipeline(base, k, (ctx) =>
      attempt(ctx.say, results, async () => (await bootStorm(ctx, zones, 1000, 20, k, false)).result),
    );
  }
  await withPipeline(base, stageK, async (ctx) => {
    for (const [n, names] of storms) {
      await attempt(
        ctx.say,
        results,
        async () => (await bootStorm(ctx, zones, n ?? 0, names ?? 1, stageK, true)).result,
      );
    }
    const storm = await bootStorm(ctx, zones, 1000, 20, stageK, true);
    results.push(storm.result);
    let live = storm.fleet;
    await attempt(ctx.say, results, async () => {
      const rolling = await rollingReplacement(ctx, zones, {
        fleet: storm.fleet,
        prefix: storm.prefix,
        names: 20,
        k: stageK,
      });
      live = rolling.live;
      return rolling.result;
    });
    await attempt(ctx.say, results, () =>
      heartbeats(ctx, zones, live, storm.prefix, batchingOf(ctx.deployment)),
    );
    await attempt(ctx.say, results, () => sweeps(ctx, zones, options.quick ? 1000 : 10_000, stageK));
  });
  return results;
}

async function main(): Promise<void> {
  const started = performance.now();
  const options = parseOptions(process.argv.slice(2));
  const endpoint = process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566';
  say(`${options.quick ? 'quick run' : 'full run'} on LocalStack at ${endpoint}; deploying stage bench`);
  const deployment = await deployStage('bench');
  const stageK = deployment.batcherConcurrency;
  await pauseSweepSchedule(deployment);
  await resetRoute53Limits(endpoint);
  const zones: Zones = {
    storm: deployment.zones['storm.bench.test'] ?? '',
    sweep: deployment.zones['sweep.bench.test'] ?? '',
    seed: await ensureSeedZone(),
  };
  const records = options.quick ? 1000 : 10_000;
  await fillSweepZone(zones.sweep, records, say);
  const count = await observers.route53.send(new GetHostedZoneCommand({ Id: zones.sweep }));
  say(`sweep zone holds ${count.HostedZone?.ResourceRecordSetCount} rrsets`);
  const limits = await setRoute53Limits(endpoint, limitsFor(options));
  say(
    `Route 53 limits: ${JSON.stringify({ account: limits.account, operation: limits.operation, changes: limits.changes })}`,
  );
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO'; // the handlers' level in production: what CloudWatch would ingest
  process.env.POWERTOOLS_METRICS_DISABLED = 'false'; // and its embedded-metric lines, which CloudWatch Logs ingests too
  const logs = new LogMeter();
  logs.start((line) => say(`handler: ${line}`));
  let results: ScenarioResult[];
  try {
    results = await scenarios({ endpoint, deployment, logs, say, memoryMb: 256 }, zones, options, stageK);
  } finally {
    logs.stop();
  }
  await setRoute53Limits(endpoint, { enabled: false });
  say('micro-benchmarks');
  const micro = microBenchmarks(root, true);
  for (const line of describeMicro(micro)) say(`  ${line}`);
  const report: BenchReport = {
    generatedAt: new Date().toISOString(),
    quick: options.quick,
    machine: { cpus: cpus().length, node: process.version },
    limits: limitsFor(options),
    batching: batchingOf(deployment),
    scenarios: results,
    micro,
    runSeconds: (performance.now() - started) / 1000,
    headline: headline(results, micro, batchingOf(deployment)),
  };
  printReport(report, say);
  writeReport(report, root, say);
  say(`total bench run time ${(report.runSeconds / 60).toFixed(1)} min`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
