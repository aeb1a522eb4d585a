// What the benchmark reads from LocalStack to measure a run, always as an observer (test/helpers/call-counter.ts),
// so that watching does not change what is watched: the Route 53 counters of route53-limits.py, the call counters
// of call-counter.py, the zone as it stands (is every name exact?), the executions a run started and their
// histories (state transitions), and the dead letters it left, by reason.
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type RRType,
} from '@aws-sdk/client-route-53';
import {
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { RecordSet } from '../../handlers/core/model';
import { decodeRegistry } from '../../handlers/core/registry';
import { localClientConfig } from '../../infra/local/connection';
import { asObserver } from '../helpers/call-counter';
import type { Machine } from '../helpers/fleet';

export const observers = {
  route53: asObserver(new Route53Client({ ...localClientConfig, maxAttempts: 10 })),
  sfn: asObserver(new SFNClient(localClientConfig)),
  sqs: asObserver(new SQSClient(localClientConfig)),
};

/** Every rrset of a zone (300 a call). */
export async function readZone(zoneId: string): Promise<RecordSet[]> {
  const sets: RecordSet[] = [];
  let start: { StartRecordName?: string; StartRecordType?: RRType } = {};
  for (;;) {
    const out = await observers.route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, MaxItems: 300, ...start }),
    );
    for (const r of out.ResourceRecordSets ?? []) {
      sets.push({
        Name: r.Name ?? '',
        Type: r.Type ?? '',
        TTL: r.TTL ?? 60,
        ResourceRecords: (r.ResourceRecords ?? []).map((v) => ({ Value: v.Value ?? '' })),
      });
    }
    if (!out.IsTruncated) return sets;
    start = { StartRecordName: out.NextRecordName, StartRecordType: out.NextRecordType };
  }
}

/** Deletes every rrset of the zone but its apex SOA and NS: the next scenario starts from an empty zone. */
export async function emptyZone(zoneId: string): Promise<void> {
  const sets = (await readZone(zoneId)).filter((r) => r.Type !== 'SOA' && r.Type !== 'NS');
  const batches: RecordSet[][] = [[]];
  let elements = 0;
  let characters = 0;
  for (const r of sets) {
    const values = r.ResourceRecords ?? [];
    const size = values.reduce((n, v) => n + v.Value.length, 0);
    if (elements + values.length > 1000 || characters + size > 32_000) {
      batches.push([]);
      elements = 0;
      characters = 0;
    }
    batches[batches.length - 1]?.push(r);
    elements += values.length;
    characters += size;
  }
  for (const batch of batches.filter((b) => b.length > 0)) {
    const changes = batch.map((r) => ({
      Action: 'DELETE' as const,
      ResourceRecordSet: {
        Name: r.Name,
        Type: r.Type as RRType,
        TTL: r.TTL,
        ResourceRecords: r.ResourceRecords,
      },
    }));
    await observers.route53.send(
      new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }),
    );
  }
}

export interface Presence {
  /** machine addresses served by their own name */
  present: number;
  /** per name, its live machines up to the record's limit */
  expected: number;
  /** every name serves exactly that many of its live machines, nothing else, and its registry agrees */
  exact: boolean;
}

/**
 * How far a zone is from exact for a fleet: per name, the A values must be addresses of that name's live
 * machines, as many as fit (min(live, limit)); with an owner id, the registry's `up` entries must be exactly the
 * machines served. Which machines fit a full record depends on SQS's sent times, so any of them may.
 */
export function presence(rrsets: RecordSet[], live: Machine[], limit: number, ownerId?: string): Presence {
  const byName = new Map<string, RecordSet[]>();
  for (const r of rrsets) byName.set(r.Name, [...(byName.get(r.Name) ?? []), r]);
  const machinesOf = new Map<string, Machine[]>();
  for (const m of live) machinesOf.set(m.record, [...(machinesOf.get(m.record) ?? []), m]);
  let present = 0;
  let expected = 0;
  let exact = true;
  for (const [record, machines] of machinesOf) {
    const values = new Set(
      (byName.get(`${record}.`) ?? []).find((r) => r.Type === 'A')?.ResourceRecords?.map((v) => v.Value),
    );
    const own = new Set(machines.map((m) => m.ipv4));
    const served = [...values].filter((v) => own.has(v)).length;
    present += served;
    expected += Math.min(machines.length, limit);
    if (served !== values.size || served !== Math.min(machines.length, limit)) exact = false;
    if (ownerId !== undefined && exact)
      exact = registryAgrees(byName.get(`_r53dyn.${record}.`), values, ownerId);
  }
  return { present, expected, exact };
}

