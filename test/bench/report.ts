// The benchmark's figures: printed as ratios to the seed's run, and (the full run) written to
// docs/bench/bench.json, docs/bench/bench.svg, the README's benchmark table and docs/design.md §10.2.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Route53LimitsUpdate } from '../helpers/route53-limits';
import { hoursPerMonth, steadyMonthlyPerMachine, type UsageCost } from './cost';
import type { MicroFigures } from './micro';
import { type Series, writeChart } from './plot';
import { HEARTBEAT_MINUTES, type ScenarioResult } from './scenarios';

/** Batching windows the heartbeat cost is also priced at, to show what the window buys (docs/design.md §10.4). */
const HEARTBEAT_WINDOW_CHOICES = [10, 20, 30, 60];

import type { SideFigures } from './sides';

export interface Batching {
  batchSize: number;
  windowSeconds: number;
  concurrency: number;
}

export interface Headline {
  storm?: {
    key: string;
    addresses: { r53dyn: string; seed: string };
    calls: { r53dyn: number; seed: number; ratio: number; floor: number; floorRatio: number };
    seconds: { r53dynExact: number | null; seedExact: number | null; seedLastCall: number };
  };
  k10?: { deadLetters: number; calls: number; callsK1: number; ratioToK1: number };
  heartbeats?: {
    machines: number;
    intervalMinutes: number;
    perThousandMachinesMonthly: UsageCost;
    /** the same measured batches priced at other batching windows: total per 1000 machines a month */
    totalByWindowSeconds: Record<string, number>;
  };
  sweepPlanningMs?: number;
}

export interface BenchReport {
  generatedAt: string;
  quick: boolean;
  machine: { cpus: number; node: string };
  limits: Route53LimitsUpdate;
  batching: Batching;
  scenarios: ScenarioResult[];
  micro: MicroFigures;
  runSeconds: number;
  headline: Headline;
}

const total = (letters: Record<string, number>) => Object.values(letters).reduce((a, b) => a + b, 0);

/** A heartbeat run's monthly cost for 1000 machines heartbeating every 5 minutes (docs/design.md §10.2). */
export function heartbeatMonthly(side: SideFigures, batching: Batching, memoryMb = 256): UsageCost {
  const invocations = (side.lambda?.batcher.invocations ?? 0) + (side.lambda?.planner.invocations ?? 0);
  const durationMs = (side.lambda?.batcher.durationMs ?? 0) + (side.lambda?.planner.durationMs ?? 0);
  const perMachine = steadyMonthlyPerMachine(
    {
      messages: side.messages,
      batches: Math.max(1, side.lambda?.batcher.invocations ?? 1),
      sqsRequests: { standard: side.sqs?.standard ?? 0, fifo: side.sqs?.fifo ?? 0 },
      lambda: { invocations, averageDurationMs: invocations === 0 ? 0 : durationMs / invocations, memoryMb },
      stateTransitions: side.executions?.transitions ?? 0,
      logBytes: side.logBytes ?? 0,
      route53Requests: side.route53.calls,
    },
    {
      machines: 1000,
      intervalMinutes: HEARTBEAT_MINUTES,
      // at most one batch per batching window and concurrent batcher
      batchesPerMonth: (batching.concurrency * hoursPerMonth * 3600) / Math.max(1, batching.windowSeconds),
    },
  );
  const thousand = { ...perMachine };
  for (const key of Object.keys(thousand) as (keyof UsageCost)[]) thousand[key] *= 1000;
  return thousand;
}

export function headline(results: ScenarioResult[], micro: MicroFigures, batching: Batching): Headline {
  const out: Headline = {};
  const storm = results.find((r) => r.key === `storm-1000x20-k${batching.concurrency}`);
  if (storm?.seed) {
    const floor = storm.floor ?? 0;
    out.storm = {
      key: storm.key,
      addresses: {
        r53dyn: `${storm.r53dyn.present}/${storm.r53dyn.expected}`,
        seed: `${storm.seed.present}/${storm.seed.expected}`,
      },
      calls: {
        r53dyn: storm.r53dyn.route53.calls,
        seed: storm.seed.route53.calls,
        ratio: storm.seed.route53.calls / Math.max(1, storm.r53dyn.route53.calls),
        floor,
        floorRatio: storm.seed.route53.calls / Math.max(1, floor),
      },
      seconds: {
        r53dynExact: storm.r53dyn.secondsToExact,
        seedExact: storm.seed.secondsToExact,
        seedLastCall: storm.seed.secondsToSettle,
      },
    };
  }
  const k1 = results.find((r) => r.key === 'storm-1000x20-k1');
  const k10 = results.find((r) => r.key === 'storm-1000x20-k10');
  if (k1 && k10) {
    out.k10 = {
      deadLetters: total(k10.r53dyn.deadLetters),
      calls: k10.r53dyn.route53.calls,
      callsK1: k1.r53dyn.route53.calls,
      ratioToK1: k10.r53dyn.route53.calls / Math.max(1, k1.r53dyn.route53.calls),
    };
  }
  const beats = results.find((r) => r.key.startsWith('heartbeats-'));
  if (beats) {
    out.heartbeats = {
      machines: 1000,
      intervalMinutes: HEARTBEAT_MINUTES,
      perThousandMachinesMonthly: heartbeatMonthly(beats.r53dyn, batching),
      totalByWindowSeconds: Object.fromEntries(
        HEARTBEAT_WINDOW_CHOICES.map((windowSeconds) => [
          String(windowSeconds),
          heartbeatMonthly(beats.r53dyn, { ...batching, windowSeconds }).total,
        ]),
      ),
    };
  }
  const sweep = micro.sweep.find((s) => s.records === 10_000);
  if (sweep) out.sweepPlanningMs = sweep.ms;
  return out;
}

