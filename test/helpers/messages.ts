// Shared fixtures: the test zones, a fleet of machines, message bodies, normalised messages, registry entries,
// rrsets, and the SQS records Lambda hands the batcher and the planner. Unit and end-to-end tests build from here.
import { createHash } from 'node:crypto';
import type { SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import type { Delta } from '../../handlers/core/delta';
import type {
  Allowlist,
  InstanceGone,
  RecordSet,
  Registration,
  Sweep,
  ZoneRule,
} from '../../handlers/core/model';
import { encodeOwnerEntry, type OwnerEntry, registryName } from '../../handlers/core/registry';

// ---------------------------------------------------------------------------------------------------------
// Zones

/** The allowlist the tests run against; bad-messages.json and good-messages.json assume these zones. */
export const testAllowlist: Allowlist = {
  zones: [
    {
      hostedZoneId: 'Z1TESTZONE00000000001',
      suffix: 'dyn.example.test',
      ttl: 60,
      types: ['A', 'AAAA'],
      maxValuesPerRecord: 40,
      leaseSeconds: 0,
      allowPrivate: false,
    },
    {
      hostedZoneId: 'Z2TESTZONE00000000002',
      suffix: 'v4only.example.test',
      ttl: 60,
      types: ['A'],
      maxValuesPerRecord: 100,
      leaseSeconds: 300,
      allowPrivate: false,
    },
    {
      hostedZoneId: 'Z3TESTZONE00000000003',
      suffix: 'lab.example.test',
      ttl: 60,
      types: ['A', 'AAAA'],
      maxValuesPerRecord: 40,
      leaseSeconds: 0,
      allowPrivate: true,
    },
  ],
};

function zoneOf(suffix: string): ZoneRule {
  const zone = testAllowlist.zones.find((z) => z.suffix === suffix);
  if (!zone) throw new Error(`no test zone ${suffix}`);
  return zone;
}

/** A and AAAA, no lease, public addresses only. */
export const dynZone = zoneOf('dyn.example.test');
/** A only, 300-second lease. */
export const v4Zone = zoneOf('v4only.example.test');
/** A and AAAA, private addresses allowed. */
export const labZone = zoneOf('lab.example.test');

/** A zone like dynZone with some rules changed. */
export function zoneWith(overrides: Partial<ZoneRule>): ZoneRule {
  return { ...dynZone, types: [...dynZone.types], ...overrides };
}

/** The owner id the tests' registries are written under. */
export const OWNER = 'r53dyn-test';
/** Another stack's owner id: its strings are foreign to OWNER. */
export const OTHER_OWNER = 'r53dyn-other';

/** SentTimestamp of the tests' messages, and the batcher's and planner's clock a minute later. */
export const SENT = 1_735_689_600_000;
export const NOW = SENT + 60_000;
export const SECOND = 1000;
export const HOUR = 3_600_000;

/** `web` -> `web.dyn.example.test.` (or below another zone). */
export const fqdn = (label: string, zone: ZoneRule = dynZone) => `${label}.${zone.suffix}.`;

// ---------------------------------------------------------------------------------------------------------
// Machines and who sends for them

/** The stack's instance role (trusted only by EC2 and ECS), an operator's task role, and the redrive role. */
export const INSTANCE_ROLE_ID = 'AROAEXAMPLEROLEID12345';
export const TASK_ROLE_ID = 'AROAEXAMPLETASKROLE123';
export const RELAY_ROLE_ID = 'AROAEXAMPLEREDRIVE1234';
/** A role that is no instance role: anyone able to assume it can pick any session name. */
export const PERSON_ROLE_ID = 'AROAEXAMPLEPERSON12345';

export const testInstanceId = 'i-0123456789abcdef0';

/** The SQS SenderId of an instance-profile (or ECS task-role) session for that instance or task. */
export function instanceSenderId(instanceId: string = testInstanceId, roleId = INSTANCE_ROLE_ID): string {
  return `${roleId}:${instanceId}`;
}

export interface Machine {
  instanceId: string;
  ipv4: string;
  ipv6: string;
}

/** Machine n (0 to 65535): an EC2 instance with a public IPv4 and IPv6 of its own. */
export function machine(n: number): Machine {
  return {
    instanceId: `i-${n.toString(16).padStart(17, '0')}`,
    ipv4: `52.95.${n >> 8}.${n & 255}`,
    ipv6: `2600:1f18::${n.toString(16)}`,
  };
}

/** Machines 1 to n. */
export const fleet = (n: number): Machine[] => Array.from({ length: n }, (_, i) => machine(i + 1));

// ---------------------------------------------------------------------------------------------------------
// Bodies, as machines and EventBridge send them

export interface RegistrationBody {
  v: 1;
  action: 'register' | 'deregister' | 'heartbeat';
  record: string;
  instanceId: string;
  ipv4?: string;
  ipv6?: string;
}

/** A valid register message for web.dyn.example.test with a public IPv4; `{ ipv4: undefined }` drops a field. */
export function registration(overrides: Partial<RegistrationBody> = {}): RegistrationBody {
  const body: RegistrationBody = {
    v: 1,
    action: 'register',
    record: 'web.dyn.example.test',
    instanceId: testInstanceId,
    ipv4: '52.95.110.1',
    ...overrides,
  };
  for (const key of ['ipv4', 'ipv6'] as const) if (body[key] === undefined) delete body[key];
  return body;
}

/** An EC2 Instance State-change Notification as EventBridge delivers it to SQS. */
export function ec2StateChange(instanceId: string, state: string) {
  return {
    version: '0',
    id: '7bf73129-1428-4cd3-a780-95db273d1602',
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '123456789012',
    time: '2025-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${instanceId}`],
    detail: { 'instance-id': instanceId, state },
  };
}

// ---------------------------------------------------------------------------------------------------------
// SQS records as Lambda hands them over

export const REGISTRATIONS_QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:r53dyn-test-registrations';
export const EVENTS_QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:r53dyn-test-events';
export const ZONE_QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:r53dyn-test-zones.fifo';
/** EventBridge's SenderId on the events queue. */
export const EVENTBRIDGE_SENDER_ID = 'AIDAEVENTBRIDGEEXAMPLE';

export interface SqsRecordOptions {
  messageId?: string;
  /** ms since the epoch */
  sentTimestamp?: number;
  senderId?: string;
  /** the queue's ARN: the registrations queue unless told */
  queueArn?: string;
  attributes?: Partial<SQSRecordAttributes>;
  messageAttributes?: Record<string, string>;
  receiptHandle?: string;
}

let messageCount = 0;

/**
 * An SQS record as Lambda receives it. Objects are sent as JSON. Message ids count up per test file,
 * so a test that asserts on ids should pass its own.
 */
export function sqsRecord(body: string | object, options: SqsRecordOptions = {}): SQSRecord {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  messageCount += 1;
  const sentTimestamp = String(options.sentTimestamp ?? SENT);
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, stringValue] of Object.entries(options.messageAttributes ?? {})) {
    messageAttributes[name] = { stringValue, dataType: 'String', stringListValues: [], binaryListValues: [] };
  }
  return {
    messageId: options.messageId ?? `message-${String(messageCount).padStart(4, '0')}`,
    receiptHandle: options.receiptHandle ?? `receipt-${messageCount}`,
    body: text,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: sentTimestamp,
      SenderId: options.senderId ?? instanceSenderId(),
      ApproximateFirstReceiveTimestamp: sentTimestamp,
      ...options.attributes,
    },
    messageAttributes,
    md5OfBody: createHash('md5').update(text).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn ?? REGISTRATIONS_QUEUE_ARN,
    awsRegion: 'us-east-1',
  };
}

