// `r53dyn status [name]`: what each managed record serves and why (docs/design.md §3.3): its values, its
// owners' registry entries with their leases, its tombstones, the zone's gone list (§3.4), and the last
// execution that changed it, found in the latest SUCCEEDED executions' outputs.
import { TOMBSTONE_MS } from '../../handlers/core/contract';
import type { RecordSet, ZoneRule } from '../../handlers/core/model';
import { indexZone, nameKey, readRecordState, type ZoneIndex } from '../../handlers/core/record-state';
import { decodeRegistry, goneListName, registryName } from '../../handlers/core/registry';
import { bare, clock, count, relative, table } from './format';

export interface OwnerStatus {
  instanceId: string;
  ipv4?: string;
  ipv6?: string;
  /** the entry's `t`: the SentTimestamp of the message that wrote it */
  sentAt: number;
  /** when the lease runs out (the zone's leaseSeconds after sentAt); absent when the zone has no leases */
  leaseExpiresAt?: number;
  /** a lease that ran out is no longer served; the next round or sweep turns it into a tombstone */
  leaseExpired: boolean;
}

export interface Tombstone {
  instanceId: string;
  goneAt: number;
  /** tombstones are dropped TOMBSTONE_MS after they were written */
  droppedAt: number;
}

export interface LastChange {
  execution: string;
  added: string[];
  removed: string[];
  changeIds: string[];
  /** the execution ends once the round's last change is INSYNC */
  insyncAt?: number;
}

export interface RecordStatus {
  record: string;
  values: { A: string[]; AAAA: string[] };
  owners: OwnerStatus[];
  tombstones: Tombstone[];
  /** registry strings of other owners, kept verbatim */
  foreign: number;
  /** why the planner would refuse to write it now (a name conflict), if it would */
  problem?: string;
  lastChange?: LastChange;
}

export interface ZoneStatus {
  hostedZoneId: string;
  suffix: string;
  leaseSeconds: number;
  goneList: Tombstone[];
  records: RecordStatus[];
}

export interface StatusReport {
  stack: string;
  ownerId: string;
  now: number;
  zones: ZoneStatus[];
  /** where last changes were looked for */
  lookedBack: { executions: number; limit: number; since?: number };
}

const tombstone = (instanceId: string, t: number): Tombstone => ({
  instanceId,
  goneAt: t,
  droppedAt: t + TOMBSTONE_MS,
});

/** Names with a registry TXT of ours under the zone, the gone list aside. */
export function managedNames(index: ZoneIndex, zone: ZoneRule, ownerId: string): string[] {
  const goneList = nameKey(goneListName(zone.suffix));
  const prefix = nameKey(registryName(''));
  const names: string[] = [];
  for (const [name, rrsets] of index) {
    if (!name.startsWith(prefix) || name === goneList || !name.endsWith(`.${zone.suffix}.`)) continue;
    const txt = rrsets.find((r) => r.Type === 'TXT');
    const values = (txt?.ResourceRecords ?? []).map((r) => r.Value);
    if (decodeRegistry(values, ownerId).entries.length > 0) names.push(name.slice(prefix.length));
  }
  return names.sort();
}

export function recordStatus(
  name: string,
  zone: ZoneRule,
  index: ZoneIndex,
  ownerId: string,
  now: number,
): RecordStatus {
  const state = readRecordState(name, zone, index, ownerId);
  const valuesOf = (rrset: RecordSet | undefined) =>
    (rrset?.ResourceRecords ?? []).map((r) => r.Value).sort();
  const leaseMs = zone.leaseSeconds * 1000;
  const owners = state.entries
    .filter((e) => e.state === 'up')
    .map((e): OwnerStatus => {
      const owner: OwnerStatus = { instanceId: e.instanceId, sentAt: e.t, leaseExpired: false };
      if (e.ipv4 !== undefined) owner.ipv4 = e.ipv4;
      if (e.ipv6 !== undefined) owner.ipv6 = e.ipv6;
      if (leaseMs > 0) {
        owner.leaseExpiresAt = e.t + leaseMs;
        owner.leaseExpired = e.t + leaseMs <= now;
      }
      return owner;
    });
  const status: RecordStatus = {
    record: name,
    values: { A: valuesOf(state.current.a), AAAA: valuesOf(state.current.aaaa) },
    owners,
    tombstones: state.entries.filter((e) => e.state === 'gone').map((e) => tombstone(e.instanceId, e.t)),
    foreign: state.foreign.length,
  };
  if (state.refusal !== undefined) status.problem = state.refusal;
  return status;
}

