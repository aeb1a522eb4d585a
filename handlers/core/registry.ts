// The ownership registry codec: one quoted TXT string per owner entry, kept beside each record
// under `_r53dyn.<record>`, so Route 53 itself is the only database (docs/design.md §3.3).
//
//   "r53dyn=1;o=<ownerId>;i=<instanceId>[;4=<ipv4>][;6=<ipv6>];t=<ms>;s=up|gone"
//
// The field order is fixed: a string is ours only if it re-encodes to exactly itself, so anything else
// (another stack's entries, a hand-written note, a future version) is kept verbatim as foreign.

import { GONE_LIST_LABEL, OWNER_ID_PATTERN, OWNER_ID_RULE, REGISTRY_PREFIX } from './contract';

export interface OwnerEntry {
  instanceId: string;
  ipv4?: string;
  ipv6?: string;
  t: number;
  state: 'up' | 'gone';
}

const OWNER = OWNER_ID_PATTERN.source.replace(/^\^|\$$/g, '');
const ENTRY = new RegExp(
  `^"r53dyn=1;o=(${OWNER});i=([A-Za-z0-9-]+)(?:;4=([0-9.]+))?(?:;6=([0-9a-f:.]+))?;t=(0|[1-9][0-9]{0,15});s=(up|gone)"$`,
);

/** The registry TXT name for a record: `_r53dyn.web.dyn.example.test.` for `web.dyn.example.test.`. */
export function registryName(record: string): string {
  return `${REGISTRY_PREFIX}${record}`;
}

/** The TXT that lists a zone's recently gone instances (docs/design.md §3.4). */
export function goneListName(suffix: string): string {
  return registryName(`${GONE_LIST_LABEL}.${suffix}.`);
}

export function isValidOwnerId(ownerId: string): boolean {
  return OWNER_ID_PATTERN.test(ownerId);
}

export function encodeOwnerEntry(ownerId: string, entry: OwnerEntry): string {
  // A `;` or `"` in the owner id would make every entry of the stack unreadable, so refuse early.
  if (!isValidOwnerId(ownerId))
    throw new Error(`invalid owner id ${JSON.stringify(ownerId)}: ${OWNER_ID_RULE}`);
  const fields = [`r53dyn=1`, `o=${ownerId}`, `i=${entry.instanceId}`];
  if (entry.ipv4 !== undefined) fields.push(`4=${entry.ipv4}`);
  if (entry.ipv6 !== undefined) fields.push(`6=${entry.ipv6}`);
  fields.push(`t=${entry.t}`, `s=${entry.state}`);
  return `"${fields.join(';')}"`;
}

function decodeEntry(value: string): { ownerId: string; entry: OwnerEntry } | undefined {
  const match = ENTRY.exec(value);
  if (!match) return undefined;
  const [, ownerId = '', instanceId = '', ipv4, ipv6, t = '', state] = match;
  const entry: OwnerEntry = { instanceId, t: Number(t), state: state === 'gone' ? 'gone' : 'up' };
  if (ipv4 !== undefined) entry.ipv4 = ipv4;
  if (ipv6 !== undefined) entry.ipv6 = ipv6;
  if (!Number.isSafeInteger(entry.t)) return undefined;
  return { ownerId, entry };
}

/**
 * Last writer wins per instance. Ties on `t` go to the tombstone (a deregister sent in the same
 * millisecond as a heartbeat must not be undone), then to the larger encoding, so that merging is
 * commutative, associative and idempotent: the fold does not depend on arrival order or duplicates.
 */
export function newerEntry(a: OwnerEntry, b: OwnerEntry): OwnerEntry {
  if (a.t !== b.t) return a.t > b.t ? a : b;
  if (a.state !== b.state) return a.state === 'gone' ? a : b;
  const ka = entryKey(a);
  const kb = entryKey(b);
  return ka >= kb ? a : b;
}

function entryKey(entry: OwnerEntry): string {
  return `${entry.instanceId};${entry.ipv4 ?? ''};${entry.ipv6 ?? ''}`;
}

/** Keeps one entry per instance (the newest) and orders by instance id, the order they are written in. */
export function mergeEntries(entries: Iterable<OwnerEntry>): OwnerEntry[] {
  const byInstance = new Map<string, OwnerEntry>();
  for (const entry of entries) {
    const held = byInstance.get(entry.instanceId);
    byInstance.set(entry.instanceId, held ? newerEntry(held, entry) : entry);
  }
  return [...byInstance.values()].sort((a, b) => compareText(a.instanceId, b.instanceId));
}

export function decodeRegistry(
  values: string[],
  ownerId: string,
): { entries: OwnerEntry[]; foreign: string[] } {
  const ours: OwnerEntry[] = [];
  const foreign: string[] = [];
  for (const value of values) {
    const decoded = decodeEntry(value);
    // Only a string that re-encodes to itself is ours: a near miss is preserved rather than rewritten.
    if (decoded && decoded.ownerId === ownerId && encodeOwnerEntry(ownerId, decoded.entry) === value) {
      ours.push(decoded.entry);
    } else {
      foreign.push(value);
    }
  }
  return { entries: mergeEntries(ours), foreign };
}

/** Code-unit order, independent of the host's locale. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