function registryAgrees(rrsets: RecordSet[] | undefined, values: Set<string>, ownerId: string): boolean {
  const txt = (rrsets ?? []).find((r) => r.Type === 'TXT')?.ResourceRecords?.map((v) => v.Value) ?? [];
  const up = decodeRegistry(txt, ownerId).entries.filter((e) => e.state === 'up');
  return up.length === values.size && up.every((e) => e.ipv4 !== undefined && values.has(e.ipv4));
}

export interface ExecutionFigures {
  executions: number;
  failed: number;
  /** rounds whose head delta came back: a retry */
  retries: number;
  /** state transitions, from the histories: every state entered (retries of a task included) */
  transitions: number;
}

export async function executionArns(stateMachineArn: string): Promise<Set<string>> {
  const arns = new Set<string>();
  let nextToken: string | undefined;
  do {
    const out = await observers.sfn.send(
      new ListExecutionsCommand({ stateMachineArn, maxResults: 1000, nextToken }),
    );
    for (const e of out.executions ?? []) arns.add(`${e.executionArn}|${e.status}|${e.name}`);
    nextToken = out.nextToken;
  } while (nextToken);
  return arns;
}

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const out = await observers.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }),
    );
    events.push(...(out.events ?? []));
    nextToken = out.nextToken;
  } while (nextToken);
  return events;
}

/** The executions that are in `after` and not in `before`, read back through their histories. */
export async function executionsBetween(before: Set<string>, after: Set<string>): Promise<ExecutionFigures> {
  const known = new Set([...before].map((k) => k.split('|')[0]));
  const fresh = [...after].map((k) => k.split('|')).filter(([arn]) => !known.has(arn));
  let transitions = 0;
  for (const [arn] of fresh) {
    const events = await history(arn ?? '');
    transitions += events.filter((e) => /StateEntered$/.test(e.type ?? '')).length;
    // a task retried by its Retry enters its state once; each retry is a transition of its own on the bill
    transitions += events.filter((e) => e.type === 'TaskFailed').length;
  }
  return {
    executions: fresh.length,
    failed: fresh.filter(([, status]) => status !== 'SUCCEEDED').length,
    retries: fresh.filter(([, , name]) => !/-r1$/.test(name ?? '')).length,
    transitions,
  };
}

/** Receives and deletes every message of a queue whose body mentions `mark`; answers their reasons' codes. */
export async function drainDeadLetters(queueUrl: string, mark: string): Promise<Record<string, number>> {
  const reasons: Record<string, number> = {};
  for (;;) {
    const out = await observers.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return reasons;
    for (const m of messages) {
      if (!m.Body?.includes(mark)) continue;
      const code = (m.MessageAttributes?.['r53dyn-reason']?.StringValue ?? 'receive-limit').split(':', 1)[0];
      reasons[code ?? ''] = (reasons[code ?? ''] ?? 0) + 1;
    }
    await observers.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
}

/** Counts the bytes the handlers log (Powertools writes one JSON line per entry to stdout or stderr). */
export class LogMeter {
  bytes = 0;
  lines = 0;
  private restore: (() => void) | undefined;

  start(echo: (line: string) => void): void {
    const wrap = (stream: NodeJS.WriteStream) => {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        // the handlers' log lines and their embedded-metric lines: both are CloudWatch Logs ingestion on AWS
        if (!text.startsWith('{"level"') && !text.startsWith('{"_aws"'))
          return (write as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
        this.bytes += Buffer.byteLength(text);
        this.lines += 1;
        // warnings and errors are always shown; every line with R53DYN_BENCH_ECHO=1
        if (process.env.R53DYN_BENCH_ECHO || !/^\{"(level":"INFO"|_aws")/.test(text))
          echo(text.slice(0, 600).trimEnd());
        return true;
      }) as typeof stream.write;
      return () => {
        stream.write = write as typeof stream.write;
      };
    };
    const undo = [wrap(process.stdout), wrap(process.stderr)];
    this.restore = () => {
      for (const u of undo) u();
    };
  }

  stop(): void {
    this.restore?.();
  }
}
