// The handlers' settings and dependencies over the in-memory fakes: the one place the fakes stand in for the SDK
// client types (they answer `send`, which is all the adapters use).

import { Logger } from '@aws-lambda-powertools/logger';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { BatcherDeps } from '../../handlers/batcher';
import { ATTRIBUTES } from '../../handlers/core/contract';
import type { PlannerDeps } from '../../handlers/planner';
import type { BatcherSettings, PlannerSettings } from '../../handlers/settings';
import { FakeRoute53 } from './fake-route53';
import { FakeSqs } from './fake-sqs';
import { FakeStepFunctions } from './fake-step-functions';
import {
  EVENTS_QUEUE_ARN,
  INSTANCE_ROLE_ID,
  OWNER,
  RELAY_ROLE_ID,
  TASK_ROLE_ID,
  testAllowlist,
  ZONE_QUEUE_ARN,
} from './messages';

export const ZONE_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/r53dyn-test-zones.fifo';
export const DEAD_LETTER_QUEUE_URL =
  'https://sqs.us-east-1.amazonaws.com/123456789012/r53dyn-test-dead-letters';
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:r53dyn';

export function batcherSettings(overrides: Partial<BatcherSettings> = {}): BatcherSettings {
  return {
    allowlist: testAllowlist,
    senderBinding: { instanceRoleIds: [INSTANCE_ROLE_ID, TASK_ROLE_ID] },
    relayRoleIds: [RELAY_ROLE_ID],
    eventsQueueArn: EVENTS_QUEUE_ARN,
    zoneQueueUrl: ZONE_QUEUE_URL,
    deadLetterQueueUrl: DEAD_LETTER_QUEUE_URL,
    ...overrides,
  };
}

export function plannerSettings(overrides: Partial<PlannerSettings> = {}): PlannerSettings {
  return {
    allowlist: testAllowlist,
    ownerId: OWNER,
    stateMachineArn: STATE_MACHINE_ARN,
    zoneQueueUrl: ZONE_QUEUE_URL,
    deadLetterQueueUrl: DEAD_LETTER_QUEUE_URL,
    maxAttempts: 3,
    retryBackoff: { baseSeconds: 2, capSeconds: 60 },
    ...overrides,
  };
}

export interface FakeAws {
  sqs: FakeSqs;
  route53: FakeRoute53;
  sfn: FakeStepFunctions;
}

/** The three fakes, with the zone and dead-letter queues created and the clock given. */
export function fakeAws(clock: () => number = () => 0): FakeAws {
  const sqs = new FakeSqs(clock);
  sqs.createQueue(ZONE_QUEUE_URL, { fifo: true, visibilityTimeoutSeconds: 300, arn: ZONE_QUEUE_ARN });
  sqs.createQueue(DEAD_LETTER_QUEUE_URL);
  return { sqs, route53: new FakeRoute53(), sfn: new FakeStepFunctions() };
}

const silent = () => new Logger({ serviceName: 'r53dyn-test', logLevel: 'SILENT' });

export function batcherDeps(aws: FakeAws, now: () => number, settings = batcherSettings()): BatcherDeps {
  return { settings, sqs: aws.sqs as unknown as SQSClient, logger: silent(), now };
}

export function plannerDeps(aws: FakeAws, now: () => number, settings = plannerSettings()): PlannerDeps {
  return {
    settings,
    route53: aws.route53 as unknown as Route53Client,
    sfn: aws.sfn as unknown as SFNClient,
    sqs: aws.sqs as unknown as SQSClient,
    logger: silent(),
    now,
  };
}

export const eventOf = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/** A batch response reporting exactly these deliveries failed. */
export const failures = (...ids: string[]) => ({
  batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })),
});

/** What is on the dead-letter queue: each letter's original message id and reason code. */
export function deadLettered(aws: FakeAws): { messageId: string; code: string }[] {
  return aws.sqs.messages(DEAD_LETTER_QUEUE_URL).map((m) => ({
    messageId: m.messageAttributes[ATTRIBUTES.messageId] ?? '',
    code: (m.messageAttributes[ATTRIBUTES.reason] ?? '').split(':', 1)[0] ?? '',
  }));
}
