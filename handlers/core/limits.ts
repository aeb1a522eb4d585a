// Route 53's ChangeBatch limits (docs/design.md §5) and what they mean for a zone: how many registry entries a
// record can keep, and the deploy-time check that a record at maxValuesPerRecord machines, with its registry
// full of tombstones, can still be rewritten in one compare-and-swap ChangeBatch.
import { ROUTE53_LIMITS } from './contract';
import type { Change, RecordSet, ZoneRule } from './model';
import { encodeOwnerEntry, isValidOwnerId, type OwnerEntry } from './registry';

export interface BatchSize {
  elements: number;
  characters: number;
}

/**
 * Route 53 counts every ResourceRecord element and every character of every Value, in DELETE and CREATE
 * alike (an UPSERT counts twice, which is one reason r53dyn never uses it). TXT quotes are characters.
 */
export function measureChanges(changes: Change[]): BatchSize {
  let elements = 0;
  let characters = 0;
  for (const change of changes) {
    for (const record of change.ResourceRecordSet.ResourceRecords ?? []) {
      elements += 1;
      characters += record.Value.length;
    }
  }
  return { elements, characters };
}

export function fitsOneBatch(size: BatchSize): boolean {
  return (
    size.elements <= ROUTE53_LIMITS.elementsPerBatch && size.characters <= ROUTE53_LIMITS.charactersPerBatch
  );
}

/** The characters between the quotes of a single-string TXT value. */
export function txtStringLength(value: string): number {
  return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.length - 2 : value.length;
}

// The longest values a validated message can carry: an ECS task id is 32 hex, longer than an EC2 id;
// SentTimestamp stays at 13 digits until the year 2286.
const LONGEST_INSTANCE_ID = 'f'.repeat(32);
const LONGEST_IPV4 = '255.255.255.255';
const LONGEST_IPV6 = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
const LONGEST_T = 9_999_999_999_999;

/** The largest registry string the zone can hold: every field the zone serves present. */
function worstEntry(zone: ZoneRule, ownerId: string): string {
  const entry: OwnerEntry = { instanceId: LONGEST_INSTANCE_ID, t: LONGEST_T, state: 'up' };
  if (zone.types.includes('A')) entry.ipv4 = LONGEST_IPV4;
  if (zone.types.includes('AAAA')) entry.ipv6 = LONGEST_IPV6;
  return encodeOwnerEntry(ownerId, entry);
}

/** DELETE+CREATE of A and AAAA at `values` and of the registry TXT at `entries`, all of the longest kind. */
function worstRecordChanges(zone: ZoneRule, ownerId: string, values: number, entries: number): Change[] {
  const rrset = (Type: string, value: string, count: number): RecordSet => ({
    Name: 'worst.case.',
    Type,
    TTL: zone.ttl,
    ResourceRecords: Array.from({ length: count }, () => ({ Value: value })),
  });
  const rrsets: RecordSet[] = [];
  if (zone.types.includes('A')) rrsets.push(rrset('A', LONGEST_IPV4, values));
  if (zone.types.includes('AAAA')) rrsets.push(rrset('AAAA', LONGEST_IPV6, values));
  rrsets.push(rrset('TXT', worstEntry(zone, ownerId), entries));
  return rrsets.flatMap((set): Change[] => [
    { Action: 'DELETE', ResourceRecordSet: set },
    { Action: 'CREATE', ResourceRecordSet: set },
  ]);
}

const fitsWorstCase = (zone: ZoneRule, ownerId: string, values: number, entries: number) =>
  entries <= ROUTE53_LIMITS.valuesPerRecord &&
  fitsOneBatch(measureChanges(worstRecordChanges(zone, ownerId, values, entries)));

/**
 * How many entries of ours a record's registry may hold, live ones and tombstones together: the most that
 * still let the record be rewritten, at maxValuesPerRecord addresses per type, in one ChangeBatch. Beyond it
 * the oldest tombstones are dropped (docs/design.md §5).
 */
export function registryCapacity(zone: ZoneRule, ownerId: string): number {
  let entries = 0;
  while (fitsWorstCase(zone, ownerId, zone.maxValuesPerRecord, entries + 1)) entries += 1;
  return entries;
}

/** Problems that would make some record of this zone unwritable; empty means the configuration is safe. */
export function checkZoneFits(zone: ZoneRule, ownerId: string): string[] {
  const where = `zone ${zone.hostedZoneId} (${zone.suffix})`;
  if (!isValidOwnerId(ownerId)) return [`owner id ${JSON.stringify(ownerId)} is not a valid owner id`];
  const max = zone.maxValuesPerRecord;
  if (!Number.isInteger(max) || max < 1 || max > ROUTE53_LIMITS.valuesPerRecord) {
    return [
      `${where}: maxValuesPerRecord ${max} must be an integer from 1 to ${ROUTE53_LIMITS.valuesPerRecord}`,
    ];
  }
  const problems: string[] = [];
  const longest = txtStringLength(worstEntry(zone, ownerId));
  if (longest > ROUTE53_LIMITS.txtStringLength) {
    problems.push(
      `${where}: a registry string can reach ${longest} characters, over Route 53's ${ROUTE53_LIMITS.txtStringLength}; shorten the owner id`,
    );
  }
  // every live machine needs an entry, and a record that churns needs room for at least as many tombstones
  if (!fitsWorstCase(zone, ownerId, max, max)) {
    let fits = max - 1;
    while (fits > 0 && !fitsWorstCase(zone, ownerId, fits, fits)) fits -= 1;
    const size = measureChanges(worstRecordChanges(zone, ownerId, max, max));
    problems.push(
      `${where}: at maxValuesPerRecord ${max}, rewriting one record (${[...zone.types, 'TXT'].join(', ')}, ` +
        `DELETE+CREATE) can take ${size.elements} elements and ${size.characters} characters, but Route 53 allows ` +
        `${ROUTE53_LIMITS.elementsPerBatch} and ${ROUTE53_LIMITS.charactersPerBatch} per ChangeBatch; ` +
        `set maxValuesPerRecord to at most ${fits}`,
    );
  }
  return problems;
}
