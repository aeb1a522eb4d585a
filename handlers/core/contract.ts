// The facts that cross a boundary, defined once (docs/design.md §3 "Wire contract"): names and prefixes in
// Route 53, SQS attribute names, patterns, Route 53's limits, lifetimes, and the closed list of reason codes.
// The handlers, the infrastructure, the workflow builder and the tests import them from here; nothing else
// spells them out.

/** The first label of every name r53dyn keeps state under (docs/design.md §3.3). */
export const REGISTRY_LABEL = '_r53dyn';
/** `_r53dyn.<record>`: the ownership registry TXT beside a record. */
export const REGISTRY_PREFIX = `${REGISTRY_LABEL}.`;
/**
 * The pseudo-record whose registry holds a zone's recently gone instances (docs/design.md §3.4): its TXT lives
 * at `_r53dyn._r53dyn-gone.<suffix>.`, a name no machine can register (every first label starting with
 * `_r53dyn` is reserved).
 */
export const GONE_LIST_LABEL = `${REGISTRY_LABEL}-gone`;

/** Message attributes r53dyn writes and reads (docs/design.md §3.2). */
export const ATTRIBUTES = {
  /** on a dead letter: `<reason code>: <detail>` */
  reason: 'r53dyn-reason',
  /** on a dead letter: the SQS message id the registration first had; duplicates share it */
  messageId: 'r53dyn-message-id',
  /** SentTimestamp of the original message, ms */
  sentAt: 'r53dyn-sent-timestamp',
  /** SenderId of the original message (the IAM identity that sent it) */
  senderId: 'r53dyn-sender-id',
} as const;

/** Owner ids name a stack in every registry entry: short, and safe inside a TXT string. */
export const OWNER_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
export const OWNER_ID_RULE =
  'lower-case letters, digits and dashes, starting with a letter or digit, at most 40';

/** EC2 states that mean "this instance no longer answers" (docs/design.md §3.1). */
export const EC2_GONE_STATES = ['stopping', 'stopped', 'shutting-down', 'terminated'] as const;
export const EC2_EVENT_SOURCE = 'aws.ec2';
export const EC2_STATE_CHANGE = 'EC2 Instance State-change Notification';

/** The sweep's body, as the schedule sends it to the events queue. */
export const SWEEP_BODY = { v: 1, action: 'sweep' } as const;

/** Route 53's documented limits r53dyn designs against (docs/design.md §5). */
export const ROUTE53_LIMITS = {
  elementsPerBatch: 1000,
  charactersPerBatch: 32000,
  valuesPerRecord: 400,
  txtStringLength: 255,
} as const;

/** Step Functions' limit on an execution's input and on every state's data (UTF-8 bytes). */
export const STATE_DATA_LIMIT_BYTES = 262_144;
/** SQS's limit on a message, and on a SendMessageBatch request (UTF-8 bytes). */
export const SQS_MESSAGE_LIMIT_BYTES = 262_144;
/** A registration body is at most this long (docs/design.md §3.1). */
export const MESSAGE_BODY_LIMIT_BYTES = 4096;

/**
 * How long a tombstone outlives the message that made it, and how old a registration may be when applied: a
 * registration sent earlier than this cannot be ordered against a deregistration whose tombstone may be gone.
 */
export const TOMBSTONE_MS = 3_600_000;

/**
 * Every reason a message can end in the dead-letter queue with, one description each (docs/design.md §3.6). A
 * reason attribute reads `<code>: <detail>`; operators and alarms match on the code.
 */