/** A register (or other registration) from the machine's own instance session, on the registrations queue. */
export function registrationRecord(
  messageId: string,
  body: Partial<RegistrationBody> = {},
  sentTimestamp = SENT,
): SQSRecord {
  const full = registration(body);
  return sqsRecord(full, { messageId, sentTimestamp, senderId: instanceSenderId(full.instanceId) });
}

/** An EC2 event or a sweep as EventBridge puts it on the events queue. */
export function eventRecord(messageId: string, body: object, sentTimestamp = SENT): SQSRecord {
  return sqsRecord(body, {
    messageId,
    sentTimestamp,
    senderId: EVENTBRIDGE_SENDER_ID,
    queueArn: EVENTS_QUEUE_ARN,
  });
}

/** A delta as the planner receives it from the FIFO zone queue. */
export function deltaRecord(
  messageId: string,
  delta: Delta | string,
  options: { receiveCount?: number; receiptHandle?: string; groupId?: string } = {},
): SQSRecord {
  const body = typeof delta === 'string' ? delta : JSON.stringify(delta);
  const groupId = options.groupId ?? (typeof delta === 'string' ? dynZone.hostedZoneId : delta.hostedZoneId);
  return sqsRecord(body, {
    messageId,
    queueArn: ZONE_QUEUE_ARN,
    senderId: 'AROAEXAMPLEBATCHER0001:r53dyn-test-batcher',
    receiptHandle: options.receiptHandle ?? `handle-${messageId}`,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      MessageGroupId: groupId,
      MessageDeduplicationId: createHash('sha256').update(body).digest('hex'),
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// Normalised messages, as the batcher puts them in deltas

type Addresses = { ipv4?: string; ipv6?: string };

function addressesOf(m: Machine, zone: ZoneRule, addresses?: Addresses): Addresses {
  if (addresses) return addresses;
  return {
    ...(zone.types.includes('A') ? { ipv4: m.ipv4 } : {}),
    ...(zone.types.includes('AAAA') ? { ipv6: m.ipv6 } : {}),
  };
}

export interface MessageOptions {
  messageId?: string;
  zone?: ZoneRule;
  /** the machine's addresses the zone serves unless told */
  addresses?: Addresses;
}

function registrationOf(
  kind: Registration['kind'],
  m: Machine,
  label: string,
  sentAt: number,
  options: MessageOptions,
): Registration {
  const zone = options.zone ?? dynZone;
  return {
    kind,
    messageId: options.messageId ?? `${kind}-${label}-${m.instanceId}-${sentAt}`,
    sentAt,
    senderId: instanceSenderId(m.instanceId),
    record: fqdn(label, zone),
    hostedZoneId: zone.hostedZoneId,
    instanceId: m.instanceId,
    ...(kind === 'deregister' ? {} : addressesOf(m, zone, options.addresses)),
  };
}

export const registerOf = (m: Machine, label: string, sentAt: number, options: MessageOptions = {}) =>
  registrationOf('register', m, label, sentAt, options);
export const heartbeatOf = (m: Machine, label: string, sentAt: number, options: MessageOptions = {}) =>
  registrationOf('heartbeat', m, label, sentAt, options);
export const deregisterOf = (m: Machine, label: string, sentAt: number, options: MessageOptions = {}) =>
  registrationOf('deregister', m, label, sentAt, options);

export function instanceGoneOf(m: Machine, sentAt: number, messageId = `gone-${m.instanceId}-${sentAt}`) {
  const gone: InstanceGone = { kind: 'instance-gone', messageId, sentAt, instanceId: m.instanceId };
  return gone;
}

export const sweepAt = (sentAt: number, messageId = `sweep-${sentAt}`): Sweep => ({
  kind: 'sweep',
  messageId,
  sentAt,
});

// ---------------------------------------------------------------------------------------------------------
// Registry entries and rrsets

/** The up entry of a machine, with the addresses the zone serves. */
export function upEntry(m: Machine, t: number, zone: ZoneRule = dynZone): OwnerEntry {
  return { instanceId: m.instanceId, t, state: 'up', ...addressesOf(m, zone) };
}

export const goneEntry = (m: Machine, t: number): OwnerEntry => ({
  instanceId: m.instanceId,
  t,
  state: 'gone',
});

export function rrset(Name: string, Type: string, values: string[], TTL = 60): RecordSet {
  return { Name, Type, TTL, ResourceRecords: values.map((Value) => ({ Value })) };
}

/**
 * What r53dyn keeps at a record serving these entries: A and AAAA of the up entries' addresses (sorted), and the
 * registry TXT with the foreign strings first, then ours in instance order.
 */
export function servedRRsets(
  record: string,
  entries: OwnerEntry[],
  options: { zone?: ZoneRule; foreign?: string[]; owner?: string } = {},
): RecordSet[] {
  const zone = options.zone ?? dynZone;
  const up = entries.filter((e) => e.state === 'up');
  const sortedValues = (values: (string | undefined)[]) =>
    [...new Set(values.filter((v): v is string => v !== undefined))].sort();
  const a = sortedValues(up.map((e) => e.ipv4));
  const aaaa = sortedValues(up.map((e) => e.ipv6));
  const ordered = [...entries].sort((x, y) => (x.instanceId < y.instanceId ? -1 : 1));
  const txt = [
    ...(options.foreign ?? []),
    ...ordered.map((e) => encodeOwnerEntry(options.owner ?? OWNER, e)),
  ];
  return [
    ...(a.length > 0 ? [rrset(record, 'A', a, zone.ttl)] : []),
    ...(aaaa.length > 0 ? [rrset(record, 'AAAA', aaaa, zone.ttl)] : []),
    ...(txt.length > 0 ? [rrset(registryName(record), 'TXT', txt, zone.ttl)] : []),
  ];
}
