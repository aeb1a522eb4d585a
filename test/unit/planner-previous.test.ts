// Which execution the planner learns from when its deltas come back (docs/design.md §4.5). A receive that found the
// previous execution still RUNNING starts none, so the receive after it must look past that receive's missing
// execution to the one that ran: otherwise a round whose executions keep hanging is never counted, and its
// messages never reach the attempt bound.

import { Logger } from '@aws-lambda-powertools/logger';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { DescribeExecutionCommand, ExecutionDoesNotExist, type SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { ATTRIBUTES } from '../../handlers/core/contract';
import { executionName } from '../../handlers/core/execution-name';
import { processDeltas } from '../../handlers/planner';
import { testAllowlist } from '../helpers/messages';

const zone = testAllowlist.zones[0] ?? (undefined as never);
const stateMachineArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:r53dyn-test';
const now = 1_764_406_800_000;

function deltaEvent(receiveCount: number): SQSEvent {
  const message = {
    kind: 'register',
    messageId: 'm-1',
    sentAt: now - 1000,
    record: `web.${zone.suffix}.`,
    hostedZoneId: zone.hostedZoneId,
    instanceId: 'i-0123456789abcdef0',
    ipv4: '52.95.110.1',
  };
  const body = JSON.stringify({ v: 1, hostedZoneId: zone.hostedZoneId, messages: [message] });
  return {
    Records: [
      {
        messageId: 'delta-1',
        receiptHandle: 'receipt-1',
        body,
        attributes: {
          ApproximateReceiveCount: String(receiveCount),
          SentTimestamp: String(now - 1000),
          SenderId: 'AROAEXAMPLE',
          ApproximateFirstReceiveTimestamp: String(now - 1000),
          MessageGroupId: zone.hostedZoneId,
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:r53dyn-zones.fifo',
        awsRegion: 'us-east-1',
      },
    ],
  };
}

/** Clients that know one execution (receive 1, TIMED_OUT), an empty zone, and record what is sent. */
function clients() {
  const calls: string[] = [];
  const letters: string[] = [];
  const timedOut = executionName(zone.hostedZoneId, 'delta-1', 1);
  const sfn = {
    send: async (command: unknown) => {
      if (!(command instanceof DescribeExecutionCommand)) {
        calls.push(`sfn ${(command as object).constructor.name}`);
        return { executionArn: 'arn', startDate: new Date() };
      }
      const name = command.input.executionArn?.split(':').pop() ?? '';
      calls.push(`describe ${name}`);
      if (name !== timedOut) throw new ExecutionDoesNotExist({ message: 'none', $metadata: {} });
      return { status: 'TIMED_OUT' };
    },
  };
  const route53 = { send: async () => ({ ResourceRecordSets: [], IsTruncated: false }) };
  const sqs = {
    send: async (command: unknown) => {
      if (command instanceof SendMessageBatchCommand) {
        for (const entry of command.input.Entries ?? []) {
          letters.push(entry.MessageAttributes?.[ATTRIBUTES.reason]?.StringValue ?? '');
        }
        return { Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id })), Failed: [] };
      }
      return {};
    },
  };
  return { calls, letters, sfn, route53, sqs };
}

test('after a receive that found the execution running, the next one reads the execution before it', async () => {
  // Arrange: receive 1 started an execution that hung; receive 2 found it RUNNING and started none; this is
  // receive 3, and the execution has timed out meanwhile
  const fakes = clients();
  const deps = {
    settings: {
      allowlist: testAllowlist,
      ownerId: 'r53dyn-test',
      stateMachineArn,
      zoneQueueUrl: 'https://sqs/zones.fifo',
      deadLetterQueueUrl: 'https://sqs/dead-letter',
      maxAttempts: 2,
      retryBackoff: { baseSeconds: 1, capSeconds: 8 },
    },
    route53: fakes.route53 as unknown as Route53Client,
    sfn: fakes.sfn as unknown as SFNClient,
    sqs: fakes.sqs as unknown as SQSClient,
    logger: new Logger({ serviceName: 'r53dyn', logLevel: 'SILENT' }),
    now: () => now,
  };

  // Act
  const response = await processDeltas(deltaEvent(3), deps);

  // Assert: two attempts spent (receive 1 and 3), the bound is 2: the message leaves with the timeout's reason
  expect(fakes.calls).toEqual([
    `describe ${executionName(zone.hostedZoneId, 'delta-1', 2)}`,
    `describe ${executionName(zone.hostedZoneId, 'delta-1', 1)}`,
  ]);
  expect(fakes.letters).toEqual([
    expect.stringMatching(/^workflow-error: .*-r1 ended TIMED_OUT .*\(after 2 attempts\)$/),
  ]);
  expect(response).toEqual({ batchItemFailures: [] });
});
