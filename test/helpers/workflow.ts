// The apply-zone-change workflow as the tests run it: the definition rendered the way the serverless framework
// would render it, deployed to LocalStack, executed, and read back through its history.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { DeleteParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import {
  ATTEMPT_ATTRIBUTE,
  type RequeueEntry,
  SENT_AT_ATTRIBUTE,
  type WorkflowInput,
} from '../../handlers/core/batch';
import { accountId, region, route53, sfn, sqs, ssm } from './localstack';

export const definitionPath = join(__dirname, '..', '..', 'workflows', 'apply-zone-change.asl.json');

export interface WorkflowValues {
  allowlistParameterPrefix: string;
  registrationsQueueUrl: string;
  deadLetterQueueUrl: string;
  maxRequeueAttempts: number;
  insyncFirstWaitSeconds: number;
  insyncMaxWaitSeconds: number;
  insyncTimeoutSeconds: number;
}

const placeholder = /\$\{self:custom\.workflow\.([A-Za-z]+)\}/g;

/**
 * Substitutes `${self:custom.workflow.<key>}` as the serverless framework does: a placeholder that is a whole
 * JSON string becomes the value itself (so numbers end up unquoted), one inside a longer string is spliced in.
 */
export function renderDefinition(values: WorkflowValues): string {
  const lookup = (key: string): string | number => {
    const value = (values as unknown as Record<string, string | number | undefined>)[key];
    if (value === undefined)
      throw new Error(`workflow definition uses \${self:custom.workflow.${key}}, no value given`);
    return value;
  };
  const raw = readFileSync(definitionPath, 'utf8');
  const whole = raw.replace(/"\$\{self:custom\.workflow\.([A-Za-z]+)\}"/g, (_, key: string) =>
    JSON.stringify(lookup(key)),
  );
  return whole.replace(placeholder, (_, key: string) => JSON.stringify(String(lookup(key))).slice(1, -1));
}

export const stateMachineArn = (name: string) => `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;

/**
 * Creates the state machine, or replaces the definition of one left by an earlier run. The name is fixed
 * because SFN_MOCK_CONFIG (test/data/sfn-mock-config.json) finds its mocked test cases by state machine name.
 */
export async function deployWorkflow(name: string, definition: string): Promise<string> {
  const arn = stateMachineArn(name);
  const roleArn = `arn:aws:iam::${accountId}:role/r53dyn-test`;
  try {
    await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
  } catch (error) {
    if (!(error instanceof StateMachineDoesNotExist)) throw error;
    await sfn.send(new CreateStateMachineCommand({ name, definition, roleArn, type: 'STANDARD' }));
    return arn;
  }
  await sfn.send(new UpdateStateMachineCommand({ stateMachineArn: arn, definition, roleArn }));
  return arn;
}

export interface FinishedExecution {
  executionArn: string;
  status: string;
  output: unknown;
  error?: string;
  cause?: string;
  history: HistoryEvent[];
}

let executionCounter = 0;

/**
 * Starts an execution (with `mockedTestCase`, one of SFN_MOCK_CONFIG's test cases for this state machine),
 * waits until it is no longer RUNNING and returns its outcome with the full history.
 */
export async function runExecution(
  arn: string,
  input: unknown,
  options: { mockedTestCase?: string; timeoutMs?: number } = {},
): Promise<FinishedExecution> {
  executionCounter += 1;
  const started = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: options.mockedTestCase ? `${arn}#${options.mockedTestCase}` : arn,
      name: `t${Date.now()}-${process.pid}-${executionCounter}`,
      input: JSON.stringify(input),
    }),
  );
  const executionArn = started.executionArn as string;
  const described = await waitForEnd(executionArn, options.timeoutMs ?? 60_000);
  const history = await executionHistory(executionArn);
  return {
    executionArn,
    status: described.status as string,
    output: described.output === undefined ? undefined : JSON.parse(described.output),
    error: described.error,
    cause: described.cause,
    history,
  };
}

