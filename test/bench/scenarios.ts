// The benchmark's scenarios (docs/design.md §10.2), each run on both sides where the seed's script has an answer:
//   - boot storms: N machines over 1 or 20 names register at once;
//   - the 1000-over-20 storm with K = 1, 5 and 10 concurrent batchers;
//   - a rolling replacement of those 1000 machines, a fifth at a time;
//   - steady heartbeats of the 1000 machines (the seed's script sends nothing after boot);
//   - a sweep of a zone of 10,000 records, and EC2 events for instances that hold nothing.
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { ROUTE53_LIMITS } from '../../handlers/core/contract';
import type { RecordSet } from '../../handlers/core/model';
import { type Action, body, fleet, type Machine, sendAll } from '../helpers/fleet';
import { ec2StateChange } from '../helpers/messages';
import { emptyZone, observers, readZone } from './measure';
import { type BenchContext, measureR53dyn, measureSeed, type SideFigures } from './sides';

export interface Zones {
  storm: string;
  seed: string;
  sweep: string;
}

export interface ScenarioResult {
  key: string;
  title: string;
  machines: number;
  names: number;
  /** concurrent batchers */
  k: number;
  /**
   * The fewest Route 53 calls the design allows for this run: one round reads the zone (1 call), writes what it
   * must in as few ChangeBatches as Route 53's limits allow, and polls GetChange once (LocalStack: INSYNC at once)
   */
  floor?: number;
  r53dyn: SideFigures;
  seed?: SideFigures;
}

export const STORM_SUFFIX = 'storm.bench.test';
export const RECORD_LIMIT = 100;
const run = Date.now().toString(36);

const sendBodies = async (ctx: BenchContext, bodies: string[]) => {
  await sendAll(observers.sqs, ctx.deployment.outputs.RegistrationsQueueUrl ?? '', bodies);
  return bodies.length;
};

const messagesOf = (action: Action, machines: Machine[]) => machines.map((m) => body(action, m));

/** One boot storm, the seed's script first, each side on its own empty zone. */
export async function bootStorm(
  ctx: BenchContext,
  zones: Zones,
  machines: number,
  names: number,
  k: number,
  withSeed: boolean,
): Promise<{ result: ScenarioResult; fleet: Machine[]; prefix: string }> {
  const prefix = `s${machines}x${names}k${k}-${run}`;
  const all = fleet(prefix, STORM_SUFFIX, machines, names);
  const title = `boot storm ${machines} over ${names} name(s), K = ${k}`;
  ctx.say(`${title}`);
  await Promise.all([emptyZone(zones.storm), withSeed ? emptyZone(zones.seed) : undefined]);
  let seed: SideFigures | undefined;
  if (withSeed) {
    const seedFleet = fleet(prefix, 'seed.bench.test', machines, names);
    seed = await measureSeed(ctx, {
      zoneId: zones.seed,
      booting: seedFleet,
      live: seedFleet,
      limit: RECORD_LIMIT,
    });
    ctx.say(`  seed's script: ${describeSide(seed)}`);
  }
  const r53dyn = await measureR53dyn(ctx, {
    label: title,
    zoneId: zones.storm,
    live: all,
    limit: RECORD_LIMIT,
    mark: prefix,
    send: () => sendBodies(ctx, messagesOf('register', all)),
  });
  ctx.say(`  r53dyn: ${describeSide(r53dyn)}`);
  const floor = floorCalls(await readZone(zones.storm));
  const result: ScenarioResult = {
    key: `storm-${machines}x${names}-k${k}`,
    title,
    machines,
    names,
    k,
    floor,
    r53dyn,
  };
  if (seed) result.seed = seed;
  return { result, fleet: all, prefix };
}

/** One read, the fewest ChangeBatches that CREATE what the zone now holds, one GetChange (docs/design.md §5.1). */
export function floorCalls(rrsets: RecordSet[]): number {
  let characters = 0;
  let elements = 0;
  for (const r of rrsets) {
    if (r.Type === 'SOA' || r.Type === 'NS') continue;
    for (const v of r.ResourceRecords ?? []) {
      characters += v.Value.length;
      elements += 1;
    }
  }
  const batches = Math.max(
    Math.ceil(characters / ROUTE53_LIMITS.charactersPerBatch),
    Math.ceil(elements / ROUTE53_LIMITS.elementsPerBatch),
  );
  return 1 + batches + 1;
}

