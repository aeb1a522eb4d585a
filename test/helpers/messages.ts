// Builders for queue messages and SQS records, shared by the unit and end-to-end tests.
import { createHash } from 'node:crypto';
import type { SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import type { Allowlist } from '../../handlers/core/model';

/** The allowlist the tests run against; bad-messages.json and good-messages.json assume these zones. */
export const testAllowlist: Allowlist = {
  zones: [
    {
      hostedZoneId: 'Z1TESTZONE00000000001',
      suffix: 'dyn.example.test',
      ttl: 60,
      types: ['A', 'AAAA'],
      maxValuesPerRecord: 100,
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
      maxValuesPerRecord: 100,
      leaseSeconds: 0,
      allowPrivate: true,
    },
  ],
};

export const testInstanceId = 'i-0123456789abcdef0';

/** The SQS SenderId of an instance-profile (or ECS task-role) session for that instance or task. */
export function instanceSenderId(instanceId: string = testInstanceId): string {
  return `AROAEXAMPLEROLEID12345:${instanceId}`;
}

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
  return {
    v: 1,
    action: 'register',
    record: 'web.dyn.example.test',
    instanceId: testInstanceId,
    ipv4: '52.95.110.1',
    ...overrides,
  };
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

export interface SqsRecordOptions {
  messageId?: string;
  /** ms since the epoch */
  sentTimestamp?: number;
  senderId?: string;
  attributes?: Partial<SQSRecordAttributes>;
}

let messageCount = 0;

/**
 * An SQS record as Lambda receives it. Objects are sent as JSON. Message ids count up per test file,
 * so a test that asserts on ids should pass its own.
 */
export function sqsRecord(body: string | object, options: SqsRecordOptions = {}): SQSRecord {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  messageCount += 1;
  const sentTimestamp = String(options.sentTimestamp ?? 1_735_689_600_000);
  return {
    messageId: options.messageId ?? `message-${String(messageCount).padStart(4, '0')}`,
    receiptHandle: `receipt-${messageCount}`,
    body: text,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: sentTimestamp,
      SenderId: options.senderId ?? instanceSenderId(),
      ApproximateFirstReceiveTimestamp: sentTimestamp,
      ...options.attributes,
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(text).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:r53dyn-registrations',
    awsRegion: 'us-east-1',
  };
}
