// The Route 53 reads r53dyn makes (writes happen only in the workflow). A round reads either the records it
// names (one call each, plus the zone's gone list) or the whole zone (300 rrsets a call), whichever takes fewer
// calls (docs/design.md §4.2, "cheap reads").
import { ListResourceRecordSetsCommand, type Route53Client, type RRType } from '@aws-sdk/client-route-53';
import type { RecordSet } from '../core/model';
import { nameKey } from '../core/record-state';
import { goneListName, registryName } from '../core/registry';

const PAGE = 300;
const PER_NAME_ITEMS = 10;

function toRecordSet(r: {
  Name?: string;
  Type?: string;
  TTL?: number;
  ResourceRecords?: { Value?: string }[];
}) {
  const set: RecordSet = { Name: r.Name ?? '', Type: r.Type ?? '' };
  if (r.TTL !== undefined) set.TTL = r.TTL;
  if (r.ResourceRecords) set.ResourceRecords = r.ResourceRecords.map((v) => ({ Value: v.Value ?? '' }));
  // an alias or a routing-policy set is kept recognisable, so that it is refused rather than rewritten
  const extra = r as { AliasTarget?: { DNSName?: string }; SetIdentifier?: string };
  if (extra.AliasTarget !== undefined) set.AliasTarget = { DNSName: extra.AliasTarget.DNSName ?? '' };
  if (extra.SetIdentifier !== undefined) set.SetIdentifier = extra.SetIdentifier;
  return set;
}

async function list(
  client: Route53Client,
  zoneId: string,
  start: { name?: string; type?: RRType; identifier?: string },
  maxItems: number,
) {
  const out = await client.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      StartRecordName: start.name,
      StartRecordType: start.type,
      StartRecordIdentifier: start.identifier,
      MaxItems: maxItems,
    }),
  );
  return {
    sets: (out.ResourceRecordSets ?? []).map(toRecordSet),
    next: out.IsTruncated
      ? { name: out.NextRecordName, type: out.NextRecordType, identifier: out.NextRecordIdentifier }
      : undefined,
  };
}

/**
 * The rrsets at a record's name and at its registry name. Route 53 lists a name's own rrsets, then its
 * children, so the registry (`_r53dyn.<name>`) is nearly always on the same page; when the page ends before it,
 * a second call reads it.
 */
async function readRecord(client: Route53Client, zoneId: string, name: string): Promise<RecordSet[]> {
  const registry = nameKey(registryName(name));
  const page = await list(client, zoneId, { name }, PER_NAME_ITEMS);
  const wanted = page.sets.filter((r) => [nameKey(name), registry].includes(nameKey(r.Name)));
  if (!page.next || wanted.some((r) => nameKey(r.Name) === registry)) return wanted;
  const rest = await list(client, zoneId, { name: registry }, PER_NAME_ITEMS);
  return [...wanted, ...rest.sets.filter((r) => nameKey(r.Name) === registry)];
}

export async function readRecords(
  client: Route53Client,
  zoneId: string,
  names: string[],
  suffix: string,
): Promise<RecordSet[]> {
  const goneList = goneListName(suffix);
  const reads = [
    ...names.map((name) => readRecord(client, zoneId, name)),
    list(client, zoneId, { name: goneList, type: 'TXT' }, 1).then((page) =>
      page.sets.filter((r) => nameKey(r.Name) === nameKey(goneList)),
    ),
  ];
  return (await Promise.all(reads)).flat();
}

export async function readZone(client: Route53Client, zoneId: string): Promise<RecordSet[]> {
  const sets: RecordSet[] = [];
  let start: { name?: string; type?: RRType; identifier?: string } = {};
  for (;;) {
    const page = await list(client, zoneId, start, PAGE);
    sets.push(...page.sets);
    if (!page.next) return sets;
    start = page.next;
  }
}

/** What a warm planner remembers of each zone's size from its last whole read. */
const zoneSizes = new Map<string, number>();

/**
 * The cheaper read: per name (one call each, and one for the gone list) or the whole zone (one call per 300
 * rrsets). A zone whose size is not known yet is read whole once when that cannot cost much more.
 */
export function shouldReadWholeZone(zoneId: string, names: number, known = zoneSizes): boolean {
  const perName = names + 1;
  const size = known.get(zoneId);
  if (size === undefined) return perName >= 3;
  return Math.ceil(Math.max(1, size) / PAGE) <= perName;
}

export async function readForRound(
  client: Route53Client,
  zoneId: string,
  suffix: string,
  read: { wholeZone: boolean; names: string[] },
): Promise<{ rrsets: RecordSet[]; wholeZone: boolean; calls: number }> {
  if (read.wholeZone || shouldReadWholeZone(zoneId, read.names.length)) {
    const rrsets = await readZone(client, zoneId);
    zoneSizes.set(zoneId, rrsets.length);
    return { rrsets, wholeZone: true, calls: Math.max(1, Math.ceil(rrsets.length / PAGE)) };
  }
  return {
    rrsets: await readRecords(client, zoneId, read.names, suffix),
    wholeZone: false,
    calls: read.names.length + 1,
  };
}
