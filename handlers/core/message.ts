// Turns one SQS body into a Message or a Rejection (docs/design.md §3.1). Everything on the queue is untrusted: an
// instance holds sqs:SendMessage and nothing else, so this is where its reach is bounded. Checks run
// in a fixed order and the first failure is reported with a stable code that operators can match on.
import { z } from 'zod';
import { type AddressScope, ipv4Scope, ipv6Scope, isPublishable, parseIpv4, parseIpv6 } from './addresses';
import {
  EC2_EVENT_SOURCE,
  EC2_GONE_STATES,
  EC2_STATE_CHANGE,
  MESSAGE_BODY_LIMIT_BYTES,
  type ReasonCode,
} from './contract';
import type { Allowlist, InstanceGone, Message, Registration, Rejection, Sweep, ZoneRule } from './model';
import { normaliseRecordName, zoneForRecord } from './names';

export interface MessageContext {
  messageId: string;
  /** SQS SentTimestamp, ms */
  sentAt: number;
  /** SQS SenderId: the IAM identity that sent the message */
  senderId?: string;
  /**
   * The queue it came through. Only the stack's EventBridge rules can write to the events queue, so EC2 events
   * and sweeps are believed from there alone (docs/design.md §7).
   */
  queue: 'registrations' | 'events';
}

/**
 * Sender binding (docs/design.md §7): a registration for instance X is accepted only from a session of an
 * allowed instance role whose session name is X. Off where the sender cannot be known (LocalStack).
 */
export type SenderBinding = { instanceRoleIds: readonly string[] } | false;

export interface ParseOptions {
  allowlist: Allowlist;
  senderBinding: SenderBinding;
}

export type RejectionCode = Extract<
  ReasonCode,
  | 'too-large'
  | 'not-json'
  | 'too-deep'
  | 'not-an-object'
  | 'bad-version'
  | 'unknown-action'
  | 'unknown-field'
  | 'missing-field'
  | 'wrong-type'
  | 'bad-instance-id'
  | 'missing-sender'
  | 'sender-not-instance'
  | 'sender-mismatch'
  | 'bad-record-name'
  | 'reserved-record-name'
  | 'record-not-allowed'
  | 'missing-address'
  | 'bad-ipv4'
  | 'bad-ipv6'
  | 'address-type-not-allowed'
  | 'non-public-address'
  | 'unknown-event'
  | 'ec2-state-ignored'
  | 'event-not-trusted'
>;

export function isRejection(x: Message | Rejection): x is Rejection {
  return 'reason' in x;
}

export function parseMessage(
  body: string,
  context: MessageContext,
  options: ParseOptions,
): Message | Rejection {
  try {
    return readMessage(body, context, options);
  } catch (error) {
    if (!(error instanceof MessageProblem)) throw error;
    return { messageId: context.messageId, reason: `${error.code}: ${error.detail}` };
  }
}

// Thrown only inside this module, so that each check reads as one line; parseMessage turns it into a
// Rejection and never lets it escape.
class MessageProblem extends Error {
  constructor(
    readonly code: RejectionCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'MessageProblem';
  }
}

function fail(code: RejectionCode, detail: string): never {
  throw new MessageProblem(code, detail);
}

type Document = Record<string, unknown>;

function readMessage(body: string, context: MessageContext, options: ParseOptions): Message {
  const document = readDocument(body);
  const looksLikeEvent = ['source', 'detail-type', 'detail'].some((key) => Object.hasOwn(document, key));
  if (looksLikeEvent && !Object.hasOwn(document, 'v')) return readEc2Event(document, context);
  if (!Object.hasOwn(document, 'v')) fail('missing-field', 'v is required');
  if (document.v !== 1) fail('bad-version', `v must be the number 1, got ${show(document.v)}`);
  const action = document.action;
  if (action === undefined) fail('missing-field', 'action is required');
  if (typeof action !== 'string') fail('wrong-type', `action must be a string, got ${typeName(action)}`);
  if (action === 'sweep') return readSweep(document, context);
  if (action === 'register' || action === 'deregister' || action === 'heartbeat') {
    return readRegistration(document, context, options);
  }
  return fail('unknown-action', `action ${show(action)} is not register, deregister, heartbeat or sweep`);
}

const maxBodyBytes = MESSAGE_BODY_LIMIT_BYTES;
// A registration is flat and an EC2 event nests two levels; anything deeper is not ours.
const maxDepth = 4;
const utf8 = new TextEncoder();

function readDocument(body: string): Document {
  const bytes = utf8.encode(body).length;
  if (bytes > maxBodyBytes) fail('too-large', `body is ${bytes} bytes, over the ${maxBodyBytes}-byte limit`);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    fail('not-json', `body is not valid JSON: ${show(body)}`);
  }
  if (deeperThan(value, maxDepth)) fail('too-deep', `JSON nests deeper than ${maxDepth} levels`);
  if (!isDocument(value)) fail('not-an-object', `body must be a JSON object, got ${typeName(value)}`);
  return value;
}

function deeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levels === 0) return true;
  return Object.values(value).some((child) => deeperThan(child, levels - 1));
}

function isDocument(value: unknown): value is Document {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const sweepSchema = z.strictObject({ v: z.literal(1), action: z.literal('sweep') });

function readSweep(document: Document, context: MessageContext): Sweep {
  checkShape(sweepSchema, document);
  checkEventQueue(context, 'a sweep');
  return { kind: 'sweep', messageId: context.messageId, sentAt: context.sentAt };
}

const registrationSchema = z.strictObject({
  v: z.literal(1),
  action: z.enum(['register', 'deregister', 'heartbeat']),
  record: z.string(),
  instanceId: z.string(),
  ipv4: z.string().optional(),
  ipv6: z.string().optional(),
});

const ec2InstanceId = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;
const ecsTaskId = /^[0-9a-f]{32}$/;

function readRegistration(document: Document, context: MessageContext, options: ParseOptions): Registration {
  const fields = checkShape(registrationSchema, document);
  if (!ec2InstanceId.test(fields.instanceId) && !ecsTaskId.test(fields.instanceId)) {
    fail(
      'bad-instance-id',
      `instanceId ${show(fields.instanceId)} is neither an EC2 instance id (i- and 8 or 17 hex digits) nor an ECS task id (32 hex digits)`,
    );
  }
  if (options.senderBinding) checkInstanceSender(context.senderId, fields.instanceId, options.senderBinding);
  const named = normaliseRecordName(fields.record);
  if (!named.ok) fail(named.problem.code, `record ${show(fields.record)} ${named.problem.detail}`);
  const zone = zoneForRecord(options.allowlist, named.name);
  if (zone === undefined) fail('record-not-allowed', notAllowedDetail(options.allowlist, named.name));
  const registration: Registration = {
    kind: fields.action,
    messageId: context.messageId,
    record: named.name,
    hostedZoneId: zone.hostedZoneId,
    instanceId: fields.instanceId,
    sentAt: context.sentAt,
  };
  // A deregister drops the instance's entry whatever addresses it held. Any addresses it carries are
  // ignored, not checked: refusing a deregister over a bad address would leave a dead machine in DNS.
  if (fields.action === 'deregister') return registration;
  if (fields.ipv4 === undefined && fields.ipv6 === undefined) {
    fail('missing-address', `${fields.action} needs ipv4 or ipv6`);
  }
  if (fields.ipv4 !== undefined) registration.ipv4 = checkIpv4(fields.ipv4, zone);
  if (fields.ipv6 !== undefined) registration.ipv6 = checkIpv6(fields.ipv6, zone);
  return registration;
}

function notAllowedDetail(allowlist: Allowlist, record: string): string {
  const name = record.slice(0, -1);
  if (allowlist.zones.some((zone) => zone.suffix === name)) {
    return `record ${show(record)} is a zone apex; only names strictly below it can be registered`;
  }
  return `record ${show(record)} is not below any allowlisted zone`;
}

function checkIpv4(raw: string, zone: ZoneRule): string {
  const address = parseIpv4(raw);
  if (address === undefined) {
    fail('bad-ipv4', `ipv4 ${show(raw)} is not a dotted quad (0-255, no leading zeros)`);
  }
  checkPublishable('ipv4', 'A', raw, ipv4Scope(address), zone);
  return address;
}

function checkIpv6(raw: string, zone: ZoneRule): string {
  const address = parseIpv6(raw);
  if (address === undefined) fail('bad-ipv6', `ipv6 ${show(raw)} is not an IPv6 address`);
  checkPublishable('ipv6', 'AAAA', raw, ipv6Scope(address), zone);
  return address;
}

function checkPublishable(
  field: string,
  type: 'A' | 'AAAA',
  raw: string,
  scope: AddressScope,
  zone: ZoneRule,
): void {
  if (!zone.types.includes(type)) {
    fail(
      'address-type-not-allowed',
      `${field} ${show(raw)}: zone ${zone.suffix} does not allow ${type} records`,
    );
  }
  if (isPublishable(scope, zone.allowPrivate)) return;
  const why = zone.allowPrivate
    ? ', which no zone may publish'
    : ` and zone ${zone.suffix} allows only public addresses`;
  fail('non-public-address', `${field} ${show(raw)} is ${scope}${why}`);
}

const ec2EventSchema = z.strictObject({
  version: z.string().optional(),
  id: z.string().optional(),
  'detail-type': z.string(),
  source: z.string(),
  account: z.string().optional(),
  time: z.string().optional(),
  region: z.string().optional(),
  // EventBridge adds it when an archived event is replayed.
  'replay-name': z.string().optional(),
  resources: z.array(z.string()).optional(),
  detail: z.looseObject({ 'instance-id': z.string(), state: z.string() }),
});

const goneStates: ReadonlySet<string> = new Set(EC2_GONE_STATES);

function readEc2Event(document: Document, context: MessageContext): InstanceGone {
  const event = checkShape(ec2EventSchema, document);
  if (event.source !== EC2_EVENT_SOURCE || event['detail-type'] !== EC2_STATE_CHANGE) {
    fail(
      'unknown-event',
      `source ${show(event.source)} with detail-type ${show(event['detail-type'])} is not an ${EC2_STATE_CHANGE}`,
    );
  }
  checkEventQueue(context, 'an EC2 event');
  const instanceId = event.detail['instance-id'];
  if (!ec2InstanceId.test(instanceId)) {
    fail('bad-instance-id', `detail.instance-id ${show(instanceId)} is not an EC2 instance id`);
  }
  const state = event.detail.state;
  if (!goneStates.has(state))
    fail('ec2-state-ignored', `state ${show(state)} does not mean the instance is gone`);
  return { kind: 'instance-gone', messageId: context.messageId, instanceId, sentAt: context.sentAt };
}

// Instance-profile and ECS task-role credentials are role sessions, and SQS reports them as
// `<role unique id>:<session name>`; EC2 and ECS set the session name to the instance or task id. Anyone who
// may assume the role can pick a session name, so the role itself must be one that only instances and tasks
// can assume: the stack's instance role, or a role the operator lists with its id (docs/design.md §7).
const roleSession = /^(AROA[A-Z0-9]{12,124}):([\w+=,.@-]{2,64})$/;

/** The role id and session name of a role-session SenderId. */
export function roleSessionOf(senderId: string): { roleId: string; session: string } | undefined {
  const match = roleSession.exec(senderId);
  return match ? { roleId: match[1] ?? '', session: match[2] ?? '' } : undefined;
}

function checkInstanceSender(
  senderId: string | undefined,
  instanceId: string,
  binding: { instanceRoleIds: readonly string[] },
): void {
  if (senderId === undefined || senderId === '')
    fail('missing-sender', 'no SenderId to bind the instance to');
  const sender = roleSessionOf(senderId);
  if (sender === undefined || !binding.instanceRoleIds.includes(sender.roleId)) {
    fail('sender-not-instance', `sender ${show(senderId)} is not a session of an allowed instance role`);
  }
  if (sender.session !== instanceId) {
    fail('sender-mismatch', `sender ${show(senderId)} may not register for instanceId ${show(instanceId)}`);
  }
}

// Were EC2 events and sweeps believed from any sender of the registrations queue, any principal allowed to
// send there could deregister every machine.
function checkEventQueue(context: MessageContext, what: string): void {
  if (context.queue !== 'events') {
    fail(
      'event-not-trusted',
      `${what} is accepted only from the events queue, which only EventBridge can write`,
    );
  }
}

function checkShape<Shape extends z.ZodType>(schema: Shape, document: Document): z.output<Shape> {
  const result = schema.safeParse(document);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const unknown = issues.find((issue) => issue.code === 'unrecognized_keys');
  if (unknown !== undefined && unknown.code === 'unrecognized_keys') {
    const where = unknown.path.length > 0 ? ` in ${unknown.path.join('.')}` : '';
    fail('unknown-field', `field ${show(unknown.keys[0])}${where} is not part of the message`);
  }
  const located = issues.map((issue) => ({ issue, at: valueAt(document, issue.path) }));
  const missing = located.find(({ at }) => !at.present);
  if (missing !== undefined) fail('missing-field', `${missing.issue.path.join('.')} is required`);
  const [first] = located;
  if (first === undefined) return fail('wrong-type', 'the message does not match its schema');
  const expected = first.issue.code === 'invalid_type' ? withArticle(first.issue.expected) : 'valid';
  return fail(
    'wrong-type',
    `${first.issue.path.join('.')} must be ${expected}, got ${typeName(first.at.value)}`,
  );
}

function valueAt(document: Document, path: PropertyKey[]): { present: boolean; value: unknown } {
  let value: unknown = document;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) {
      return { present: false, value: undefined };
    }
    value = Reflect.get(value, key);
  }
  return { present: true, value };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return withArticle(Array.isArray(value) ? 'array' : typeof value);
}

function withArticle(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

const maxShownChars = 100;

/**
 * A value for a reason: strings quoted, anything else as JSON; truncated, with control characters and
 * non-characters escaped (SQS refuses them in attributes).
 */
function show(value: unknown): string {
  const quoted = typeof value === 'string';
  const text = quoted ? value : (JSON.stringify(value) ?? String(value));
  let shown = '';
  for (const char of text) {
    if (shown.length >= maxShownChars) {
      shown += '…';
      break;
    }
    shown += shownChar(char, quoted);
  }
  return quoted ? `"${shown}"` : shown;
}

// Controls, line separators, non-characters and lone surrogates: unreadable in a log line and refused
// by SQS in a message attribute.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const unsafeInReason = /^[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffe\uffff]$|^[\ud800-\udfff]$/;

function shownChar(char: string, quoted: boolean): string {
  if (quoted && (char === '"' || char === '\\')) return `\\${char}`;
  if (!unsafeInReason.test(char)) return char;
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