/** Replaces the storm's fleet a fifth at a time: the leaving fifth deregisters while a new fifth registers. */
export async function rollingReplacement(
  ctx: BenchContext,
  zones: Zones,
  storm: { fleet: Machine[]; prefix: string; names: number; k: number },
): Promise<{ result: ScenarioResult; live: Machine[] }> {
  const { fleet: first, prefix, names, k } = storm;
  const waves = 5;
  const size = first.length / waves;
  const seedFirst = first.map((m) => ({ ...m, record: m.record.replace(STORM_SUFFIX, 'seed.bench.test') }));
  let live = first;
  let seedLive = seedFirst;
  const sides: { r53dyn: SideFigures[]; seed: SideFigures[] } = { r53dyn: [], seed: [] };
  for (let w = 0; w < waves; w += 1) {
    const leaving = live.slice(0, size);
    const arriving = fleet(prefix, STORM_SUFFIX, size, names, first.length + w * size);
    live = [...live.slice(size), ...arriving];
    const seedArriving = arriving.map((m) => ({
      ...m,
      record: m.record.replace(STORM_SUFFIX, 'seed.bench.test'),
    }));
    seedLive = [...seedLive.slice(size), ...seedArriving];
    ctx.say(`rolling replacement: wave ${w + 1} of ${waves} (${size} leave, ${size} arrive)`);
    sides.seed.push(
      await measureSeed(ctx, {
        zoneId: zones.seed,
        booting: seedArriving,
        live: seedLive,
        limit: RECORD_LIMIT,
      }),
    );
    const current = live;
    sides.r53dyn.push(
      await measureR53dyn(ctx, {
        label: `rolling replacement wave ${w + 1}`,
        zoneId: zones.storm,
        live: current,
        limit: RECORD_LIMIT,
        mark: prefix,
        send: () =>
          sendBodies(ctx, [...messagesOf('deregister', leaving), ...messagesOf('register', arriving)]),
      }),
    );
  }
  const result: ScenarioResult = {
    key: `rolling-${first.length}x${names}`,
    title: `rolling replacement of ${first.length} machines over ${names} names, ${waves} waves of ${size}`,
    machines: first.length,
    names,
    k,
    r53dyn: sumSides(sides.r53dyn),
    seed: sumSides(sides.seed),
  };
  ctx.say(`  seed's script: ${describeSide(result.seed as SideFigures)}`);
  ctx.say(`  r53dyn: ${describeSide(result.r53dyn)}`);
  return { result, live };
}

/** The heartbeat interval the cost target is set for (docs/design.md §10.4). */
export const HEARTBEAT_MINUTES = 5;
/** Batching windows of steady state a heartbeat run measures. */
export const HEARTBEAT_WINDOWS = 3;

/**
 * Steady heartbeats as the fleet sends them: every batching window brings machines × window ÷ interval of them
 * (1000 machines every 5 minutes, 30 s windows: 100), for a few windows in a row, so that each batch, delta and
 * round is as large as in a real month (its per-batch costs are scaled by the batches a month makes). Nothing
 * any of them serves changes.
 */
export async function heartbeats(
  ctx: BenchContext,
  zones: Zones,
  live: Machine[],
  prefix: string,
  batching: { windowSeconds: number; concurrency: number },
): Promise<ScenarioResult> {
  const perWindow = Math.max(
    1,
    Math.round((live.length * batching.windowSeconds) / (HEARTBEAT_MINUTES * 60)),
  );
  const waves = Array.from({ length: HEARTBEAT_WINDOWS }, (_, w) =>
    live.slice(w * perWindow, (w + 1) * perWindow),
  );
  const title = `steady heartbeats of ${live.length} machines every ${HEARTBEAT_MINUTES} minutes (${waves.length} windows of ${perWindow})`;
  ctx.say(title);
  const r53dyn = await measureR53dyn(ctx, {
    label: title,
    zoneId: zones.storm,
    live,
    limit: RECORD_LIMIT,
    mark: prefix,
    send: async () => {
      let sent = 0;
      for (const [w, wave] of waves.entries()) {
        if (w > 0) await new Promise((r) => setTimeout(r, batching.windowSeconds * 1000));
        sent += await sendBodies(ctx, messagesOf('heartbeat', wave));
      }
      return sent;
    },
  });
  ctx.say(`  r53dyn: ${describeSide(r53dyn)}`);
  const names = new Set(live.map((m) => m.record)).size;
  return {
    key: `heartbeats-${live.length}`,
    title,
    machines: live.length,
    names,
    k: batching.concurrency,
    r53dyn,
  };
}

/** Sends event bodies to the events queue, as EventBridge does. */
async function sendEvents(ctx: BenchContext, bodies: string[]): Promise<number> {
  const queueUrl = ctx.deployment.outputs.EventsQueueUrl ?? '';
  for (let i = 0; i < bodies.length; i += 10) {
    await observers.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((MessageBody, n) => ({ Id: `e${n}`, MessageBody })),
      }),
    );
  }
  return bodies.length;
}

