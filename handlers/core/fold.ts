// Folding a round's messages into one record's registry entries (docs/design.md §4.2):
//
//   1. settle what was read at `now` (expired leases become tombstones, old tombstones go);
//   2. merge the registrations, last writer wins per instance by SentTimestamp; a register or heartbeat no newer
//      than the instance's entry in the zone's gone list loses to it; a heartbeat that changes nothing served
//      and finds the lease less than half used writes nothing;
//   3. instance-gone events tombstone the instances they name;
//   4. admission: machines already served keep their place; newcomers get in by earliest sent time, then
//      instance id, while every address type stays within maxValuesPerRecord; the others are refused
//      (too-many-values) and only their messages are dead-lettered;
//   5. the registry budget: live entries first, then the newest tombstones that still fit.
//
// Every step works on the whole round at once and messages are taken in a fixed order, so the result does not
// depend on the order or duplication of messages, and folding the same round again changes nothing.
import { reason } from './contract';
import type { InstanceGone, Registration, ZoneRule } from './model';
import { settleEntries } from './record-state';
import { compareText, mergeEntries, newerEntry, type OwnerEntry } from './registry';

/** Instance id -> the time it left, for the whole zone (docs/design.md §3.4). */
export type GoneList = ReadonlyMap<string, number>;

export interface FoldInput {
  zone: ZoneRule;
  /** the registry entries as read (ours) */
  entries: OwnerEntry[];
  /** this round's registrations for the record, none of them stale */
  registrations: Registration[];
  /** this round's instance-gone events */
  goneEvents: InstanceGone[];
  /** the zone's gone list, this round's events included */
  goneList: GoneList;
  /** how many entries of ours the registry can hold (docs/design.md §5) */
  registryCapacity: number;
  now: number;
}

export interface FoldResult {
  entries: OwnerEntry[];
  /** registrations refused because the record is full, with their reason */
  refused: { message: Registration; reason: string }[];
}

function entryOf(registration: Registration, zone: ZoneRule): OwnerEntry {
  const { instanceId, sentAt: t } = registration;
  // A tombstone carries no addresses: they are no longer served, and the registry has a size budget.
  if (registration.kind === 'deregister') return { instanceId, t, state: 'gone' };
  // Only addresses the zone serves are kept, so the registry stays within what the zone check budgets for.
  const entry: OwnerEntry = { instanceId, t, state: 'up' };
  if (registration.ipv4 !== undefined && zone.types.includes('A')) entry.ipv4 = registration.ipv4;
  if (registration.ipv6 !== undefined && zone.types.includes('AAAA')) entry.ipv6 = registration.ipv6;
  return entry;
}

const sameAddresses = (a: OwnerEntry, b: OwnerEntry) => a.ipv4 === b.ipv4 && a.ipv6 === b.ipv6;
const sameEntry = (a: OwnerEntry, b: OwnerEntry) => a.t === b.t && a.state === b.state && sameAddresses(a, b);

/**
 * A heartbeat that would only move `t` forward, while the lease is less than half used, is not written. A register
 * is: a machine that booted again must outrank a deregistration it sent before (docs/design.md §4.2, step 3).
 */
function isQuietRenewal(held: OwnerEntry | undefined, next: Candidate[], zone: ZoneRule): boolean {
  const [winner] = next;
  if (winner === undefined || next.some((c) => c.kind !== 'heartbeat')) return false;
  if (held?.state !== 'up' || winner.entry.state !== 'up' || !sameAddresses(held, winner.entry)) return false;
  const leaseMs = zone.leaseSeconds * 1000;
  return leaseMs === 0 || winner.entry.t - held.t < leaseMs / 2;
}

interface Candidate {
  entry: OwnerEntry;
  sentAt: number;
  kind: Registration['kind'];
}

/**
 * The round's registrations of each instance as entries, with their sent times, leaving out the register and
 * heartbeat messages no newer than the instance's entry in the gone list.
 */
function candidatesOf(input: FoldInput): Map<string, Candidate[]> {
  const byInstance = new Map<string, Candidate[]>();
  for (const message of input.registrations) {
    const left = input.goneList.get(message.instanceId);
    if (message.kind !== 'deregister' && left !== undefined && message.sentAt <= left) continue;
    const candidate = { entry: entryOf(message, input.zone), sentAt: message.sentAt, kind: message.kind };
    byInstance.set(message.instanceId, [...(byInstance.get(message.instanceId) ?? []), candidate]);
  }
  return byInstance;
}

/** Instance id -> the latest sent time of this round's EC2 events for it. */
function latestEvents(events: InstanceGone[]): Map<string, number> {
  const latest = new Map<string, number>();
  for (const event of events)
    latest.set(event.instanceId, Math.max(event.sentAt, latest.get(event.instanceId) ?? 0));
  return latest;
}

