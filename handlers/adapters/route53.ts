// The Route 53 reads r53dyn makes. Writes happen only in the workflow.
import { ListResourceRecordSetsCommand, type Route53Client, type RRType } from '@aws-sdk/client-route-53';
import type { RecordSet } from '../core/model';

function toRecordSet(r: {
  Name?: string;
  Type?: string;
  TTL?: number;
  ResourceRecords?: { Value?: string }[];
}) {
  const set: RecordSet = { Name: r.Name ?? '', Type: r.Type ?? '' };
  if (r.TTL !== undefined) set.TTL = r.TTL;
  if (r.ResourceRecords) set.ResourceRecords = r.ResourceRecords.map((v) => ({ Value: v.Value ?? '' }));
  return set;
}

/** Every rrset of one name (and type, when given), reading no further than that name. */
async function listName(
  client: Route53Client,
  zoneId: string,
  name: string,
  type?: RRType,
): Promise<RecordSet[]> {
  const out = await client.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      StartRecordName: name,
      StartRecordType: type,
      // two, so that a second registry rrset (a routing policy on it) is seen and refused
      MaxItems: type ? 2 : 10,
    }),
  );
  return (out.ResourceRecordSets ?? [])
    .map(toRecordSet)
    .filter((r) => r.Name === name && (!type || r.Type === type));
}

/** The A, AAAA and registry TXT rrsets of the given records: two small reads per record. */
export async function readRecords(
  client: Route53Client,
  zoneId: string,
  names: string[],
): Promise<RecordSet[]> {
  const reads = names.flatMap((name) => [
    listName(client, zoneId, name),
    listName(client, zoneId, `_r53dyn.${name}`, 'TXT'),
  ]);
  return (await Promise.all(reads)).flat();
}

/** The whole zone, for sweeps and instance state changes that may touch any record. */
export async function readZone(client: Route53Client, zoneId: string): Promise<RecordSet[]> {
  const sets: RecordSet[] = [];
  let start: { name?: string; type?: RRType; identifier?: string } = {};
  for (;;) {
    const out = await client.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: start.name,
        StartRecordType: start.type,
        StartRecordIdentifier: start.identifier,
        MaxItems: 300,
      }),
    );
    sets.push(...(out.ResourceRecordSets ?? []).map(toRecordSet));
    if (!out.IsTruncated) return sets;
    start = { name: out.NextRecordName, type: out.NextRecordType, identifier: out.NextRecordIdentifier };
  }
}
