// What Route 53 holds for one record, read from a zone listing: its A/AAAA rrsets, its registry TXT, whether
// this stack may write it, and the entries the registry decodes to (docs/design.md §3.3).
import { TOMBSTONE_MS } from './contract';
import type { Message, RecordSet, ZoneRule } from './model';
import { findNameConflict } from './name-conflicts';
import { decodeRegistry, type OwnerEntry, registryName } from './registry';

export interface RecordState {
  /** fqdn, lower case, with trailing dot */
  name: string;
  zone: ZoneRule;
  /** as read from Route 53 */
  current: { a?: RecordSet; aaaa?: RecordSet; registry?: RecordSet };
  /** why this stack may not write the record; undefined when it may */
  refusal?: string;
  /** ours, decoded */
  entries: OwnerEntry[];
  /** registry strings that are not ours, kept verbatim */
  foreign: string[];
}

/** Route 53 names compared as Route 53 does: without case, with the trailing dot. */
export function nameKey(name: string): string {
  return (name.endsWith('.') ? name : `${name}.`).toLowerCase();
}

/** A zone listing indexed by name, so that reading one record costs a lookup, not a scan of the zone. */
export type ZoneIndex = Map<string, RecordSet[]>;

export function indexZone(rrsets: readonly RecordSet[]): ZoneIndex {
  const index: ZoneIndex = new Map();
  for (const rrset of rrsets) {
    const key = nameKey(rrset.Name);
    const atName = index.get(key);
    if (atName) atName.push(rrset);
    else index.set(key, [rrset]);
  }
  return index;
}

/**
 * The names of a zone that delegate (hold NS), apex excluded: a record at or below one of them is not served
 * from this zone. Known only from a whole-zone read; a per-name read sees NS at the record's own names.
 */
export function delegationsOf(index: ZoneIndex, zone: ZoneRule): Set<string> {
  const apex = nameKey(zone.suffix);
  const names = new Set<string>();
  for (const [name, rrsets] of index) {
    if (name !== apex && rrsets.some((r) => r.Type === 'NS')) names.add(name);
  }
  return names;
}

/** The delegating names strictly between a record and its zone's apex. */
function delegationsAbove(name: string, zone: ZoneRule, delegations: ReadonlySet<string>): string[] {
  if (delegations.size === 0) return [];
  const apex = nameKey(zone.suffix);
  const above: string[] = [];
  for (let rest = nameKey(name); rest !== apex && rest.includes('.'); ) {
    rest = rest.slice(rest.indexOf('.') + 1);
    if (rest !== apex && delegations.has(rest)) above.push(rest);
  }
  return above;
}

export function readRecordState(
  name: string,
  zone: ZoneRule,
  index: ZoneIndex,
  ownerId: string,
  delegations: ReadonlySet<string> = new Set(),
): RecordState {
  const registry = registryName(name);
  const atRecord = index.get(nameKey(name)) ?? [];
  const atRegistry = index.get(nameKey(registry)) ?? [];
  const current: RecordState['current'] = {};
  const a = atRecord.find((rrset) => rrset.Type === 'A');
  const aaaa = atRecord.find((rrset) => rrset.Type === 'AAAA');
  const txt = atRegistry.find((rrset) => rrset.Type === 'TXT');
  if (a) current.a = a;
  if (aaaa) current.aaaa = aaaa;
  if (txt) current.registry = txt;

  const values = (txt?.ResourceRecords ?? []).map((record) => record.Value);
  const { entries, foreign } = decodeRegistry(values, ownerId);
  const conflict = findNameConflict({
    record: name,
    registry,
    atRecord,
    atRegistry,
    delegations: delegationsAbove(name, zone, delegations),
  });
  const refusal = conflict ?? ownershipRefusal(name, ownerId, current, entries.length > 0);
  const state: RecordState = { name, zone, current, entries, foreign };
  if (refusal !== undefined) state.refusal = refusal;
  return state;
}

/** A record that exists without an entry of ours was made by hand or by another stack: never touch it. */
function ownershipRefusal(
  name: string,
  ownerId: string,
  current: RecordState['current'],
  hasOurEntry: boolean,
): string | undefined {
  if (hasOurEntry) return undefined;
  const types = [current.a && 'A', current.aaaa && 'AAAA'].filter((type): type is string => !!type);
  if (types.length === 0 && !current.registry) return undefined; // a new record
  if (types.length === 0) return `not-managed: ${registryName(name)} has no entry of owner ${ownerId}`;
  const what = types.length === 1 ? `an ${types[0]} record` : `${types.join(' and ')} records`;
  const registry = current.registry ? `no r53dyn entry of owner ${ownerId}` : 'no r53dyn registry';
  return `not-managed: ${name} has ${what} and ${registry}`;
}

/**
 * Settles entries at `now`. An up entry whose lease ran out stops being served, but is kept as a tombstone at
 * its own `t` rather than dropped: otherwise an older deregister or register redelivered later would find no
 * entry to lose against, and folding the same messages twice would differ. Tombstones are dropped once older
 * than TOMBSTONE_MS, when every message they could outrank is stale anyway.
 */
export function settleEntries(entries: OwnerEntry[], zone: ZoneRule, now: number): OwnerEntry[] {
  const leaseMs = zone.leaseSeconds * 1000;
  const expired = (entry: OwnerEntry) => entry.state === 'up' && leaseMs > 0 && entry.t + leaseMs <= now;
  return entries
    .map(
      (entry): OwnerEntry =>
        expired(entry) ? { instanceId: entry.instanceId, t: entry.t, state: 'gone' } : entry,
    )
    .filter((entry) => entry.state === 'up' || entry.t >= now - TOMBSTONE_MS);
}

/**
 * Why a register or heartbeat is too old to apply: sent before the tombstone horizon, it cannot be ordered
 * against a deregistration whose tombstone may already be swept, and applying it could bring a terminated
 * instance back (on every redelivery). A live instance is restored by its next heartbeat or boot.
 * Deregistrations never go stale: applied late, they still remove an older entry.
 */
export function staleReason(message: Message, now: number): string | undefined {
  if (message.kind !== 'register' && message.kind !== 'heartbeat') return undefined;
  if (message.sentAt >= now - TOMBSTONE_MS) return undefined;
  return `stale: ${message.kind} sent at ${new Date(message.sentAt).toISOString()}, more than an hour before it could be applied`;
}
