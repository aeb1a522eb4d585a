// A fleet of machines for end-to-end runs: ids and addresses that are valid and distinct, messages sent the way
// a fleet sends them (many at once, SendMessageBatch), and the exact check of what every name ends up serving.
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { decodeRegistry, type OwnerEntry } from '../../handlers/core/registry';
import { recordValues } from './stack';

export interface Machine {
  instanceId: string;
  ipv4: string;
  record: string;
}

/** `count` machines spread over `names` records `<prefix>-<n>.<suffix>`, each with a distinct public IPv4. */
export function fleet(prefix: string, suffix: string, count: number, names: number, first = 0): Machine[] {
  return Array.from({ length: count }, (_, i) => {
    const n = first + i;
    return {
      // 17 hex digits, distinct per n and per prefix
      instanceId: `i-${hex(prefix)}${n.toString(16).padStart(9, '0')}`,
      ipv4: `52.${1 + Math.floor(n / 62_500)}.${Math.floor(n / 250) % 250}.${1 + (n % 250)}`,
      record: `${prefix}-${i % names}.${suffix}`,
    };
  });
}

function hex(text: string): string {
  let h = 0;
  for (const c of text) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, '0').slice(0, 8);
}

export type Action = 'register' | 'deregister' | 'heartbeat';

export function body(action: Action, machine: Machine): string {
  const message: Record<string, unknown> = {
    v: 1,
    action,
    record: machine.record,
    instanceId: machine.instanceId,
  };
  if (action !== 'deregister') message.ipv4 = machine.ipv4;
  return JSON.stringify(message);
}

/** Sends every message at once, as a fleet booting together does: SendMessageBatch, many in parallel. */
export async function sendAll(
  sqs: SQSClient,
  queueUrl: string,
  bodies: string[],
  parallel = 16,
): Promise<void> {
  const batches: string[][] = [];
  for (let i = 0; i < bodies.length; i += 10) batches.push(bodies.slice(i, i + 10));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++] ?? [];
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((MessageBody, n) => ({ Id: `m${n}`, MessageBody })),
        }),
      );
      if ((out.Failed ?? []).length > 0) throw new Error(`SQS refused ${JSON.stringify(out.Failed)}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

export interface ServedName {
  values: string[] | undefined;
  entries: OwnerEntry[];
  foreign: string[];
}

/** What one name serves and what its registry says, as read from Route 53. */
export async function served(zoneId: string, record: string, ownerId: string): Promise<ServedName> {
  const values = await recordValues(zoneId, `${record}.`, 'A');
  const registry = (await recordValues(zoneId, `_r53dyn.${record}.`, 'TXT')) ?? [];
  return { values, ...decodeRegistry(registry, ownerId) };
}

/**
 * Checks that every name serves exactly its live machines' addresses and that its registry holds exactly one
 * `up` entry per live machine (with its address) and one tombstone per machine that left; returns the problems.
 */
export async function exactProblems(
  zoneId: string,
  ownerId: string,
  live: Machine[],
  gone: Machine[],
): Promise<string[]> {
  const names = [...new Set([...live, ...gone].map((m) => m.record))].sort();
  const problems: string[] = [];
  for (const name of names) {
    const expectedLive = live.filter((m) => m.record === name);
    const expectedGone = gone.filter((m) => m.record === name);
    const now = await served(zoneId, name, ownerId);
    const want = [...new Set(expectedLive.map((m) => m.ipv4))].sort();
    if (JSON.stringify(now.values ?? []) !== JSON.stringify(want)) {
      problems.push(`${name}: serves ${JSON.stringify(now.values)} instead of ${JSON.stringify(want)}`);
    }
    const entries = new Map(now.entries.map((e) => [e.instanceId, e]));
    for (const m of expectedLive) {
      const e = entries.get(m.instanceId);
      if (e?.state !== 'up' || e.ipv4 !== m.ipv4)
        problems.push(`${name}: ${m.instanceId} is ${JSON.stringify(e)}`);
    }
    for (const m of expectedGone) {
      const e = entries.get(m.instanceId);
      if (e?.state !== 'gone')
        problems.push(`${name}: ${m.instanceId} should be a tombstone, is ${JSON.stringify(e)}`);
    }
    const known = new Set([...expectedLive, ...expectedGone].map((m) => m.instanceId));
    for (const e of now.entries)
      if (!known.has(e.instanceId)) problems.push(`${name}: stray entry ${JSON.stringify(e)}`);
  }
  return problems;
}
