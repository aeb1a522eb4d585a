// What else lives at a managed name that would make r53dyn's writes there fail or go unserved
// (docs/route53-name-rules.md). r53dyn writes simple A/AAAA record sets at the record name and one simple
// TXT record set at its registry name, always by DELETE of the exact set read + CREATE. The checks, in
// order; the first one that holds is the answer:
//
//   where                     | what is there                        | why it is a conflict
//   --------------------------+--------------------------------------+------------------------------------------
//   a name above the record   | NS (a delegation)                    | the record belongs to the delegated zone
//   record, then registry     | NS (a delegation)                    | likewise, at the name itself
//   record, then registry     | CNAME                                | Route 53 allows nothing beside a CNAME
//   record (A, AAAA),         | several sets of one type, or a set   | Route 53 allows no simple set beside
//     registry (TXT)          |   with a SetIdentifier               |   routing-policy sets of that type
//   record (A, AAAA),         | an alias of that type                | Route 53 holds one simple set per name
//     registry (TXT)          |                                      |   and type, alias or not
//
// Anything else beside them (an MX or TXT at the record, an A at the registry, records of other names,
// delegations elsewhere in the zone) is no conflict: a neighbour's trouble is not ours.
import type { ReasonCode } from './contract';
import type { RecordSet } from './model';

/** The code every reason of this module starts with (handlers/core/contract.ts). */
export const NAME_CONFLICT: ReasonCode = 'name-conflict';

/**
 * A record set as read from Route 53. SetIdentifier and AliasTarget are optional: without them a routing
 * policy shows as several sets of one type and an alias as a set without ResourceRecords.
 */
export type ReadRecordSet = RecordSet;

/** What was read at and around one managed record. Names are fully qualified, with the trailing dot. */
export interface NameView {
  /** the managed record, e.g. `web.dyn.example.com.` */
  record: string;
  /** its registry name, `_r53dyn.web.dyn.example.com.` */
  registry: string;
  /** every record set at the record name, of every type */
  atRecord: ReadRecordSet[];
  /** every record set at the registry name, of every type (a read that starts at TXT misses a CNAME) */
  atRegistry: ReadRecordSet[];
  /** names strictly between the record and the zone apex that hold an NS record set */
  delegations?: string[];
}

export type NameRuleId =
  | 'below-delegation'
  | 'delegation-at-name'
  | 'cname-alone'
  | 'routing-policy'
  | 'alias';

export interface NameRule {
  id: NameRuleId;
  description: string;
  docUrl: string;
  /**
   * Whether Route 53 itself refuses r53dyn's write with InvalidChangeBatch (and the LocalStack start hook
   * infra/local/hooks/route53-name-rules.py does likewise), or only would not serve what r53dyn wrote.
   */
  route53Refuses: boolean;
}

/** The rules findNameConflict checks, in the order it checks them. */
export const NAME_RULES: readonly NameRule[] = [
  {
    id: 'below-delegation',
    description:
      'A name below an NS delegation belongs to the delegated zone: records written for it in this zone are not served.',
    docUrl: 'https://www.rfc-editor.org/rfc/rfc1034#section-4.2.1',
    route53Refuses: false,
  },
  {
    id: 'delegation-at-name',
    description:
      'A name with an NS record set below the zone apex is a delegation: its other records are not served from this zone.',
    docUrl: 'https://www.rfc-editor.org/rfc/rfc1034#section-4.2.1',
    route53Refuses: false,
  },
  {
    id: 'cname-alone',
    description:
      'A CNAME allows no record of another type at its name, and no CNAME can be created where other records exist.',
    docUrl: 'https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html#CNAMEFormat',
    route53Refuses: true,
  },
  {
    id: 'routing-policy',
    description:
      'Record sets with a routing policy (a SetIdentifier) and a simple record set cannot share a name and type.',
    docUrl: 'https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html',
    route53Refuses: true,
  },
  {
    id: 'alias',
    description:
      'A name holds one simple record set per type, alias or not: a value record set cannot be created beside an alias of its type.',
    docUrl:
      'https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-choosing-alias-non-alias.html',
    route53Refuses: true,
  },
];

/** The record types r53dyn writes at the record name. */
const RECORD_TYPES = ['A', 'AAAA'] as const;
/** The record type r53dyn writes at the registry name. */
const REGISTRY_TYPES = ['TXT'] as const;

/** Why r53dyn cannot manage this record, or undefined when nothing at or above it is in the way. */
export function findNameConflict(view: NameView): string | undefined {
  const above = highestDelegationAbove(view.record, view.delegations ?? []);
  if (above !== undefined) {
    return `${NAME_CONFLICT}: ${view.record} is below ${above}, which has an NS record (a delegation), and records at or below a delegation are not served from this zone`;
  }
  return (
    conflictAt(view.record, view.atRecord, RECORD_TYPES) ??
    conflictAt(view.registry, view.atRegistry, REGISTRY_TYPES)
  );
}

function conflictAt(name: string, read: ReadRecordSet[], written: readonly string[]): string | undefined {
  const here = read.filter((rrset) => sameName(rrset.Name, name));
  if (here.some((rrset) => rrset.Type === 'NS')) {
    return `${NAME_CONFLICT}: ${name} has an NS record (a delegation), and records at or below a delegation are not served from this zone`;
  }
  if (here.some((rrset) => rrset.Type === 'CNAME')) {
    return `${NAME_CONFLICT}: ${name} has a CNAME record, and Route 53 allows no other record beside a CNAME`;
  }
  for (const type of written) {
    const sets = here.filter((rrset) => rrset.Type === type);
    if (sets.length > 1 || sets.some((rrset) => rrset.SetIdentifier !== undefined)) {
      return `${NAME_CONFLICT}: ${name} has ${type} record sets with a routing policy, and Route 53 allows no simple ${type} record set beside them`;
    }
  }
  for (const type of written) {
    if (here.some((rrset) => rrset.Type === type && isAlias(rrset))) {
      return `${NAME_CONFLICT}: ${name} has an alias ${type} record, and Route 53 allows one ${type} record set per name, alias or not`;
    }
  }
  return undefined;
}

function isAlias(rrset: ReadRecordSet): boolean {
  return rrset.AliasTarget !== undefined || (rrset.ResourceRecords ?? []).length === 0;
}

/** The delegation closest to the apex among those that hold the record (everything below it is delegated). */
function highestDelegationAbove(record: string, delegations: string[]): string | undefined {
  const name = canonical(record);
  const above = delegations.filter((delegation) => name.endsWith(`.${canonical(delegation)}`));
  return above.sort((a, b) => canonical(a).length - canonical(b).length)[0];
}

function sameName(a: string, b: string): boolean {
  return canonical(a) === canonical(b);
}

function canonical(name: string): string {
  return (name.endsWith('.') ? name : `${name}.`).toLowerCase();
}
