// An in-memory Route 53 with the semantics r53dyn relies on. ListResourceRecordSets lists a hosted zone in
// Route 53's order (labels reversed), in pages of at most 300, from a start name and type. ChangeResourceRecordSets
// is compare-and-swap: CREATE of an existing rrset fails, DELETE must name an existing rrset exactly (TTL and
// values), the ChangeBatch limits hold, and a batch applies entirely or not at all. Failures can be injected per
// request; any other command is an error.
import {
  ChangeResourceRecordSetsCommand,
  InvalidChangeBatch,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandInput,
  NoSuchHostedZone,
  type ResourceRecordSet,
  type RRType,
} from '@aws-sdk/client-route-53';
import { ROUTE53_LIMITS } from '../../handlers/core/contract';
import { measureChanges } from '../../handlers/core/limits';
import type { Change, RecordSet } from '../../handlers/core/model';
import { sdkMetadata as $metadata, FakeClient } from './fake-client';

const PAGE_LIMIT = 300;

/**
 * The key Route 53 lists names by: labels reversed, e.g. `test.example.dyn.web.` for `web.dyn.example.test.`
 * The trailing dot is part of what is compared, so `-` (before `.`) sorts as Route 53 documents.
 */
export function route53NameKey(name: string): string {
  const bare = (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
  return `${bare.split('.').reverse().join('.')}.`;
}

function compareRRsets(a: { Name: string; Type: string }, b: { Name: string; Type: string }): number {
  const ka = route53NameKey(a.Name);
  const kb = route53NameKey(b.Name);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

const keyOf = (rrset: RecordSet) => `${rrset.Name.toLowerCase()}|${rrset.Type}`;
const valuesOf = (rrset: RecordSet) => (rrset.ResourceRecords ?? []).map((record) => record.Value);

function sameRRset(a: RecordSet, b: RecordSet): boolean {
  const sorted = (r: RecordSet) => JSON.stringify([...valuesOf(r)].sort());
  return a.TTL === b.TTL && sorted(a) === sorted(b);
}

function copy(rrset: RecordSet): RecordSet {
  const copied: RecordSet = { Name: rrset.Name.toLowerCase(), Type: rrset.Type };
  if (rrset.TTL !== undefined) copied.TTL = rrset.TTL;
  if (rrset.ResourceRecords) copied.ResourceRecords = valuesOf(rrset).map((Value) => ({ Value }));
  if (rrset.AliasTarget) copied.AliasTarget = { ...rrset.AliasTarget };
  if (rrset.SetIdentifier !== undefined) copied.SetIdentifier = rrset.SetIdentifier;
  return copied;
}

const refusal = (message: string) => new InvalidChangeBatch({ message, $metadata });

export class FakeRoute53 extends FakeClient {
  /** the change batches applied, per zone, in order */
  readonly applied: { zoneId: string; changes: Change[] }[] = [];
  private readonly zones = new Map<string, Map<string, RecordSet>>();
  private changes = 0;

  /** A hosted zone holding these rrsets. */
  createZone(zoneId: string, rrsets: RecordSet[] = []): void {
    this.zones.set(zoneId, new Map(rrsets.map((r) => [keyOf(r), copy(r)])));
  }

  deleteZone(zoneId: string): void {
    this.zones.delete(zoneId);
  }

  /** Every rrset of the zone, in Route 53's order. */
  rrsets(zoneId: string): RecordSet[] {
    return [...this.zone(zoneId).values()].sort(compareRRsets).map(copy);
  }

  protected answer(command: unknown): unknown {
    if (command instanceof ListResourceRecordSetsCommand) return this.list(command.input);
    if (!(command instanceof ChangeResourceRecordSetsCommand)) return undefined;
    const changes = (command.input.ChangeBatch?.Changes ?? []) as Change[];
    this.change(bareId(command.input.HostedZoneId), changes);
    this.changes += 1;
    return { $metadata, ChangeInfo: { Id: `/change/C${this.changes}`, Status: 'PENDING' } };
  }

  /** Applies a ChangeBatch atomically, or throws InvalidChangeBatch as Route 53 does and changes nothing. */
  change(zoneId: string, changes: Change[]): void {
    if (changes.length === 0) throw refusal('ChangeBatch must contain at least one change');
    const size = measureChanges(changes);
    if (
      size.elements > ROUTE53_LIMITS.elementsPerBatch ||
      size.characters > ROUTE53_LIMITS.charactersPerBatch
    ) {
      throw refusal(`ChangeBatch too large: ${size.elements} elements, ${size.characters} characters`);
    }
    const next = new Map(this.zone(zoneId));
    for (const { Action, ResourceRecordSet: rrset } of changes) applyChange(next, Action, rrset);
    this.zones.set(zoneId, next);
    this.applied.push({ zoneId, changes });
  }

  private zone(zoneId: string): Map<string, RecordSet> {
    const zone = this.zones.get(zoneId);
    if (!zone) {
      throw new NoSuchHostedZone({ message: `No hosted zone found with ID: ${zoneId}`, $metadata });
    }
    return zone;
  }

  private list(input: ListResourceRecordSetsCommandInput) {
    const listed = this.rrsets(bareId(input.HostedZoneId));
    if (input.StartRecordType !== undefined && input.StartRecordName === undefined) {
      throw new Error('InvalidInput: StartRecordType requires StartRecordName');
    }
    const pageSize = Math.min(input.MaxItems ?? PAGE_LIMIT, PAGE_LIMIT);
    const start = { Name: input.StartRecordName ?? '', Type: input.StartRecordType ?? '' };
    const from =
      input.StartRecordName === undefined ? 0 : listed.findIndex((r) => compareRRsets(r, start) >= 0);
    const rest = from === -1 ? [] : listed.slice(from);
    const next = rest[pageSize];
    return {
      $metadata,
      ResourceRecordSets: rest.slice(0, pageSize) as ResourceRecordSet[],
      IsTruncated: next !== undefined,
      MaxItems: pageSize,
      ...(next === undefined ? {} : { NextRecordName: next.Name, NextRecordType: next.Type as RRType }),
    };
  }
}

function applyChange(zone: Map<string, RecordSet>, action: Change['Action'], rrset: RecordSet): void {
  const key = keyOf(rrset);
  const held = zone.get(key);
  const named = `[name='${rrset.Name}', type='${rrset.Type}']`;
  if (action === 'CREATE') {
    if (held) throw refusal(`Tried to create resource record set ${named} but it already exists`);
    const count = valuesOf(rrset).length;
    if (count === 0 || count > ROUTE53_LIMITS.valuesPerRecord) {
      throw refusal(`${named} must have 1 to ${ROUTE53_LIMITS.valuesPerRecord} values, not ${count}`);
    }
    zone.set(key, copy(rrset));
    return;
  }
  if (!held) throw refusal(`Tried to delete resource record set ${named} but it was not found`);
  if (!sameRRset(held, rrset)) {
    throw refusal(`Tried to delete resource record set ${named} but the values provided do not match`);
  }
  zone.delete(key);
}

const bareId = (zoneId: string | undefined) => (zoneId ?? '').replace(/^\/hostedzone\//, '');
