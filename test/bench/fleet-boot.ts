// Benchmark: a fleet booting at once, the per-instance UPSERT script against r53dyn, in one process.
//
//   npm run bench [-- <machines> <names>]
//
// The baseline's UPSERTs replace the whole record; r53dyn's plans are applied to the stateful Route 53 fake the
// unit tests use. The figures are Route 53 requests (the account-wide rate limit is 10 requests/s after a burst
// of 50) and machines that end up resolvable, as ratios to the baseline, and r53dyn's planning time per batch.
// Printed, never asserted.
import { performance } from 'node:perf_hooks';
import { planBatch, readsFor, sortMessages } from '../../handlers/core/batch';
import type { Allowlist, Change, RecordSet } from '../../handlers/core/model';
import { Route53Fake } from '../helpers/route53-fake';

const machines = Number(process.argv[2] ?? 1000);
const names = Number(process.argv[3] ?? 10);
const batchSize = 100;
const allowlist: Allowlist = {
  zones: [
    {
      hostedZoneId: 'ZBENCH',
      suffix: 'dyn.example.com',
      ttl: 60,
      types: ['A'],
      maxValuesPerRecord: 137,
      leaseSeconds: 0,
      allowPrivate: false,
    },
  ],
};

const fleet = Array.from({ length: machines }, (_, i) => ({
  instanceId: `i-${(0x10000000000000000n + BigInt(i)).toString(16).slice(-17)}`,
  ipv4: `44.${192 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`,
  record: `web${i % names}.dyn.example.com`,
}));

/** The classic boot script: every machine UPSERTs its own address as the whole record. */
function perInstanceUpsert(): { requests: number; resolvable: number } {
  const zone = new Map<string, RecordSet>();
  let requests = 0;
  for (const m of fleet) {
    requests += 1;
    zone.set(m.record, { Name: `${m.record}.`, Type: 'A', TTL: 60, ResourceRecords: [{ Value: m.ipv4 }] });
  }
  const resolvable = [...zone.values()].reduce((n, r) => n + (r.ResourceRecords?.length ?? 0), 0);
  return { requests, resolvable };
}

/** r53dyn: SQS batches of `batchSize`; per batch two reads per record, one write and one poll per part. */
function r53dyn(): { requests: number; resolvable: number; ms: number; executions: number } {
  const route53 = new Route53Fake();
  let requests = 0;
  let executions = 0;
  let planning = 0;
  const now = Date.now();
  for (let i = 0; i < fleet.length; i += batchSize) {
    const received = fleet.slice(i, i + batchSize).map((m, n) => ({
      messageId: `m-${i + n}`,
      body: JSON.stringify({
        v: 1,
        action: 'register',
        record: m.record,
        instanceId: m.instanceId,
        ipv4: m.ipv4,
      }),
      sentAt: now - 1000 + i + n,
      attempt: 0,
    }));
    const started = performance.now();
    const sorted = sortMessages(received, { allowlist, senderBinding: false, now });
    const reads = readsFor(sorted.messages, allowlist);
    const plan = planBatch({
      received,
      sorted,
      reads,
      rrsets: new Map([['ZBENCH', route53.list()]]),
      ownerId: 'r53dyn-bench',
      now,
    });
    planning += performance.now() - started;
    requests += reads.reduce((n, r) => n + r.names.length * 2, 0);
    for (const start of plan.starts) {
      const changes: Change[] = start.input.changes.map((c) => c.change);
      route53.changeResourceRecordSets(changes);
      executions += 1;
      requests += 2; // ChangeResourceRecordSets, then one GetChange (more while a change is PENDING)
    }
  }
  const resolvable = route53
    .list()
    .filter((r) => r.Type === 'A')
    .reduce((n, r) => n + (r.ResourceRecords?.length ?? 0), 0);
  return { requests, resolvable, ms: planning, executions };
}

const baseline = perInstanceUpsert();
const ours = r53dyn();
const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : (a / b).toFixed(3));
const rows = [
  ['', 'per-instance UPSERT', 'r53dyn', 'r53dyn / UPSERT'],
  [
    'Route 53 requests',
    String(baseline.requests),
    String(ours.requests),
    ratio(ours.requests, baseline.requests),
  ],
  [
    'seconds at 10 req/s after a burst of 50',
    String(Math.max(0, (baseline.requests - 50) / 10)),
    String(Math.max(0, (ours.requests - 50) / 10)),
    ratio(Math.max(0, ours.requests - 50), Math.max(1, baseline.requests - 50)),
  ],
  [
    'machines resolvable',
    String(baseline.resolvable),
    String(ours.resolvable),
    ratio(ours.resolvable, baseline.resolvable),
  ],
];
process.stdout.write(
  `${machines} machines booting at once for ${names} names (batches of ${batchSize}; ${ours.executions} executions)\n`,
);
for (const row of rows)
  process.stdout.write(
    `${row[0]?.padEnd(42)}${row
      .slice(1)
      .map((c) => c.padStart(20))
      .join('')}\n`,
  );
process.stdout.write(
  `r53dyn planning (parse, fold, plan): ${(ours.ms / Math.ceil(machines / batchSize)).toFixed(1)} ms per batch\n`,
);
