// The sweep scenario's zone: `records` names below sweep.bench.test, each served by one machine, with its
// registry, written once through an observer (not counted, not throttled). LocalStack keeps it while it runs, so
// a second benchmark on the same LocalStack finds it filled.
import { ChangeResourceRecordSetsCommand, GetHostedZoneCommand } from '@aws-sdk/client-route-53';
import { encodeOwnerEntry } from '../../handlers/core/registry';
import { emptyZone, observers } from './measure';

const SUFFIX = 'sweep.bench.test';
const OWNER = 'r53dyn-bench';
/** records a ChangeBatch: 2 CREATEs each, well within 1000 elements and 32,000 characters */
const PER_BATCH = 250;

const ipv4 = (n: number) => `52.${1 + Math.floor(n / 62_500)}.${Math.floor(n / 250) % 250}.${1 + (n % 250)}`;

function changesFor(first: number, last: number, t: number) {
  const changes = [];
  for (let n = first; n < last; n += 1) {
    const name = `host-${n}.${SUFFIX}.`;
    const entry = {
      instanceId: `i-${n.toString(16).padStart(17, '0')}`,
      t,
      state: 'up' as const,
      ipv4: ipv4(n),
    };
    changes.push(
      {
        Action: 'CREATE' as const,
        ResourceRecordSet: { Name: name, Type: 'A' as const, TTL: 60, ResourceRecords: [{ Value: ipv4(n) }] },
      },
      {
        Action: 'CREATE' as const,
        ResourceRecordSet: {
          Name: `_r53dyn.${name}`,
          Type: 'TXT' as const,
          TTL: 60,
          ResourceRecords: [{ Value: encodeOwnerEntry(OWNER, entry) }],
        },
      },
    );
  }
  return changes;
}

/** Fills the zone up to `records` records (2 rrsets each) unless it already holds them. */
export async function fillSweepZone(
  zoneId: string,
  records: number,
  say: (line: string) => void,
): Promise<void> {
  const zone = await observers.route53.send(new GetHostedZoneCommand({ Id: zoneId }));
  const held = Math.floor(((zone.HostedZone?.ResourceRecordSetCount ?? 2) - 2) / 2);
  if (held >= records) return;
  if (held > 0) await emptyZone(zoneId); // filled part way by an interrupted run: start again
  const start = 0;
  say(`filling the sweep zone with ${records} records (once per LocalStack start; it takes a while)`);
  const t = Date.now();
  let lastNote = Date.now();
  for (let n = start; n < records; n += PER_BATCH) {
    const changes = changesFor(n, Math.min(records, n + PER_BATCH), t);
    await observers.route53.send(
      new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }),
    );
    if (Date.now() - lastNote > 10_000) {
      lastNote = Date.now();
      say(`  ${n + PER_BATCH} of ${records} records`);
    }
  }
}
