// The planner: from a record's state before and after folding a batch, the compare-and-swap changes
// that take Route 53 from what was read to what the registry says (SPEC §4); then a zone's record
// plans packed into as few ChangeBatches as Route 53's limits allow.
//
// Per rrset (A, AAAA, registry TXT) of a managed record:
//
//   current (as read)   desired (from entries)   changes
//   -----------------   ----------------------   ---------------------------------------------
//   absent              absent                   none
//   absent              values                   CREATE desired
//   values              same TTL, same values    none (idempotent: planning current -> current)
//   values              other TTL or values      DELETE current exactly as read, CREATE desired
//   values              absent                   DELETE current exactly as read
//
// Desired A/AAAA values are the up, lease-alive entries' addresses, sorted and de-duplicated; the
// desired TXT is the foreign strings verbatim followed by our entries. Types the zone does not serve
// are left as they are. Because every DELETE names the exact rrset that was read, a concurrent writer
// makes Route 53 reject the whole batch instead of one update silently replacing the other.

import { fitsOneBatch, measureChanges, ROUTE53_LIMITS, txtStringLength } from './limits';
import type { Change, RecordSet } from './model';
import { relativeName } from './names';
import { type RecordState, settleEntries } from './record-state';
import { compareText, encodeOwnerEntry, registryName } from './registry';

export interface RecordPlan {
  record: string;
  relativeName: string;
  changes: Change[];
  /** A/AAAA values that appear, for the workflow's summary */
  added: string[];
  removed: string[];
  messageIds: string[];
}

export interface PlanRejection {
  record: string;
  reason: string;
  messageIds: string[];
}

/** One ChangeBatch of a zone. `index` counts from 1, so part 1 of 2 reads as `p1of2`. */
export interface ZonePart {
  hostedZoneId: string;
  index: number;
  count: number;
  records: RecordPlan[];
  changes: Change[];
  messageIds: string[];
}

/** One rrset before and after: equal means untouched, absent means no such rrset. */
interface RRsetPlan {
  current: RecordSet | undefined;
  desired: RecordSet | undefined;
}

function valuesOf(rrset: RecordSet | undefined): string[] {
  return (rrset?.ResourceRecords ?? []).map((record) => record.Value);
}

function sortedUnique(values: string[]): string[] {
  return [...new Set(values)].sort(compareText);
}

function rrsetOf(Name: string, Type: string, TTL: number, values: string[]): RecordSet | undefined {
  return values.length === 0
    ? undefined
    : { Name, Type, TTL, ResourceRecords: values.map((Value) => ({ Value })) };
}

/** The rrset exactly as read, without whatever else the SDK attached to it. */
function asRead(rrset: RecordSet): RecordSet {
  const copy: RecordSet = { Name: rrset.Name, Type: rrset.Type };
  if (rrset.TTL !== undefined) copy.TTL = rrset.TTL;
  copy.ResourceRecords = valuesOf(rrset).map((Value) => ({ Value }));
  return copy;
}

function sameRRset(a: RecordSet, b: RecordSet): boolean {
  // Route 53 may list values in another order than they were written; order carries no meaning.
  const va = [...valuesOf(a)].sort(compareText);
  const vb = [...valuesOf(b)].sort(compareText);
  return a.TTL === b.TTL && va.length === vb.length && va.every((value, i) => value === vb[i]);
}

function compareAndSwap(current: RecordSet | undefined, desired: RecordSet | undefined): Change[] {
  if (current && desired && sameRRset(current, desired)) return [];
  const changes: Change[] = [];
  if (current) changes.push({ Action: 'DELETE', ResourceRecordSet: asRead(current) });
  if (desired) changes.push({ Action: 'CREATE', ResourceRecordSet: desired });
  return changes;
}

