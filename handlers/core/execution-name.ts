// The Step Functions execution name of a zone part. StartExecution with a name already used returns the
// existing execution (same input) or fails (other input), so a redelivered SQS batch that plans the same
// changes from the same messages can never apply them twice (SPEC §4).
import { createHash } from 'node:crypto';
import type { ZonePart } from './plan';

const MAX_LENGTH = 80;
const HASH_LENGTH = 32;

export function executionName(part: ZonePart): string {
  // A canonical form, so that the hash does not depend on how the objects were assembled.
  const changes = part.changes.map(({ Action, ResourceRecordSet: rrset }) => [
    Action,
    rrset.Name,
    rrset.Type,
    rrset.TTL ?? null,
    (rrset.ResourceRecords ?? []).map((record) => record.Value),
  ]);
  const messageIds = [...new Set(part.messageIds)].sort();
  const hash = createHash('sha256')
    .update(JSON.stringify([part.hostedZoneId, part.index, part.count, changes, messageIds]))
    .digest('hex')
    .slice(0, HASH_LENGTH);

  const partLabel = `p${part.index}of${part.count}`;
  const zone = part.hostedZoneId.replace(/^\/?hostedzone\//, '').replace(/[^A-Za-z0-9_-]/g, '_');
  const room = MAX_LENGTH - partLabel.length - hash.length - 2;
  return `${zone.slice(0, room)}-${partLabel}-${hash}`;
}