const ratio = (seed: number, ours: number) => (ours === 0 ? '∞' : `${(seed / ours).toFixed(1)}×`);
const seconds = (s: number | null) => (s === null ? 'never' : `${s.toFixed(1)} s`);
const letters = (l: Record<string, number>) =>
  Object.keys(l).length === 0
    ? '0'
    : Object.entries(l)
        .map(([code, n]) => `${n} ${code}`)
        .join(', ');
const ops = (side: SideFigures) => {
  const b = side.route53.byOperation;
  return `${b.ListResourceRecordSets ?? 0}+${b.ChangeResourceRecordSets ?? 0}+${b.GetChange ?? 0}`;
};

/** One table row per scenario: r53dyn beside the seed's script. */
export function tableRows(report: BenchReport): string[] {
  const rows = [
    '| scenario | Route 53 calls r53dyn (reads+writes+polls) | seed | seed ÷ r53dyn | throttled r53dyn / seed | addresses r53dyn / seed | exact after r53dyn / seed | executions (transitions) | dead letters | cost of the run |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of report.scenarios) {
    const d = r.r53dyn;
    const s = r.seed;
    rows.push(
      [
        `${r.title}`,
        `${d.route53.calls} (${ops(d)})${r.floor ? `, floor ${r.floor}` : ''}`,
        s ? String(s.route53.calls) : 'n/a',
        s ? ratio(s.route53.calls, d.route53.calls) : 'n/a',
        `${d.route53.throttled} / ${s ? s.route53.throttled : 'n/a'}`,
        d.expected > 0 ? `${d.present}/${d.expected} / ${s ? `${s.present}/${s.expected}` : 'n/a'}` : 'n/a',
        d.expected > 0
          ? `${seconds(d.secondsToExact)} / ${s ? `${seconds(s.secondsToExact)} (last call ${s.secondsToSettle.toFixed(1)} s)` : 'n/a'}`
          : `n/a (idle after ${d.secondsToSettle.toFixed(1)} s)`,
        `${d.executions?.executions ?? 0} (${d.executions?.transitions ?? 0})`,
        letters(d.deadLetters),
        d.cost ? `$${d.cost.total.toFixed(5)}` : '',
      ]
        .join(' | ')
        .replace(/^/, '| ')
        .concat(' |'),
    );
  }
  return rows;
}

export function headlineLines(h: Headline, micro: MicroFigures): string[] {
  const lines: string[] = [];
  if (h.storm) {
    const c = h.storm.calls;
    lines.push(
      `1000 machines over 20 names: addresses r53dyn ${h.storm.addresses.r53dyn}, the seed's script ${h.storm.addresses.seed}; ` +
        `Route 53 calls r53dyn ${c.r53dyn}, the seed ${c.seed}: ${c.ratio.toFixed(0)}× fewer ` +
        `(the design's floor: ${c.floor} calls, ${c.floorRatio.toFixed(0)}× fewer); every name exact after ` +
        `${seconds(h.storm.seconds.r53dynExact)}, the seed's names ${h.storm.seconds.seedExact === null ? 'never exact' : `exact after ${seconds(h.storm.seconds.seedExact)}`} ` +
        `(its last call ended after ${h.storm.seconds.seedLastCall.toFixed(1)} s)`,
    );
  }
  if (h.k10) {
    lines.push(
      `K = 10 on that storm: ${h.k10.deadLetters} dead letters, ${h.k10.calls} Route 53 calls against ${h.k10.callsK1} with K = 1 (${h.k10.ratioToK1.toFixed(2)}×)`,
    );
  }
  if (h.heartbeats) {
    const m = h.heartbeats.perThousandMachinesMonthly;
    lines.push(
      `steady heartbeats every ${h.heartbeats.intervalMinutes} minutes: $${m.total.toFixed(2)} per 1000 machines a month in per-machine costs ` +
        `(SQS $${m.sqs.toFixed(2)}, Lambda $${(m.lambdaRequests + m.lambdaDuration).toFixed(2)}, Step Functions $${m.stepFunctions.toFixed(2)}, ` +
        `logs $${(m.logsIngestion + m.logsStorage).toFixed(2)}); with a window of ` +
        Object.entries(h.heartbeats.totalByWindowSeconds)
          .map(([w, total]) => `${w} s $${total.toFixed(2)}`)
          .join(', '),
    );
  }
  if (h.sweepPlanningMs !== undefined) {
    lines.push(`a sweep of 10,000 records planned in ${h.sweepPlanningMs.toFixed(0)} ms`);
  }
  const b = micro.bundle;
  if (b) {
    lines.push(
      `batcher bundle ${(b.batcherBytes / 1024).toFixed(0)} KiB, cold import ${b.coldImportMs.toFixed(0)} ms`,
    );
  }
  return lines;
}

