// What the previous execution for a zone's deltas tells the planner (docs/design.md §4.5). The deltas stay on
// the zone queue until the workflow deletes them; when they come back, the planner looks up the execution it
// started for them last time and turns its end into verdicts: retry (up to the attempt bound, then dead-letter
// with the code), refuse (dead-letter now), or isolate (write each record in its own ChangeBatch to find the
// one Route 53 refuses).
import { REGISTRY_PREFIX, reason } from './contract';

export interface PreviousExecution {
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  error?: string;
  cause?: string;
}

/** Which records a verdict is about: all of the round's, or these relative names. */
export type Scope = { zone: true } | { records: ReadonlySet<string> };

export type Verdict =
  | { kind: 'retry'; scope: Scope; reason: string }
  | { kind: 'refuse'; scope: Scope; reason: string }
  | { kind: 'isolate'; scope: { records: ReadonlySet<string> } };

/** The workflow's own error names (docs/design.md §8.3). */
export const WORKFLOW_ERRORS = {
  settingsUnavailable: 'SettingsUnavailable',
  recordNotAllowed: 'RecordNotAllowed',
  partsFailed: 'PartsFailed',
  notInSync: 'NotInSync',
} as const;

/** One failed ChangeBatch, as the workflow reports it in a PartsFailed cause. */
export interface PartFailure {
  records: string[];
  error: string;
  cause: string;
}

const zone: Scope = { zone: true };
const records = (names: Iterable<string>): { records: ReadonlySet<string> } => ({ records: new Set(names) });

// Route 53's InvalidChangeBatch texts for a compare-and-swap precondition that failed: someone else wrote. A
// name conflict also says "already exists" ("... a conflicting RRSet of type CNAME with the same DNS name
// already exists in zone ..."; docs/route53-name-rules.md): only the precondition's own sentence counts.
const CONFLICT =
  /Tried to create resource record set \[[^\]]*\] but it already exists|Tried to delete resource record set \[[^\]]*\] but (it was not found|the values provided do not match)/i;
// Route 53 names the rrsets it refuses as [name='x.', type='A'] or "DNS name x."
const NAMED = /name='([^']+)'|DNS name ([^\s,]+?)\.?(?:\s|,|$)/g;
const TRANSIENT =
  /Throttl|PriorRequestNotComplete|TooManyRequests|InternalServerError|ServiceUnavailable|InternalError|RequestLimitExceeded/;
// An error the service's API model does not define reaches the workflow as `<Service>.<Service>Exception`: Route
// 53's Throttling and AccessDenied among them. Its cause, `<message> (Service: …, Status Code: <n>, …)`, tells.
const UNMODELED = /^(\w+)\.\1Exception$/;
const STATUS_CODE = /Status Code: (\d{3})/;
const THROTTLED_TEXT = /Throttl|Rate exceeded|TooManyRequests|SlowDown/i;
const DENIED_TEXT = /AccessDenied|not authorized/i;

export function verdictsOf(previous: PreviousExecution, suffix: string): Verdict[] {
  const detail = `execution ${previous.name} ended ${previous.status}`;
  switch (previous.status) {
    case 'SUCCEEDED':
    case 'RUNNING':
    case 'PENDING_REDRIVE':
      return [];
    case 'TIMED_OUT':
    case 'ABORTED':
      return [
        { kind: 'retry', scope: zone, reason: reason('workflow-error', `${detail} before it finished`) },
      ];
    default:
      return failedVerdicts(previous.error ?? '', previous.cause ?? '', detail, suffix);
  }
}

function failedVerdicts(error: string, cause: string, detail: string, suffix: string): Verdict[] {
  if (error === WORKFLOW_ERRORS.partsFailed) {
    return parseParts(cause).flatMap((part) => partVerdicts(part, detail, suffix));
  }
  if (error === WORKFLOW_ERRORS.recordNotAllowed) {
    const named = parseRecordList(cause);
    const why = reason('record-not-allowed', `the workflow refused it: ${cause}`);
    return [{ kind: 'refuse', scope: named ? records(named) : zone, reason: why }];
  }
  if (error === WORKFLOW_ERRORS.settingsUnavailable || /ParameterNotFound/.test(error)) {
    return [{ kind: 'retry', scope: zone, reason: reason('settings-unavailable', `${detail}: ${cause}`) }];
  }
  return [classified(error, cause, detail, zone)];
}