async function waitForEnd(executionArn: string, timeoutMs: number): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') return described;
    if (Date.now() > deadline)
      throw new Error(`execution ${executionArn} still RUNNING after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function executionHistory(executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** Names of the states entered, in order (Map iterations included). */
export const statesEntered = (history: HistoryEvent[]): string[] =>
  history.flatMap((event) =>
    event.stateEnteredEventDetails?.name ? [event.stateEnteredEventDetails.name] : [],
  );

/** The seconds each Wait state was told to wait, read from the input it was entered with. */
export const waitDurations = (history: HistoryEvent[], stateName = 'WaitForInsync'): number[] =>
  history
    .filter(
      (event) => event.type === 'WaitStateEntered' && event.stateEnteredEventDetails?.name === stateName,
    )
    .map((event) => JSON.parse(event.stateEnteredEventDetails?.input ?? '{}').insync.waitSeconds as number);

/** Task attempts of one service API (e.g. `route53:getChange`): each is a TaskScheduled event. */
export const taskCalls = (history: HistoryEvent[], resourceType: string, resource: string): HistoryEvent[] =>
  history.filter(
    (event) =>
      event.type === 'TaskScheduled' &&
      event.taskScheduledEventDetails?.resourceType === resourceType &&
      event.taskScheduledEventDetails?.resource === resource,
  );

/** Settings a test chooses; the allowlist prefix and queue URLs come from the fixture. */
export type WorkflowSettings = Pick<
  WorkflowValues,
  'maxRequeueAttempts' | 'insyncFirstWaitSeconds' | 'insyncMaxWaitSeconds' | 'insyncTimeoutSeconds'
>;

export interface WorkflowFixture {
  arn: string;
  /** Allowlisted hosted zone (bare id) and its suffix, `dyn.<run>.example.test`, strictly inside the zone. */
  zoneId: string;
  zoneName: string;
  suffix: string;
  /** A second hosted zone in the same account that has no allowlist parameter. */
  otherZoneId: string;
  otherZoneName: string;
  allowlistParameterPrefix: string;
  registrationsQueueUrl: string;
  deadLetterQueueUrl: string;
  cleanUp(): Promise<void>;
}

const bareZoneId = (id: string | undefined) => (id ?? '').replace('/hostedzone/', '');

/**
 * Everything one test file needs, named after a fresh run id so that runs and other engineers' tests never
 * share a zone, parameter or queue: an allowlisted zone with its SSM parameter, a zone without one, both
 * queues, and the state machine `stateMachineName` rendered against them.
 */
export async function createWorkflowFixture(
  stateMachineName: string,
  settings: WorkflowSettings,
): Promise<WorkflowFixture> {
  const run = `r${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const zoneName = `${run}.example.test`;
  const otherZoneName = `other-${run}.example.test`;
  const suffix = `dyn.${zoneName}`;
  const zone = await route53.send(new CreateHostedZoneCommand({ Name: zoneName, CallerReference: run }));
  const other = await route53.send(
    new CreateHostedZoneCommand({ Name: otherZoneName, CallerReference: `${run}-other` }),
  );
  const zoneId = bareZoneId(zone.HostedZone?.Id);
  const otherZoneId = bareZoneId(other.HostedZone?.Id);
  const allowlistParameterPrefix = `/r53dyn-test/${run}/zones`;
  await ssm.send(
    new PutParameterCommand({
      Name: `${allowlistParameterPrefix}/${zoneId}`,
      Type: 'String',
      Value: JSON.stringify({ suffix, types: ['A', 'AAAA'] }),
    }),
  );
  const registrations = await sqs.send(
    new CreateQueueCommand({ QueueName: `r53dyn-test-${run}-registrations` }),
  );
  const deadLetter = await sqs.send(new CreateQueueCommand({ QueueName: `r53dyn-test-${run}-dead-letter` }));
  const registrationsQueueUrl = registrations.QueueUrl as string;
  const deadLetterQueueUrl = deadLetter.QueueUrl as string;
  const arn = await deployWorkflow(
    stateMachineName,
    renderDefinition({ allowlistParameterPrefix, registrationsQueueUrl, deadLetterQueueUrl, ...settings }),
  );
  return {
    arn,
    zoneId,
    zoneName,
    suffix,
    otherZoneId,
    otherZoneName,
    allowlistParameterPrefix,
    registrationsQueueUrl,
    deadLetterQueueUrl,
    async cleanUp() {
      // best effort: LocalStack is shared and may have been restarted by someone else in the meantime
      await Promise.allSettled([
        sqs.send(new DeleteQueueCommand({ QueueUrl: registrationsQueueUrl })),
        sqs.send(new DeleteQueueCommand({ QueueUrl: deadLetterQueueUrl })),
        ssm.send(new DeleteParameterCommand({ Name: `${allowlistParameterPrefix}/${zoneId}` })),
      ]);
    },
  };
}

/** The zone's record sets, sorted, as a user would list them. */
export async function recordSets(zoneId: string): Promise<ResourceRecordSet[]> {
  const listed = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return (listed.ResourceRecordSets ?? []).sort((a, b) =>
    `${a.Name} ${a.Type}`.localeCompare(`${b.Name} ${b.Type}`),
  );
}

export interface ReceivedMessage {
  body: string;
  attributes: Record<string, { DataType?: string; StringValue?: string }>;
}

/** Receives (and deletes) what is on a queue until it comes back empty. */
export async function drainQueue(queueUrl: string): Promise<ReceivedMessage[]> {
  const received: ReceivedMessage[] = [];
  for (;;) {
    const page = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 1,
      }),
    );
    const messages = page.Messages ?? [];
    if (messages.length === 0) return received;
    for (const message of messages) {
      received.push({
        body: message.Body ?? '',
        attributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(([key, value]) => [
            key,
            { DataType: value.DataType, StringValue: value.StringValue },
          ]),
        ),
      });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
}