/** Every managed record of a zone (or only `only`), from a whole-zone listing. */
export function zoneStatus(
  zone: ZoneRule,
  rrsets: RecordSet[],
  ownerId: string,
  now: number,
  only?: string,
): ZoneStatus {
  const index = indexZone(rrsets);
  const gone = (index.get(nameKey(goneListName(zone.suffix))) ?? []).find((r) => r.Type === 'TXT');
  const goneEntries = decodeRegistry(
    (gone?.ResourceRecords ?? []).map((r) => r.Value),
    ownerId,
  ).entries.sort((a, b) => b.t - a.t);
  const names = managedNames(index, zone, ownerId).filter((n) => only === undefined || n === only);
  return {
    hostedZoneId: zone.hostedZoneId,
    suffix: zone.suffix,
    leaseSeconds: zone.leaseSeconds,
    goneList: goneEntries.map((e) => tombstone(e.instanceId, e.t)),
    records: names.map((name) => recordStatus(name, zone, index, ownerId, now)),
  };
}

/** For each record, the newest execution (of those given, newest first) whose output lists it. */
export function lastChanges(
  executions: {
    name: string;
    stoppedAt?: number;
    records?: { record: string; added: string[]; removed: string[] }[];
    changeIds?: string[];
  }[],
  records: Iterable<string>,
): Map<string, LastChange> {
  const wanted = new Set(records);
  const found = new Map<string, LastChange>();
  for (const execution of executions) {
    for (const change of execution.records ?? []) {
      const key = nameKey(change.record);
      if (!wanted.has(key) || found.has(key)) continue;
      const last: LastChange = {
        execution: execution.name,
        added: change.added,
        removed: change.removed,
        changeIds: execution.changeIds ?? [],
      };
      if (execution.stoppedAt !== undefined) last.insyncAt = execution.stoppedAt;
      found.set(key, last);
    }
  }
  return found;
}

function ownerLine(owner: OwnerStatus, now: number): string {
  const addresses = [owner.ipv4, owner.ipv6].filter((a) => a !== undefined).join(' ');
  const lease =
    owner.leaseExpiresAt === undefined
      ? 'no lease'
      : owner.leaseExpired
        ? `lease ran out ${relative(owner.leaseExpiresAt, now)}: not served`
        : `lease ends ${relative(owner.leaseExpiresAt, now)}`;
  return `${owner.instanceId}  ${addresses}  sent ${clock(owner.sentAt)}  ${lease}`;
}

function recordText(record: RecordStatus, now: number): string[] {
  const values = [...record.values.A, ...record.values.AAAA];
  const lines = [`${bare(record.record)}  ${values.length > 0 ? values.join(' ') : '(no addresses)'}`];
  for (const owner of record.owners) lines.push(`  owner      ${ownerLine(owner, now)}`);
  for (const t of record.tombstones) {
    lines.push(
      `  tombstone  ${t.instanceId}  gone ${clock(t.goneAt)}  dropped ${relative(t.droppedAt, now)}`,
    );
  }
  if (record.foreign > 0)
    lines.push(`  foreign    ${count(record.foreign, 'registry string')} of other owners`);
  if (record.problem) lines.push(`  problem    ${record.problem}`);
  const last = record.lastChange;
  lines.push(
    last === undefined
      ? '  last change  not in the executions looked at'
      : `  last change  ${[...last.added.map((v) => `+${v}`), ...last.removed.map((v) => `-${v}`)].join(' ') || 'registry only'}  INSYNC ${last.insyncAt === undefined ? '?' : clock(last.insyncAt)}  ${last.execution}`,
  );
  return lines;
}

export function statusText(report: StatusReport): string {
  const out: string[] = [];
  for (const zone of report.zones) {
    const lease = zone.leaseSeconds > 0 ? `leases of ${zone.leaseSeconds}s` : 'no leases';
    out.push(
      `zone ${zone.suffix} (${zone.hostedZoneId}, ${lease}): ${count(zone.records.length, 'managed record')}`,
    );
    for (const record of zone.records) out.push(...recordText(record, report.now));
    if (zone.goneList.length > 0) {
      out.push('  gone list (instances that left; their older registrations are ignored):');
      out.push(
        indent(
          table(
            ['INSTANCE', 'GONE', 'DROPPED'],
            zone.goneList.map((g) => [g.instanceId, clock(g.goneAt), relative(g.droppedAt, report.now)]),
          ),
          4,
        ),
      );
    }
    out.push('');
  }
  const { executions, limit, since } = report.lookedBack;
  out.push(
    `last changes: looked through the latest ${count(executions, 'SUCCEEDED execution')} (at most ${limit}${since === undefined ? '' : `, since ${clock(since)}`}); --look-back N looks further`,
  );
  return out.join('\n');
}

const indent = (text: string, spaces: number) =>
  text
    .split('\n')
    .map((line) => `${' '.repeat(spaces)}${line}`)
    .join('\n');