/** A sweep of every zone, the sweep zone holding `records` records; then 100 EC2 events for unknown instances. */
export async function sweeps(
  ctx: BenchContext,
  zones: Zones,
  records: number,
  k: number,
): Promise<ScenarioResult[]> {
  const sweepTitle = `sweep of a zone of ${records} records`;
  ctx.say(sweepTitle);
  const sweep = await measureR53dyn(ctx, {
    label: sweepTitle,
    zoneId: zones.sweep,
    live: [],
    limit: RECORD_LIMIT,
    mark: '"sweep"',
    watchZone: false,
    send: () => sendEvents(ctx, [JSON.stringify({ v: 1, action: 'sweep' })]),
  });
  ctx.say(`  r53dyn: ${describeSide(sweep)}`);
  const eventsTitle = '100 EC2 events for instances that hold nothing';
  ctx.say(eventsTitle);
  const instances = Array.from(
    { length: 100 },
    (_, n) => `i-${(0xe000000 + n).toString(16).padStart(17, '0')}`,
  );
  const events = await measureR53dyn(ctx, {
    label: eventsTitle,
    zoneId: zones.sweep,
    live: [],
    limit: RECORD_LIMIT,
    mark: 'i-0000000000e0000',
    watchZone: false,
    send: () =>
      sendEvents(
        ctx,
        instances.map((id) => JSON.stringify(ec2StateChange(id, 'terminated'))),
      ),
  });
  ctx.say(`  r53dyn: ${describeSide(events)}`);
  return [
    { key: `sweep-${records}`, title: sweepTitle, machines: records, names: records, k, r53dyn: sweep },
    { key: 'ec2-events-100', title: eventsTitle, machines: 100, names: 0, k, r53dyn: events },
  ];
}

/** Several measured runs as one: counts added, seconds added, the last run's presence. */
export function sumSides(sides: SideFigures[]): SideFigures {
  const last = sides[sides.length - 1] as SideFigures;
  const add = (f: (s: SideFigures) => number) => sides.reduce((n, s) => n + f(s), 0);
  const merge = (f: (s: SideFigures) => Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const s of sides) for (const [k, v] of Object.entries(f(s))) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const exact = sides.every((s) => s.secondsToExact !== null);
  const summed: SideFigures = {
    ...last,
    messages: add((s) => s.messages),
    route53: {
      byOperation: merge((s) => s.route53.byOperation),
      calls: add((s) => s.route53.calls),
      throttled: add((s) => s.route53.throttled),
      recordChanges: add((s) => s.route53.recordChanges),
    },
    deadLetters: merge((s) => s.deadLetters),
    secondsToExact: exact ? add((s) => s.secondsToExact ?? 0) : null,
    secondsToSettle: add((s) => s.secondsToSettle),
  };
  if (last.executions) {
    summed.executions = {
      executions: add((s) => s.executions?.executions ?? 0),
      failed: add((s) => s.executions?.failed ?? 0),
      retries: add((s) => s.executions?.retries ?? 0),
      transitions: add((s) => s.executions?.transitions ?? 0),
    };
  }
  if (last.cost) {
    const cost = { ...last.cost };
    for (const key of Object.keys(cost) as (keyof typeof cost)[]) cost[key] = add((s) => s.cost?.[key] ?? 0);
    summed.cost = cost;
  }
  if (last.sqs) {
    summed.sqs = {
      standard: add((s) => s.sqs?.standard ?? 0),
      fifo: add((s) => s.sqs?.fifo ?? 0),
      emptyReceives: add((s) => s.sqs?.emptyReceives ?? 0),
    };
  }
  if (last.logBytes !== undefined) summed.logBytes = add((s) => s.logBytes ?? 0);
  if (last.lambda) {
    const fn = (which: 'batcher' | 'planner') => ({
      invocations: add((s) => s.lambda?.[which].invocations ?? 0),
      durationMs: add((s) => s.lambda?.[which].durationMs ?? 0),
    });
    summed.lambda = { batcher: fn('batcher'), planner: fn('planner') };
  }
  return summed;
}

export function describeSide(side: SideFigures): string {
  const ops = Object.entries(side.route53.byOperation)
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  const letters = Object.entries(side.deadLetters)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const parts = [
    `Route 53 calls ${side.route53.calls} (${ops || 'none'}), throttled ${side.route53.throttled}`,
    `record changes ${side.route53.recordChanges}`,
    side.executions
      ? `executions ${side.executions.executions} (${side.executions.transitions} transitions)`
      : '',
    `dead letters ${letters || 0}`,
    side.expected > 0 ? `addresses ${side.present}/${side.expected}` : '',
    `exact ${side.secondsToExact === null ? 'never' : `after ${side.secondsToExact.toFixed(1)} s`}`,
    `settled after ${side.secondsToSettle.toFixed(1)} s`,
    side.cost ? `cost $${side.cost.total.toFixed(6)}` : '',
  ];
  return parts.filter((p) => p !== '').join('; ');
}
