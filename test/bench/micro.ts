// Micro-benchmarks of the pure core and of the packaged batcher, printed by `npm run bench` (and alone with
// `npx tsx test/bench/micro.ts`). Figures to read, never asserted:
//   - planning a sweep of a zone of 10,000 records (20,000 rrsets: A and registry TXT each), and of 2,500, 5,000
//     and 20,000 records, to show that planning is linear (the time per record stays flat);
//   - folding one record of 100 machines with 100 messages (the storm's unit of work);
//   - the batcher's bundle as `osls package` writes it (the zip, and the batcher's file in it) and its cold import
//     time in a fresh Node.js process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { foldRecord } from '../../handlers/core/fold';
import type { Message, RecordSet, Registration, ZoneRule } from '../../handlers/core/model';
import { encodeOwnerEntry, type OwnerEntry } from '../../handlers/core/registry';
import { planRound, type ZoneDelta } from '../../handlers/core/round';

const OWNER = 'r53dyn-bench';
const NOW = Date.UTC(2026, 10, 29, 12);
const ZONE: ZoneRule = {
  hostedZoneId: 'ZMICROBENCH',
  suffix: 'sweep.bench.test',
  ttl: 60,
  types: ['A'],
  maxValuesPerRecord: 100,
  leaseSeconds: 0,
  allowPrivate: false,
};

const ipv4 = (n: number) => `52.${1 + Math.floor(n / 62_500)}.${Math.floor(n / 250) % 250}.${1 + (n % 250)}`;
const instanceId = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

/** A zone of `records` names, each served by one machine: its A rrset and its registry TXT. */
export function sweepZone(records: number, zone: ZoneRule = ZONE): RecordSet[] {
  const rrsets: RecordSet[] = [
    { Name: `${zone.suffix}.`, Type: 'NS', TTL: 172800, ResourceRecords: [{ Value: 'ns-1.example.' }] },
    {
      Name: `${zone.suffix}.`,
      Type: 'SOA',
      TTL: 900,
      ResourceRecords: [{ Value: 'ns-1.example. a 1 2 3 4 5' }],
    },
  ];
  for (let n = 0; n < records; n += 1) {
    const name = `host-${n}.${zone.suffix}.`;
    const entry: OwnerEntry = { instanceId: instanceId(n), t: NOW - 60_000, state: 'up', ipv4: ipv4(n) };
    rrsets.push({ Name: name, Type: 'A', TTL: zone.ttl, ResourceRecords: [{ Value: ipv4(n) }] });
    rrsets.push({
      Name: `_r53dyn.${name}`,
      Type: 'TXT',
      TTL: zone.ttl,
      ResourceRecords: [{ Value: encodeOwnerEntry(OWNER, entry) }],
    });
  }
  return rrsets;
}

const sweepDelta = (): ZoneDelta => ({
  messageId: 'sweep-delta',
  receiptHandle: 'handle',
  receiveCount: 1,
  messages: [{ kind: 'sweep', messageId: 'sweep-1', sentAt: NOW - 1000 } satisfies Message],
});