/**
 * The batcher's workflow input, loosened where the hostile tests send what the batcher never would
 * (a zone id or changes of any shape).
 */
export type ZoneChangeInput = Omit<WorkflowInput, 'hostedZoneId' | 'changes'> & {
  hostedZoneId: unknown;
  changes: unknown[];
};

/** The entry the batcher would put in `requeue` for a registration it received on `attempt`. */
export function requeueEntry(
  index: number,
  body: object,
  attempt: number,
  sentTimestamp: number,
): RequeueEntry {
  return {
    Id: `m${index}`,
    MessageBody: JSON.stringify(body),
    MessageAttributes: {
      [ATTEMPT_ATTRIBUTE]: { DataType: 'Number', StringValue: String(attempt + 1) },
      [SENT_AT_ATTRIBUTE]: { DataType: 'Number', StringValue: String(sentTimestamp) },
    },
  };
}

/** A change on the address record `<relativeName>.<suffix>.`, shaped as the batcher plans it. */
export function addressChange(
  suffix: string,
  action: 'CREATE' | 'DELETE',
  relativeName: string,
  values: string[],
  type: 'A' | 'AAAA' = 'A',
) {
  return {
    relativeName,
    change: {
      Action: action,
      ResourceRecordSet: {
        Name: `${relativeName}.${suffix}.`,
        Type: type,
        TTL: 60,
        ResourceRecords: values.map((Value) => ({ Value })),
      },
    },
  };
}

/**
 * The events of one visit to a Task state, from its TaskStateEntered to its TaskStateExited (or the end):
 * every attempt Retry makes shows up here as TaskScheduled, TaskStarted and TaskFailed or TaskSucceeded.
 */
export function taskStateEvents(history: HistoryEvent[], stateName: string): HistoryEvent[] {
  const start = history.findIndex(
    (event) => event.type === 'TaskStateEntered' && event.stateEnteredEventDetails?.name === stateName,
  );
  if (start < 0) return [];
  const end = history.findIndex(
    (event, index) =>
      index > start && event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === stateName,
  );
  return history.slice(start + 1, end < 0 ? undefined : end);
}