export const REASONS = {
  // the message itself (the batcher, before anything is read)
  'too-large': 'the body is over 4 KiB',
  'not-json': 'the body is not JSON',
  'too-deep': 'the JSON nests deeper than a message or an EC2 event can',
  'not-an-object': 'the body is JSON but not an object',
  'bad-version': 'v is not 1',
  'unknown-action': 'action is not register, deregister, heartbeat or sweep',
  'unknown-field': 'a field that is not part of the message',
  'missing-field': 'a required field is missing',
  'wrong-type': 'a field has the wrong JSON type',
  'bad-instance-id': 'instanceId is neither an EC2 instance id nor an ECS task id',
  'missing-sender': 'SQS gave no SenderId to bind the message to',
  'sender-not-instance': 'the sender is not a session of an allowed instance role',
  'sender-mismatch': 'the sender is a session of another instance or task',
  'bad-record-name': 'the record is not a plain DNS name r53dyn can manage',
  'reserved-record-name': 'the record starts with a label reserved for r53dyn',
  'record-not-allowed': 'the record is not strictly below an allowlisted zone, or the workflow refused it',
  'missing-address': 'a register or heartbeat without ipv4 or ipv6',
  'bad-ipv4': 'ipv4 is not a dotted quad',
  'bad-ipv6': 'ipv6 is not an IPv6 address',
  'address-type-not-allowed': 'the zone does not serve that address type',
  'non-public-address':
    'a private, loopback or otherwise non-public address in a zone that publishes public ones',
  'unknown-event': 'an event that is not an EC2 instance state change',
  'ec2-state-ignored': 'an EC2 state that does not mean the instance is gone',
  'event-not-trusted': 'an EC2 event or sweep that did not come through the events queue',
  'missing-sent-timestamp': 'SQS gave no SentTimestamp, so the message cannot be ordered',
  stale: 'a register or heartbeat sent more than an hour before it could be applied',
  // the record it names (the planner, against what Route 53 holds)
  'not-managed': 'the record exists without this stack’s registry (made by hand or by another owner)',
  'name-conflict': 'Route 53 would refuse the record or its registry beside what already exists at the name',
  'too-many-values': 'the record already serves maxValuesPerRecord machines; this newcomer does not fit',
  'record-too-large': 'the record’s changes cannot fit one Route 53 ChangeBatch',
  // the write (learnt from the workflow execution that tried it)
  'settings-unavailable': 'the zone’s allowlist entry could not be read, past the retry bound',
  'zone-missing': 'the hosted zone does not exist (NoSuchHostedZone)',
  'access-denied': 'AWS refused r53dyn’s role the call (AccessDenied)',
  'invalid-change':
    'Route 53 refused the change for a reason other than a concurrent write (InvalidInput, InvalidChangeBatch)',
  'write-conflict': 'another writer kept changing the record between read and write, past the retry bound',
  'retries-exhausted': 'Route 53 or SQS kept throttling or failing, past the retry bound',
  'workflow-error':
    'the workflow failed in a way r53dyn does not classify; the detail has its error and cause',
  // what SQS itself did
  'receive-limit':
    'SQS moved the message after maxReceiveCount receives without r53dyn giving a reason (shown when read back)',
} as const satisfies Record<string, string>;

export type ReasonCode = keyof typeof REASONS;
export const REASON_CODES = Object.keys(REASONS) as ReasonCode[];

/** `<code>: <detail>`, the one way a reason is written. */
export function reason(code: ReasonCode, detail: string): string {
  return `${code}: ${detail}`;
}

/** The code a reason starts with, if it is one of ours. */
export function reasonCode(text: string): ReasonCode | undefined {
  const code = text.split(':', 1)[0] ?? '';
  return Object.hasOwn(REASONS, code) ? (code as ReasonCode) : undefined;
}

/**
 * Reasons that follow from policy and repeat on every heartbeat of a full record, a hostile sender or a
 * misconfigured machine: counted, but not worth waking an operator (docs/design.md §9).
 */
export const POLICY_REASONS: readonly ReasonCode[] = ['too-many-values', 'stale'];

/**
 * Attempts the handlers' AWS SDK clients make per call: the SDK's standard retry strategy retries throttling,
 * 5xx and timeouts with full-jitter exponential backoff (docs/design.md §9).
 */
export const SDK_MAX_ATTEMPTS = 5;
