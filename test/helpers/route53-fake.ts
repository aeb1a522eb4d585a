// A stateful stand-in for one Route 53 hosted zone that enforces the change semantics r53dyn relies on:
// CREATE of an existing rrset fails, DELETE must name an existing rrset exactly (TTL and values), the
// batch limits hold, and a batch applies entirely or not at all.
import { measureChanges, ROUTE53_LIMITS } from '../../handlers/core/limits';
import type { Change, RecordSet } from '../../handlers/core/model';

export class InvalidChangeBatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidChangeBatch';
  }
}

const keyOf = (rrset: RecordSet) => `${rrset.Name.toLowerCase()}|${rrset.Type}`;
const valuesOf = (rrset: RecordSet) => (rrset.ResourceRecords ?? []).map((record) => record.Value);
const sorted = (values: string[]) => [...values].sort();

function sameRRset(a: RecordSet, b: RecordSet): boolean {
  return a.TTL === b.TTL && JSON.stringify(sorted(valuesOf(a))) === JSON.stringify(sorted(valuesOf(b)));
}

function copy(rrset: RecordSet): RecordSet {
  return {
    Name: rrset.Name.toLowerCase(),
    Type: rrset.Type,
    TTL: rrset.TTL,
    ResourceRecords: valuesOf(rrset).map((Value) => ({ Value })),
  };
}

export class Route53Fake {
  private readonly rrsets = new Map<string, RecordSet>();
  readonly batches: Change[][] = [];

  constructor(initial: RecordSet[] = []) {
    for (const rrset of initial) this.rrsets.set(keyOf(rrset), copy(rrset));
  }

  /** Like ListResourceRecordSets: every rrset, in name then type order. */
  list(): RecordSet[] {
    return [...this.rrsets.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, rrset]) => copy(rrset));
  }

  changeResourceRecordSets(changes: Change[]): void {
    if (changes.length === 0) throw new InvalidChangeBatch('empty ChangeBatch');
    const size = measureChanges(changes);
    if (
      size.elements > ROUTE53_LIMITS.elementsPerBatch ||
      size.characters > ROUTE53_LIMITS.charactersPerBatch
    ) {
      throw new InvalidChangeBatch(
        `ChangeBatch too large: ${size.elements} elements, ${size.characters} characters`,
      );
    }
    // Work on a copy so that a failing change leaves the zone as it was.
    const next = new Map(this.rrsets);
    for (const { Action, ResourceRecordSet: rrset } of changes) {
      const key = keyOf(rrset);
      const held = next.get(key);
      if (Action === 'CREATE') {
        if (held)
          throw new InvalidChangeBatch(`Tried to create resource record set ${key} but it already exists`);
        if (valuesOf(rrset).length === 0 || valuesOf(rrset).length > ROUTE53_LIMITS.valuesPerRecord) {
          throw new InvalidChangeBatch(`${key} must have 1 to ${ROUTE53_LIMITS.valuesPerRecord} values`);
        }
        next.set(key, copy(rrset));
      } else {
        if (!held)
          throw new InvalidChangeBatch(`Tried to delete resource record set ${key} but it was not found`);
        if (!sameRRset(held, rrset)) {
          throw new InvalidChangeBatch(
            `Tried to delete resource record set ${key} but the values provided do not match`,
          );
        }
        next.delete(key);
      }
    }
    this.rrsets.clear();
    for (const [key, rrset] of next) this.rrsets.set(key, rrset);
    this.batches.push(changes);
  }
}
