// The planner: from what was read and the entries a round folds to, the compare-and-swap changes that take
// Route 53 from one to the other; then a zone's record writes packed into as few ChangeBatches as Route 53's
// limits allow (docs/design.md §4.3).
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
// Desired A/AAAA values are the up entries' addresses, sorted and de-duplicated; the desired TXT is the
// foreign strings verbatim followed by our entries. Types the zone does not serve are left as they are.
// Because every DELETE names the exact rrset that was read, a concurrent writer makes Route 53 reject the
// whole batch instead of one update silently replacing the other.
//
// A record's changes travel to the workflow in six fixed slots, so that it can check each slot's action, name
// and type without a state per change (docs/design.md §8.2):
//   [DELETE A] [CREATE A] [DELETE AAAA] [CREATE AAAA] [DELETE TXT] [CREATE TXT], each holding 0 or 1 change.
import { ROUTE53_LIMITS, reason } from './contract';
import { type BatchSize, fitsOneBatch, measureChanges } from './limits';
import type { Change, RecordSet } from './model';
import { compareText, encodeOwnerEntry, type OwnerEntry } from './registry';

export type Slots = [Change[], Change[], Change[], Change[], Change[], Change[]];

export interface RecordWrite {
  /** fqdn with trailing dot */
  record: string;
  /** the labels below the zone suffix, no trailing dot */
  relativeName: string;
  slots: Slots;
  /** A/AAAA values that appear and disappear, for the execution's summary */
  added: string[];
  removed: string[];
  size: BatchSize;
}

export interface RecordTarget {
  record: string;
  relativeName: string;
  /** the rrsets as read */
  current: { a?: RecordSet; aaaa?: RecordSet; registry?: RecordSet };
  /** where the registry TXT lives */
  registryName: string;
  ttl: number;
  /** address types the zone serves; the others are left as they are */
  types: readonly ('A' | 'AAAA')[];
  entries: OwnerEntry[];
  foreign: string[];
  ownerId: string;
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

/** The DELETE slot and the CREATE slot of one rrset. */
function compareAndSwap(
  current: RecordSet | undefined,
  desired: RecordSet | undefined,
): [Change[], Change[]] {
  if (current && desired && sameRRset(current, desired)) return [[], []];
  return [
    current ? [{ Action: 'DELETE', ResourceRecordSet: asRead(current) }] : [],
    desired ? [{ Action: 'CREATE', ResourceRecordSet: desired }] : [],
  ];
}

export function slotChanges(slots: Slots): Change[] {
  return slots.flat();
}

/** The changes that take one record from what was read to its entries; undefined when there are none. */
export function planRecordWrite(target: RecordTarget): RecordWrite | { reason: string } | undefined {
  const { record, current } = target;
  const up = target.entries.filter((entry) => entry.state === 'up');
  const address = (type: 'A' | 'AAAA') => {
    const read = type === 'A' ? current.a : current.aaaa;
    if (!target.types.includes(type)) return { current: read, desired: read };
    const values = sortedUnique(up.flatMap((entry) => (type === 'A' ? entry.ipv4 : entry.ipv6) ?? []));
    return { current: read, desired: rrsetOf(record, type, target.ttl, values) };
  };
  const a = address('A');
  const aaaa = address('AAAA');
  const txt = [...target.foreign, ...target.entries.map((entry) => encodeOwnerEntry(target.ownerId, entry))];
  const registry = {
    current: current.registry,
    desired: rrsetOf(target.registryName, 'TXT', target.ttl, txt),
  };
  const slots: Slots = [
    ...compareAndSwap(a.current, a.desired),
    ...compareAndSwap(aaaa.current, aaaa.desired),
    ...compareAndSwap(registry.current, registry.desired),
  ];
  const changes = slotChanges(slots);
  if (changes.length === 0) return undefined;
  const size = measureChanges(changes);
  if (!fitsOneBatch(size)) {
    return {
      reason: reason(
        'record-too-large',
        `the changes for ${record} need ${size.elements} elements and ${size.characters} characters, ` +
          `over Route 53's ${ROUTE53_LIMITS.elementsPerBatch} and ${ROUTE53_LIMITS.charactersPerBatch} per ChangeBatch`,
      ),
    };
  }
  const was = new Set([...valuesOf(a.current), ...valuesOf(aaaa.current)]);
  const will = new Set([...valuesOf(a.desired), ...valuesOf(aaaa.desired)]);
  return {
    record,
    relativeName: target.relativeName,
    slots,
    added: sortedUnique([...will].filter((value) => !was.has(value))),
    removed: sortedUnique([...was].filter((value) => !will.has(value))),
    size,
  };
}

/**
 * Packs record writes into ChangeBatches, first fit in record-name order, so that the same writes always give
 * the same parts. A record's changes never straddle two parts: each part is a compare-and-swap of whole
 * records. planRecordWrite refuses a record that cannot fit alone, so meeting one here is a bug.
 */
export function packParts(writes: RecordWrite[]): RecordWrite[][] {
  const ordered = [...writes].sort((a, b) => compareText(a.record, b.record));
  const bins: { writes: RecordWrite[]; size: BatchSize }[] = [];
  for (const write of ordered) {
    if (!fitsOneBatch(write.size))
      throw new Error(`the changes for ${write.record} cannot fit one ChangeBatch`);
    const together = (b: BatchSize) => ({
      elements: b.elements + write.size.elements,
      characters: b.characters + write.size.characters,
    });
    const bin = bins.find((b) => fitsOneBatch(together(b.size)));
    if (bin) {
      bin.writes.push(write);
      bin.size = together(bin.size);
    } else {
      bins.push({ writes: [write], size: write.size });
    }
  }
  return bins.map((bin) => bin.writes);
}
