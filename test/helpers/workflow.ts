// The apply-zone-change workflow as the tests run it: the definition rendered the way the serverless framework
// would render it, deployed to LocalStack, executed, and read back through its history.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
import { accountId, region, sfn } from './localstack';

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
