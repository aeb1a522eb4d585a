// DNS names as r53dyn accepts them: plain lower-case LDH labels (plus `_`), nothing Route 53 would
// read differently from us. Route 53 treats `*` as a wildcard and `\ooo` as an octal escape, so a name
// holding either could write a record other than the one that was validated.
import { REGISTRY_LABEL } from './contract';
import type { Allowlist, ZoneRule } from './model';

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/;
// Checked after control characters, so whatever falls outside printable ASCII here is non-ASCII.
const nonAscii = /[^ -~]/;

const maxNameOctets = 253;
const maxLabelOctets = 63;
// The registry TXT lives at `_r53dyn.<record>`, which must itself be a valid name.
const maxRecordOctets = maxNameOctets - REGISTRY_LABEL.length - 1;

export type NameProblemCode = 'bad-record-name' | 'reserved-record-name';

export interface NameProblem {
  code: NameProblemCode;
  detail: string;
}

export type NameResult = { ok: true; name: string } | { ok: false; problem: NameProblem };

/** A record name, lower case with a trailing dot, or why it cannot be managed. */
export function normaliseRecordName(raw: string): NameResult {
  const checked = checkName(raw, maxRecordOctets, ' (253 less room for the _r53dyn. registry prefix)');
  if (!checked.ok) return checked;
  if (checked.name.startsWith(REGISTRY_LABEL)) {
    return reject(
      'reserved-record-name',
      `starts with ${REGISTRY_LABEL}: first labels starting so are reserved for r53dyn's own records`,
    );
  }
  return { ok: true, name: `${checked.name}.` };
}

/** A zone suffix, lower case without a trailing dot, or why it is not a valid name. */
export function normaliseZoneSuffix(raw: string): NameResult {
  return checkName(raw, maxNameOctets, '');
}

function checkName(raw: string, maxOctets: number, limitNote: string): NameResult {
  if (controlCharacter.test(raw)) return reject('bad-record-name', 'contains a control character');
  if (raw.includes('*')) return reject('bad-record-name', 'contains a wildcard (*)');
  if (raw.includes('\\')) return reject('bad-record-name', 'contains an escape (\\)');
  if (nonAscii.test(raw)) {
    return reject(
      'bad-record-name',
      'contains non-ASCII characters; write internationalised labels in punycode (xn--)',
    );
  }
  const name = (raw.endsWith('.') ? raw.slice(0, -1) : raw).toLowerCase();
  if (name === '') return reject('bad-record-name', 'is empty');
  if (name.length > maxOctets) {
    return reject('bad-record-name', `is longer than ${maxOctets} octets${limitNote}`);
  }
  for (const label of name.split('.')) {
    const problem = labelProblem(label);
    if (problem !== undefined) return reject('bad-record-name', problem);
  }
  return { ok: true, name };
}

function labelProblem(label: string): string | undefined {
  if (label === '') return 'has an empty label';
  if (label.length > maxLabelOctets) return `has a label longer than ${maxLabelOctets} octets`;
  if (!/^[a-z0-9_-]+$/.test(label)) return `label "${label}" has characters outside a-z, 0-9, - and _`;
  if (label.startsWith('-') || label.endsWith('-')) return `label "${label}" starts or ends with a hyphen`;
  return undefined;
}

function reject(code: NameProblemCode, detail: string): NameResult {
  return { ok: false, problem: { code, detail } };
}

/**
 * The zone a normalised record belongs to: the record must be strictly below the suffix on a label
 * boundary, and the longest matching suffix wins (a delegated sub-zone beats its parent).
 */
export function zoneForRecord(allowlist: Allowlist, fqdn: string): ZoneRule | undefined {
  const name = withoutTrailingDot(fqdn);
  let best: ZoneRule | undefined;
  for (const zone of allowlist.zones) {
    if (name.endsWith(`.${zone.suffix}`) && zone.suffix.length > (best?.suffix.length ?? -1)) best = zone;
  }
  return best;
}

/** The labels of a record below its zone, without trailing dot: `web` or `a.b`. */
export function relativeName(fqdn: string, zone: ZoneRule): string {
  const name = withoutTrailingDot(fqdn);
  if (!name.endsWith(`.${zone.suffix}`)) throw new RangeError(`${fqdn} is not below ${zone.suffix}`);
  return name.slice(0, -zone.suffix.length - 1);
}

function withoutTrailingDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}