export function planRecord(
  before: RecordState,
  after: RecordState,
  now: number,
  ownerId: string,
  messageIds: string[],
): RecordPlan | PlanRejection | undefined {
  const record = before.name;
  const ids = sortedUnique(messageIds);
  const reject = (reason: string): PlanRejection => ({ record, reason, messageIds: ids });
  const { zone } = after;
  const entries = settleEntries(after.entries, zone, now);

  if (!before.managed) {
    // Nothing of ours to write (e.g. a sweep passing by) is not worth a rejection.
    return entries.length === 0 ? undefined : reject(before.refusal ?? `not-managed: ${record}`);
  }

  const up = entries.filter((entry) => entry.state === 'up');
  const addressSets: RRsetPlan[] = [];
  for (const type of ['A', 'AAAA'] as const) {
    const current = type === 'A' ? before.current.a : before.current.aaaa;
    if (!zone.types.includes(type)) {
      addressSets.push({ current, desired: current });
      continue;
    }
    const values = sortedUnique(up.flatMap((entry) => (type === 'A' ? entry.ipv4 : entry.ipv6) ?? []));
    if (values.length > zone.maxValuesPerRecord) {
      return reject(
        `too-many-values: ${record} would have ${values.length} ${type} values, over maxValuesPerRecord ${zone.maxValuesPerRecord}`,
      );
    }
    addressSets.push({ current, desired: rrsetOf(record, type, zone.ttl, values) });
  }

  const txt = [...after.foreign, ...entries.map((entry) => encodeOwnerEntry(ownerId, entry))];
  const tooLong = txt.find((value) => txtStringLength(value) > ROUTE53_LIMITS.txtStringLength);
  if (tooLong !== undefined) {
    return reject(
      `txt-too-long: ${registryName(record)} would hold a string over 255 characters: ${tooLong}`,
    );
  }
  if (txt.length > ROUTE53_LIMITS.valuesPerRecord) {
    return reject(
      `too-many-values: ${registryName(record)} would hold ${txt.length} strings, over Route 53's ${ROUTE53_LIMITS.valuesPerRecord}`,
    );
  }
  const registrySet: RRsetPlan = {
    current: before.current.registry,
    desired: rrsetOf(registryName(record), 'TXT', zone.ttl, txt),
  };

  const changes = [...addressSets, registrySet].flatMap((set) => compareAndSwap(set.current, set.desired));
  if (changes.length === 0) return undefined;
  const size = measureChanges(changes);
  if (!fitsOneBatch(size)) {
    return reject(
      `too-large: the changes for ${record} need ${size.elements} elements and ${size.characters} characters, ` +
        `over Route 53's ${ROUTE53_LIMITS.elementsPerBatch} and ${ROUTE53_LIMITS.charactersPerBatch} per ChangeBatch`,
    );
  }

  const was = new Set(addressSets.flatMap((set) => valuesOf(set.current)));
  const will = new Set(addressSets.flatMap((set) => valuesOf(set.desired)));
  return {
    record,
    relativeName: relativeName(record, zone),
    changes,
    added: sortedUnique([...will].filter((value) => !was.has(value))),
    removed: sortedUnique([...was].filter((value) => !will.has(value))),
    messageIds: ids,
  };
}

/**
 * Packs record plans into ChangeBatches, first fit in record-name order, so that the same plans always
 * give the same parts. A record's changes never straddle two parts: each part is a compare-and-swap of
 * whole records. planRecord rejects a record that cannot fit alone, so meeting one here is a bug.
 */
export function splitZonePlan(hostedZoneId: string, plans: RecordPlan[]): ZonePart[] {
  const ordered = [...plans].sort((a, b) => compareText(a.record, b.record));
  const bins: { plans: RecordPlan[]; elements: number; characters: number }[] = [];
  ordered.forEach((plan, i) => {
    if (ordered[i - 1]?.record === plan.record) throw new Error(`two plans for ${plan.record} in one zone`);
    const size = measureChanges(plan.changes);
    if (!fitsOneBatch(size)) throw new Error(`the changes for ${plan.record} cannot fit one ChangeBatch`);
    const bin = bins.find((b) =>
      fitsOneBatch({ elements: b.elements + size.elements, characters: b.characters + size.characters }),
    );
    if (bin) {
      bin.plans.push(plan);
      bin.elements += size.elements;
      bin.characters += size.characters;
    } else {
      bins.push({ plans: [plan], ...size });
    }
  });
  return bins.map((bin, i) => ({
    hostedZoneId,
    index: i + 1,
    count: bins.length,
    records: bin.plans,
    changes: bin.plans.flatMap((plan) => plan.changes),
    messageIds: sortedUnique(bin.plans.flatMap((plan) => plan.messageIds)),
  }));
}