export function foldRecord(input: FoldInput): FoldResult {
  const { zone, now } = input;
  const before = settleEntries(input.entries, zone, now);
  const served = new Set(before.filter((e) => e.state === 'up').map((e) => e.instanceId));
  const held = new Map(before.map((e) => [e.instanceId, e]));
  const firstSent = new Map<string, number>();
  const leaving = latestEvents(input.goneEvents);

  // Per instance, the round's winner by the registry's rule against what is held; a quiet renewal keeps what is
  // held. Deciding on the winner, not message by message, keeps the fold a function of the messages as a set.
  for (const [instanceId, candidates] of candidatesOf(input)) {
    const current = held.get(instanceId);
    const newer = candidates.filter((c) => current === undefined || newerEntry(current, c.entry) !== current);
    const best = newer
      .map((c) => c.entry)
      .reduce<OwnerEntry | undefined>((a, b) => (a ? newerEntry(a, b) : b), undefined);
    if (best === undefined) continue;
    // An EC2 event of this round that would tombstone what is held makes a renewal anything but quiet: skipping it
    // would let the event win over a registration sent after it.
    const leftAt = leaving.get(instanceId);
    const evented = current !== undefined && leftAt !== undefined && leftAt >= current.t;
    const winners = newer.filter((c) => sameEntry(c.entry, best));
    if (!evented && isQuietRenewal(current, winners, zone)) continue;
    held.set(instanceId, best);
    const ups = newer.filter((c) => c.entry.state === 'up').map((c) => c.sentAt);
    if (ups.length > 0) firstSent.set(instanceId, Math.min(...ups));
  }
  for (const event of input.goneEvents) {
    const current = held.get(event.instanceId);
    const tombstone: OwnerEntry = { instanceId: event.instanceId, t: event.sentAt, state: 'gone' };
    if (current && newerEntry(current, tombstone) === tombstone) held.set(event.instanceId, tombstone);
  }

  const refusedIds = admit(zone, held, served, firstSent, new Map(before.map((e) => [e.instanceId, e])));
  const refused = input.registrations
    .filter((m) => m.kind !== 'deregister' && refusedIds.has(m.instanceId))
    .map((message) => ({
      message,
      reason: reason(
        'too-many-values',
        `${message.record} already serves ${zone.maxValuesPerRecord} address(es) per type, its limit; ` +
          `machines already served keep their place and newcomers are taken by earliest sent time`,
      ),
    }));
  const live = settleEntries(mergeEntries(held.values()), zone, now);
  return { entries: withinBudget(live, input.registryCapacity), refused };
}

/**
 * Takes newcomers in order while every address type stays within the limit; puts the refused ones back to what
 * the registry held for them (or nothing), and returns their instance ids.
 */
function admit(
  zone: ZoneRule,
  held: Map<string, OwnerEntry>,
  served: Set<string>,
  firstSent: Map<string, number>,
  before: Map<string, OwnerEntry>,
): Set<string> {
  const values = { A: new Set<string>(), AAAA: new Set<string>() };
  const add = (entry: OwnerEntry) => {
    if (entry.ipv4 !== undefined) values.A.add(entry.ipv4);
    if (entry.ipv6 !== undefined) values.AAAA.add(entry.ipv6);
  };
  const newcomers: OwnerEntry[] = [];
  for (const entry of held.values()) {
    if (entry.state !== 'up') continue;
    if (served.has(entry.instanceId)) add(entry);
    else newcomers.push(entry);
  }
  newcomers.sort(
    (a, b) =>
      (firstSent.get(a.instanceId) ?? a.t) - (firstSent.get(b.instanceId) ?? b.t) ||
      compareText(a.instanceId, b.instanceId),
  );
  const refused = new Set<string>();
  const fits = (address: string | undefined, set: Set<string>) =>
    address === undefined || set.has(address) || set.size < zone.maxValuesPerRecord;
  for (const entry of newcomers) {
    if (fits(entry.ipv4, values.A) && fits(entry.ipv6, values.AAAA)) {
      add(entry);
      continue;
    }
    refused.add(entry.instanceId);
    const previous = before.get(entry.instanceId);
    if (previous) held.set(entry.instanceId, previous);
    else held.delete(entry.instanceId);
  }
  return refused;
}

/** Live entries always; tombstones newest first while they fit (docs/design.md §5, "registry budget"). */
export function withinBudget(entries: OwnerEntry[], capacity: number): OwnerEntry[] {
  const live = entries.filter((e) => e.state === 'up');
  const room = Math.max(0, capacity - live.length);
  const tombstones = entries
    .filter((e) => e.state === 'gone')
    .sort((a, b) => b.t - a.t || compareText(a.instanceId, b.instanceId))
    .slice(0, room);
  return mergeEntries([...live, ...tombstones]);
}