function classified(error: string, cause: string, detail: string, scope: Scope): Verdict {
  const said = `${detail}: ${error}: ${cause}`;
  if (/NoSuchHostedZone/.test(error)) return { kind: 'refuse', scope, reason: reason('zone-missing', said) };
  if (/AccessDenied|NotAuthorized|UnauthorizedOperation/.test(error)) {
    return { kind: 'refuse', scope, reason: reason('access-denied', said) };
  }
  if (/InvalidInput/.test(error)) return { kind: 'refuse', scope, reason: reason('invalid-change', said) };
  if (/InvalidChangeBatch/.test(error)) {
    return CONFLICT.test(cause)
      ? { kind: 'retry', scope, reason: reason('write-conflict', said) }
      : { kind: 'refuse', scope, reason: reason('invalid-change', said) };
  }
  if (TRANSIENT.test(error)) return { kind: 'retry', scope, reason: reason('retries-exhausted', said) };
  if (UNMODELED.test(error)) return unmodeled(cause, said, scope);
  return { kind: 'refuse', scope, reason: reason('workflow-error', said) };
}

function unmodeled(cause: string, said: string, scope: Scope): Verdict {
  const status = Number(STATUS_CODE.exec(cause)?.[1] ?? 0);
  if (status === 403 || DENIED_TEXT.test(cause)) {
    return { kind: 'refuse', scope, reason: reason('access-denied', said) };
  }
  if (status === 429 || status >= 500 || THROTTLED_TEXT.test(cause)) {
    return { kind: 'retry', scope, reason: reason('retries-exhausted', said) };
  }
  return { kind: 'refuse', scope, reason: reason('workflow-error', said) };
}

/**
 * A failed ChangeBatch is about its own records. When Route 53 refused it for a reason about names and the
 * part held several records, the ones Route 53 names are refused, or, when it names none of them, each is
 * written alone next time so that the one at fault shows itself (docs/design.md §4.5).
 */
function partVerdicts(part: PartFailure, detail: string, suffix: string): Verdict[] {
  const verdict = classified(part.error, part.cause, detail, records(part.records));
  // Only Route 53 refusing a name (invalid-change) is about one record; a missing zone or a denied call is about
  // every record of the part, so it is refused at once rather than written record by record.
  const aboutNames = verdict.kind === 'refuse' && verdict.reason.startsWith('invalid-change');
  if (!aboutNames || part.records.length <= 1) return [verdict];
  const named = namesIn(part.cause, suffix).filter((name) => part.records.includes(name));
  if (named.length > 0) return [{ ...verdict, scope: records(named) }];
  return [{ kind: 'isolate', scope: records(part.records) }];
}

/** The relative record names an error text mentions (a registry name counts as its record's). */
export function namesIn(text: string, suffix: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(NAMED)) {
    let name = (match[1] ?? match[2] ?? '').toLowerCase().replace(/\.$/, '');
    if (name.startsWith(REGISTRY_PREFIX)) name = name.slice(REGISTRY_PREFIX.length);
    if (name.endsWith(`.${suffix}`)) found.add(name.slice(0, -suffix.length - 1));
  }
  return [...found];
}

function parseParts(cause: string): PartFailure[] {
  try {
    const parsed: unknown = JSON.parse(cause);
    if (!Array.isArray(parsed)) return [];
    return parsed.flatMap((p): PartFailure[] => {
      if (typeof p !== 'object' || p === null) return [];
      const { records: names, error, cause: said } = p as Record<string, unknown>;
      const list = Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
      return [{ records: list, error: String(error ?? ''), cause: String(said ?? '') }];
    });
  } catch {
    return [];
  }
}

function parseRecordList(cause: string): string[] | undefined {
  try {
    const parsed = JSON.parse(cause) as { records?: unknown };
    return Array.isArray(parsed.records)
      ? parsed.records.filter((n): n is string => typeof n === 'string')
      : undefined;
  } catch {
    return undefined;
  }
}
