// The registry state of one record: what Route 53 holds now, whether this stack may touch it, and the
// owner entries after folding a batch of messages into it (SPEC §3, §4).
import type { Message, RecordSet, Registration, ZoneRule } from './model';
import { decodeRegistry, mergeEntries, type OwnerEntry, registryName } from './registry';

export interface RecordState {
  /** fqdn, lower case, with trailing dot */
  name: string;
  zone: ZoneRule;
  /** as read from Route 53 */
  current: { a?: RecordSet; aaaa?: RecordSet; registry?: RecordSet };
  managed: boolean;
  /** why not managed, e.g. 'not-managed: web.dyn.example.test. has an A record and no r53dyn registry' */
  refusal?: string;
  /** ours, decoded */
  entries: OwnerEntry[];
  foreign: string[];
}

/** A tombstone only has to outlive the registrations that could still arrive after it. */
export const TOMBSTONE_MS = 3_600_000;

function sameName(a: string, b: string): boolean {
  const norm = (name: string) => (name.endsWith('.') ? name : `${name}.`).toLowerCase();
  return norm(a) === norm(b);
}

export function readRecordState(
  name: string,
  zone: ZoneRule,
  rrsets: RecordSet[],
  ownerId: string,
): RecordState {
  const atName = rrsets.filter((rrset) => sameName(rrset.Name, name));
  const atRegistry = rrsets.filter(
    (rrset) => sameName(rrset.Name, registryName(name)) && rrset.Type === 'TXT',
  );
  const current: RecordState['current'] = {};
  const a = atName.find((rrset) => rrset.Type === 'A');
  const aaaa = atName.find((rrset) => rrset.Type === 'AAAA');
  if (a) current.a = a;
  if (aaaa) current.aaaa = aaaa;
  if (atRegistry[0]) current.registry = atRegistry[0];

  const values = (current.registry?.ResourceRecords ?? []).map((record) => record.Value);
  const { entries, foreign } = decodeRegistry(values, ownerId);
  const refusal = refusalOf(name, ownerId, atName, atRegistry, entries.length > 0);

  const state: RecordState = { name, zone, current, managed: refusal === undefined, entries, foreign };
  if (refusal !== undefined) state.refusal = refusal;
  return state;
}

function refusalOf(
  name: string,
  ownerId: string,
  atName: RecordSet[],
  atRegistry: RecordSet[],
  hasOurEntry: boolean,
): string | undefined {
  // A CNAME, an alias or a routing-policy set cannot be rewritten by a plain DELETE+CREATE, even if ours.
  if (atName.some((rrset) => rrset.Type === 'CNAME')) return `not-managed: ${name} has a CNAME record`;
  const addressSets = atName.filter((rrset) => rrset.Type === 'A' || rrset.Type === 'AAAA');
  const types = [...new Set(addressSets.map((rrset) => rrset.Type))].sort();
  if (types.length < addressSets.length || atRegistry.length > 1) {
    return `not-managed: ${name} has several record sets of one type (a routing policy)`;
  }
  const alias = addressSets.find((rrset) => (rrset.ResourceRecords ?? []).length === 0);
  if (alias) return `not-managed: ${name} has an alias ${alias.Type} record`;

  if (hasOurEntry) return undefined;
  if (addressSets.length === 0 && atRegistry.length === 0) return undefined; // a new record
  if (addressSets.length === 0) return `not-managed: ${registryName(name)} has no entry of owner ${ownerId}`;
  const what = types.length === 1 ? `an ${types[0]} record` : `${types.join(' and ')} records`;
  const registry = atRegistry.length === 0 ? 'no r53dyn registry' : `no r53dyn entry of owner ${ownerId}`;
  return `not-managed: ${name} has ${what} and ${registry}`;
}

function entryOf(registration: Registration, zone: ZoneRule): OwnerEntry {
  const { instanceId, sentAt: t } = registration;
  // A tombstone carries no addresses: they are no longer served, and the registry TXT has a size budget.
  if (registration.kind === 'deregister') return { instanceId, t, state: 'gone' };
  // Only addresses the zone serves are kept, so the registry stays within what checkZoneFits budgets for.
  const entry: OwnerEntry = { instanceId, t, state: 'up' };
  if (registration.ipv4 !== undefined && zone.types.includes('A')) entry.ipv4 = registration.ipv4;
  if (registration.ipv6 !== undefined && zone.types.includes('AAAA')) entry.ipv6 = registration.ipv6;
  return entry;
}

/**
 * Settles entries at `now`. An up entry whose lease ran out stops being served, but is kept as a
 * tombstone at its own `t` rather than dropped: otherwise an older deregister or register redelivered
 * later would find no entry to lose against, and folding the same batch twice would differ. Tombstones
 * are dropped an hour after their `t`, when every message they could outrank is stale anyway.
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
 * Why a register or heartbeat is too old to apply: sent before the tombstone horizon, it cannot be
 * ordered against a deregister whose tombstone may already be swept, and applying it could bring a
 * terminated instance back (on every redelivery). A live instance is restored by its next heartbeat or
 * boot. Deregisters never go stale: applied late, they still remove an older entry.
 */
export function staleReason(message: Message, now: number): string | undefined {
  if (message.kind !== 'register' && message.kind !== 'heartbeat') return undefined;
  if (message.sentAt >= now - TOMBSTONE_MS) return undefined;
  return `stale: ${message.kind} sent at ${new Date(message.sentAt).toISOString()}, more than an hour before it could be applied`;
}

/**
 * Folds a batch into the record's entries. Registrations are merged first (last writer wins, a
 * join), then instance-gone events turn into tombstones only where the instance holds an entry, then
 * the result is settled at `now` once. Doing each step once over the whole batch, rather than message
 * by message, is what makes the result independent of the order and duplication of messages, and
 * ignoring stale registrations is what keeps folding a redelivered batch again a no-op.
 */
export function foldMessages(state: RecordState, messages: Message[], now: number): RecordState {
  const registrations = messages.flatMap((message) =>
    message.kind !== 'sweep' &&
    message.kind !== 'instance-gone' &&
    sameName(message.record, state.name) &&
    staleReason(message, now) === undefined
      ? [entryOf(message, state.zone)]
      : [],
  );
  const merged = mergeEntries([...state.entries, ...registrations]);
  const present = new Set(merged.map((entry) => entry.instanceId));
  const gone = messages.flatMap((message): OwnerEntry[] =>
    message.kind === 'instance-gone' && present.has(message.instanceId)
      ? [{ instanceId: message.instanceId, t: message.sentAt, state: 'gone' }]
      : [],
  );
  const entries = settleEntries(mergeEntries([...merged, ...gone]), state.zone, now);
  return { ...state, entries };
}