export function printReport(report: BenchReport, say: (line: string) => void): void {
  say("figures (r53dyn beside the seed's script, same LocalStack, same Route 53 limits):");
  for (const row of tableRows(report)) say(row);
  for (const line of headlineLines(report.headline, report.micro)) say(`* ${line}`);
}

function chartSeries(report: BenchReport, value: (side: SideFigures) => number | null): Series[] {
  const series: Series[] = [];
  for (const names of [20, 1]) {
    const storms = report.scenarios
      .filter(
        (r) =>
          r.key.startsWith('storm-') && r.names === names && r.seed && r.k === report.batching.concurrency,
      )
      .sort((a, b) => a.machines - b.machines);
    const points = (side: 'r53dyn' | 'seed') =>
      storms.flatMap((r) => {
        const y = value(r[side] as SideFigures);
        return y === null ? [] : [{ x: r.machines, y: Math.max(y, 0.1) }];
      });
    series.push({ name: `r53dyn, ${names} name(s)`, points: points('r53dyn') });
    series.push({ name: `seed's script, ${names} name(s)`, points: points('seed') });
  }
  return series.filter((s) => s.points.length > 0);
}

/** Replaces what lies between two marker lines of a text file. */
function replaceBetween(path: string, start: string, end: string, lines: string[]): void {
  const text = readFileSync(path, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${path}: markers ${start} … ${end} not found`);
  writeFileSync(path, `${text.slice(0, from + start.length)}\n${lines.join('\n')}\n${text.slice(to)}`);
}

export function writeReport(report: BenchReport, root: string, say: (line: string) => void): void {
  if (report.quick) {
    const path = join(root, '.local', 'bench-quick.json');
    writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
    say(`wrote ${path} (a quick run leaves the committed figures alone)`);
    return;
  }
  const dir = join(root, 'docs', 'bench');
  writeFileSync(join(dir, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeChart(join(dir, 'bench.svg'), {
    title: "Boot storms: r53dyn and the seed's script under Route 53's limits (LocalStack)",
    panels: [
      {
        title: 'Route 53 calls (every attempt, throttled ones included)',
        xLabel: 'machines booting at once',
        yLabel: 'Route 53 calls',
        xScale: 'log',
        yScale: 'log',
        series: chartSeries(report, (s) => s.route53.calls),
      },
      {
        title: 'seconds until every name is exact (the seed: until its last call ended; never exact)',
        xLabel: 'machines booting at once',
        yLabel: 'seconds',
        xScale: 'log',
        series: chartSeries(report, (s) => s.secondsToExact ?? s.secondsToSettle),
      },
    ],
  });
  const table = [
    ...tableRows(report),
    '',
    ...headlineLines(report.headline, report.micro).map((l) => `- ${l}`),
  ];
  replaceBetween(join(root, 'README.md'), '<!-- bench:start -->', '<!-- bench:end -->', table);
  replaceBetween(
    join(root, 'docs', 'design.md'),
    '<!-- measurements:start -->',
    '<!-- measurements:end -->',
    [
      `Measured by \`npm run bench\` (${report.generatedAt.slice(0, 10)}, ${report.machine.cpus} cores, LocalStack; batching: batch ${report.batching.batchSize}, window ${report.batching.windowSeconds} s, K = ${report.batching.concurrency}):`,
      '',
      ...headlineLines(report.headline, report.micro).map((l) => `- ${l}`),
      '',
      "Every scenario, both sides: the README's benchmark table and `docs/bench/bench.json`.",
    ],
  );
  say('wrote docs/bench/bench.json, docs/bench/bench.svg, the README table and docs/design.md §10.2');
}