/** The median of `runs` timings of `work`, in milliseconds, after one warm-up run. */
function medianMs(runs: number, work: () => unknown): number {
  work();
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    work();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

export interface SweepPlanning {
  records: number;
  rrsets: number;
  ms: number;
  usPerRecord: number;
  /** what the sweep planned: a zone where every lease is alive and nothing expired writes nothing */
  writes: number;
}

export function planSweep(records: number, runs = 5): SweepPlanning {
  const rrsets = sweepZone(records);
  let writes = 0;
  const ms = medianMs(runs, () => {
    const plan = planRound({
      zone: ZONE,
      ownerId: OWNER,
      now: NOW,
      deltas: [sweepDelta()],
      rrsets,
      verdicts: [],
      maxAttempts: 5,
      retryBackoff: { baseSeconds: 5, capSeconds: 300 },
      random: 0.5,
    });
    writes = plan.execution?.writes.length ?? 0;
  });
  return { records, rrsets: rrsets.length, ms, usPerRecord: (ms * 1000) / records, writes };
}

export interface Folding {
  machines: number;
  messages: number;
  usPerFold: number;
}

/** One record already serving 50 machines folds 100 registrations (50 heartbeats, 50 newcomers). */
export function foldOneRecord(runs = 200): Folding {
  const entries: OwnerEntry[] = Array.from({ length: 50 }, (_, n) => ({
    instanceId: instanceId(n),
    t: NOW - 120_000,
    state: 'up',
    ipv4: ipv4(n),
  }));
  const registrations: Registration[] = Array.from({ length: 100 }, (_, n) => ({
    kind: n < 50 ? 'heartbeat' : 'register',
    messageId: `m-${n}`,
    sentAt: NOW - 1000 + n,
    record: `web.${ZONE.suffix}.`,
    hostedZoneId: ZONE.hostedZoneId,
    instanceId: instanceId(n),
    ipv4: ipv4(n),
  }));
  const input = {
    zone: ZONE,
    entries,
    registrations,
    goneEvents: [],
    goneList: new Map(),
    registryCapacity: 149,
    now: NOW,
  };
  const ms = medianMs(runs, () => foldRecord(input));
  return { machines: 100, messages: registrations.length, usPerFold: ms * 1000 };
}

export interface Bundle {
  zipBytes: number;
  batcherBytes: number;
  coldImportMs: number;
}

/**
 * The batcher as `osls package` leaves it in .serverless/ (the last package of any stage): the zip's size, the
 * batcher's file in it, and the median of 5 cold imports of that file, each in a new Node.js process.
 */
export function batcherBundle(root: string): Bundle {
  const dir = join(root, '.serverless');
  const zip = readdirSync(dir).find((f) => f.endsWith('.zip'));
  if (!zip) throw new Error(`no package in ${dir}: run osls package (npm run bench deploys first)`);
  const unpacked = mkdtempSync(join(tmpdir(), 'r53dyn-bundle-'));
  try {
    const unzip = spawnSync('unzip', ['-q', join(dir, zip), '-d', unpacked]);
    if (unzip.status !== 0) throw new Error(`unzip failed: ${unzip.stderr}`);
    const batcher = join(unpacked, 'handlers', 'batcher.js');
    const script = `const t=process.hrtime.bigint();require(${JSON.stringify(batcher)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
    const times = Array.from({ length: 5 }, () =>
      Number(spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' }).stdout),
    ).sort((a, b) => a - b);
    return {
      zipBytes: statSync(join(dir, zip)).size,
      batcherBytes: statSync(batcher).size,
      coldImportMs: times[2] ?? Number.NaN,
    };
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
}

export interface MicroFigures {
  sweep: SweepPlanning[];
  fold: Folding;
  bundle?: Bundle;
}

export function microBenchmarks(root: string, withBundle: boolean): MicroFigures {
  const sweep = [2_500, 5_000, 10_000, 20_000].map((n) => planSweep(n));
  const figures: MicroFigures = { sweep, fold: foldOneRecord() };
  if (withBundle) figures.bundle = batcherBundle(root);
  return figures;
}

export function describeMicro(figures: MicroFigures): string[] {
  const lines = figures.sweep.map(
    (s) =>
      `planning a sweep of ${s.records} records (${s.rrsets} rrsets): ${s.ms.toFixed(0)} ms, ` +
      `${s.usPerRecord.toFixed(1)} µs a record, ${s.writes} writes`,
  );
  lines.push(
    `folding ${figures.fold.messages} messages into a record of ${figures.fold.machines} machines: ` +
      `${figures.fold.usPerFold.toFixed(0)} µs`,
  );
  const b = figures.bundle;
  if (b) {
    lines.push(
      `batcher bundle: package ${(b.zipBytes / 1024).toFixed(0)} KiB zipped, batcher.js ` +
        `${(b.batcherBytes / 1024).toFixed(0)} KiB, cold import ${b.coldImportMs.toFixed(0)} ms`,
    );
  }
  return lines;
}

if (require.main === module) {
  for (const line of describeMicro(microBenchmarks(join(__dirname, '..', '..'), true)))
    process.stdout.write(`${line}\n`);
}
