// The apply-zone-change workflow as the tests run it (docs/design.md §8): the definition buildWorkflow() makes,
// deployed as a state machine of its own per test file, fed with rounds the real planner plans (planRound) from
// real deltas on a FIFO zone queue of its own and from what Route 53 really holds, executed, and read back
// through its history, Route 53 and the queue.
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  type HistoryEvent,
  paginateGetExecutionHistory,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { DeleteParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { readForRound } from '../../handlers/adapters/route53';
import { sendDeltas } from '../../handlers/adapters/sqs';
import { deduplicationId, packDeltas } from '../../handlers/core/delta';
import type { Change, InstanceGone, Message, Registration, ZoneRule } from '../../handlers/core/model';
import { type PreviousExecution, type Verdict, verdictsOf } from '../../handlers/core/outcome';
import { planRound, type RoundPlan, readsFor, type ZoneDelta } from '../../handlers/core/round';
import type { WorkflowInput } from '../../handlers/core/workflow-input';
import { zoneParameterValue } from '../../infra/resources';
import { buildWorkflow, type WorkflowValues } from '../../workflows/apply-zone-change';
import { accountId, endpoint, region, route53, sfn, sqs, ssm } from './localstack';

/** The owner id the test rounds are planned under (written as o= in every registry entry). */
export const TEST_OWNER_ID = 'r53dyn-test';
/** What a failed round's deltas are released with (`release.later`): long enough to be seen in flight. */
export const RELEASE_LATER_SECONDS = 60;
/** The zone queue's visibility timeout: what a round holds its deltas for when nothing releases them. */
export const ZONE_QUEUE_VISIBILITY_SECONDS = 600;

/** The deploy-time values a test chooses; the SSM prefix and the queue URL come from the fixture. */
export type WorkflowSettings = Omit<WorkflowValues, 'allowlistParameterPrefix' | 'zoneQueueUrl'>;

/** Short bounds: every Retry gives up after two retries, INSYNC polls start at 1 s. */
export const FAST_SETTINGS: WorkflowSettings = {
  retryAttempts: 2,
  insyncFirstWaitSeconds: 1,
  insyncMaxWaitSeconds: 2,
  insyncTimeoutSeconds: 30,
};

export interface TestZone {
  rule: ZoneRule;
  zoneId: string;
  zoneName: string;
  /** `dyn.<zone name>`: records are strictly below it, so the zone also holds names outside the suffix */
  suffix: string;
  parameterName: string;
}

export interface WorkflowFixture {
  stateMachineName: string;
  arn: string;
  values: WorkflowValues;
  queueUrl: string;
  /** a hosted zone with its allowlist entry in SSM, as the stack writes it */
  createZone(options?: ZoneOptions): Promise<TestZone>;
  cleanUp(): Promise<void>;
}

export interface ZoneOptions {
  /** a first label for the zone's name: `pending<N>` makes GetChange answer PENDING N times (route53-preconditions.py) */
  label?: string;
  rule?: Partial<Omit<ZoneRule, 'hostedZoneId' | 'suffix'>>;
  /** false: no SSM entry for the zone */
  allowlisted?: boolean;
}

const bareZoneId = (id: string | undefined) => (id ?? '').replace('/hostedzone/', '');
const runId = () => `r${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/**
 * A state machine named `stateMachineName` (SFN_MOCK_CONFIG finds its test cases by that name) built by
 * buildWorkflow against a FIFO zone queue and an SSM prefix of this run; `build` may adjust the definition.
 */
export async function createWorkflowFixture(
  stateMachineName: string,
  settings: WorkflowSettings = FAST_SETTINGS,
  build: (values: WorkflowValues) => object = buildWorkflow,
): Promise<WorkflowFixture> {
  const run = runId();
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `r53dyn-test-${run}-zone.fifo`,
      Attributes: { FifoQueue: 'true', VisibilityTimeout: String(ZONE_QUEUE_VISIBILITY_SECONDS) },
    }),
  );
  const queueUrl = queue.QueueUrl ?? '';
  const values: WorkflowValues = {
    allowlistParameterPrefix: `/r53dyn-test/${run}/zones`,
    zoneQueueUrl: queueUrl,
    ...settings,
  };
  const arn = await deployStateMachine(stateMachineName, JSON.stringify(build(values)));
  const parameters: string[] = [];
  let zones = 0;
  return {
    stateMachineName,
    arn,
    values,
    queueUrl,
    async createZone(options = {}) {
      zones += 1;
      const zone = await createTestZone(values.allowlistParameterPrefix, run, zones, options);
      parameters.push(zone.parameterName);
      return zone;
    },
    async cleanUp() {
      // best effort: hosted zones stay (they cannot be deleted while they hold records)
      await Promise.allSettled([
        sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })),
        ...parameters.map((Name) => ssm.send(new DeleteParameterCommand({ Name }))),
      ]);
    },
  };
}

async function createTestZone(prefix: string, run: string, n: number, options: ZoneOptions) {
  const zoneName = `${options.label ? `${options.label}.` : ''}z${n}.${run}.example.test`;
  const created = await route53.send(
    new CreateHostedZoneCommand({ Name: zoneName, CallerReference: `${run}-${n}` }),
  );
  const zoneId = bareZoneId(created.HostedZone?.Id);
  const rule: ZoneRule = {
    hostedZoneId: zoneId,
    suffix: `dyn.${zoneName}`,
    ttl: 60,
    types: ['A', 'AAAA'],
    maxValuesPerRecord: 100,
    leaseSeconds: 0,
    allowPrivate: false,
    ...options.rule,
  };
  const parameterName = `${prefix}/${zoneId}`;
  if (options.allowlisted !== false) {
    await ssm.send(
      new PutParameterCommand({ Name: parameterName, Type: 'String', Value: zoneParameterValue(rule) }),
    );
  }
  return { rule, zoneId, zoneName, suffix: rule.suffix, parameterName };
}

export const stateMachineArn = (name: string) => `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;

/** Creates the state machine, or replaces the definition of one an earlier run left. */
export async function deployStateMachine(name: string, definition: string): Promise<string> {
  const arn = stateMachineArn(name);
  const roleArn = `arn:aws:iam::${accountId}:role/r53dyn-test-workflow`;
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

// --- messages and rounds ---

let messageCount = 0;

/** An EC2 instance id, distinct per number. */
export const instanceId = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

/** A validated register message (what the batcher puts in a delta) for `<name>.<suffix>.`. */
export function registration(
  zone: TestZone,
  name: string,
  instance: number,
  address: { ipv4?: string; ipv6?: string },
  kind: Registration['kind'] = 'register',
): Registration {
  messageCount += 1;
  return {
    kind,
    messageId: `m-${process.pid}-${messageCount}`,
    sentAt: Date.now() - 1000,
    senderId: `AROAEXAMPLEROLEID12345:${instanceId(instance)}`,
    record: `${name}.${zone.suffix}.`,
    hostedZoneId: zone.zoneId,
    instanceId: instanceId(instance),
    ...address,
  };
}

/** An EC2 instance left (an EventBridge state change, as the batcher puts it in a delta). */
export function instanceGone(instance: number): InstanceGone {
  messageCount += 1;
  return {
    kind: 'instance-gone',
    messageId: `m-${process.pid}-${messageCount}`,
    sentAt: Date.now() - 1000,
    instanceId: instanceId(instance),
  };
}

/** `count` distinct public IPv4 addresses, numbered from `offset`. */
export function publicIpv4s(count: number, offset = 0): string[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + offset;
    return `52.94.${Math.floor(n / 250)}.${(n % 250) + 1}`;
  });
}

/** One register per value of `name`, from instances numbered from `firstInstance`. */
export function registrations(zone: TestZone, name: string, ipv4s: string[], firstInstance = 1) {
  return ipv4s.map((ipv4, i) => registration(zone, name, firstInstance + i, { ipv4 }));
}

/** The planner's settings for a test round: its `later` release is RELEASE_LATER_SECONDS. */
const roundSettings = (zone: TestZone) => ({
  zone: zone.rule,
  ownerId: TEST_OWNER_ID,
  now: Date.now(),
  maxAttempts: 3,
  retryBackoff: { baseSeconds: RELEASE_LATER_SECONDS, capSeconds: RELEASE_LATER_SECONDS },
  random: 0.999,
});

export interface PlannedRound {
  zone: TestZone;
  /** the deltas this round holds in flight on the zone queue, with their receipt handles */
  deltas: ZoneDelta[];
  plan: RoundPlan;
  input: WorkflowInput;
}

export interface RoundOptions {
  verdicts?: Verdict[];
}

/**
 * What the planner does for one receive: the messages packed into deltas (the batcher's packDeltas) and sent
 * to the zone queue, received back (the round's lock), the zone read as the planner reads it, and the round
 * planned by planRound. The deltas stay in flight until the workflow deletes or releases them.
 */
export async function planTestRound(
  fixture: WorkflowFixture,
  zone: TestZone,
  messages: Message[],
  options: RoundOptions = {},
): Promise<PlannedRound> {
  const deltas = await receiveDeltas(fixture, zone, messages);
  const read = await readForRound(route53, zone.zoneId, zone.suffix, readsFor(messages));
  const plan = planRound({
    ...roundSettings(zone),
    deltas,
    rrsets: read.rrsets,
    verdicts: options.verdicts ?? [],
  });
  if (!plan.execution) throw new Error(`the round plans no execution: ${JSON.stringify(plan.deadLetters)}`);
  return { zone, deltas, plan, input: plan.execution.input };
}

/** Rounds receive one at a time: the zone queue is shared by every zone of the fixture, as the stack's is. */
let receiving: Promise<unknown> = Promise.resolve();

/**
 * Sends the messages as deltas and receives them back, as the planner's receive would: only this zone's
 * message group is taken (older deltas of the zone first, as FIFO hands them out; with no messages, whatever
 * the zone has waiting); another zone's deltas that show up are leftovers of a round that has ended, and are
 * set aside for the queue's visibility timeout.
 */
function receiveDeltas(fixture: WorkflowFixture, zone: TestZone, messages: Message[]): Promise<ZoneDelta[]> {
  const turn = receiving.then(() => sendAndReceive(fixture, zone, messages));
  receiving = turn.catch(() => undefined);
  return turn;
}

async function sendAndReceive(fixture: WorkflowFixture, zone: TestZone, messages: Message[]) {
  const packed = packDeltas(zone.zoneId, messages);
  if (packed.length > 10) throw new Error(`${packed.length} deltas: a round receives at most 10`);
  const unsent = await sendDeltas(sqs, fixture.queueUrl, packed);
  if (unsent.length > 0) throw new Error(`deltas ${unsent.join(', ')} were not sent`);
  const deltas: ZoneDelta[] = [];
  const sent = new Set(packed.map((d) => deduplicationId(d)));
  for (let polls = 0; sent.size > 0 || deltas.length === 0; polls += 1) {
    if (polls === 20) throw new Error(`${sent.size} of the round's ${packed.length} deltas never came`);
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: fixture.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    for (const m of out.Messages ?? []) {
      if (m.Attributes?.MessageGroupId !== zone.zoneId) {
        await setAside(fixture, m.ReceiptHandle ?? '');
        continue;
      }
      sent.delete(m.Attributes?.MessageDeduplicationId ?? '');
      deltas.push({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
        messages: (JSON.parse(m.Body ?? '{}') as { messages: Message[] }).messages,
      });
    }
  }
  return deltas;
}

async function setAside(fixture: WorkflowFixture, ReceiptHandle: string) {
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: fixture.queueUrl,
      ReceiptHandle,
      VisibilityTimeout: ZONE_QUEUE_VISIBILITY_SECONDS,
    }),
  );
}

/** The planner's verdicts on how the round's execution ended (docs/design.md §4.5). */
export const endVerdicts = (round: PlannedRound, execution: FinishedExecution) =>
  verdictsOf(
    {
      name: execution.executionArn,
      status: execution.status as PreviousExecution['status'],
      error: execution.error,
      cause: execution.cause,
    },
    round.zone.suffix,
  );

/**
 * What the planner makes of the round when its deltas come back (docs/design.md §4.5): the verdicts it reads
 * from the execution's end, and the round it plans from them against what Route 53 holds now, with the same
 * deltas received once more.
 */
export async function nextRound(round: PlannedRound, execution: FinishedExecution) {
  const verdicts = verdictsOf(
    {
      name: execution.executionArn,
      status: execution.status as never,
      error: execution.error,
      cause: execution.cause,
    },
    round.zone.suffix,
  );
  const messages = round.deltas.flatMap((d) => d.messages);
  const read = await readForRound(route53, round.zone.zoneId, round.zone.suffix, readsFor(messages));
  const plan = planRound({
    ...roundSettings(round.zone),
    deltas: round.deltas.map((d) => ({ ...d, receiveCount: d.receiveCount + 1 })),
    rrsets: read.rrsets,
    verdicts,
  });
  return { verdicts, plan };
}

// --- executions ---

export interface FinishedExecution {
  executionArn: string;
  status: string;
  output: unknown;
  error?: string;
  cause?: string;
  history: HistoryEvent[];
}

let executionCount = 0;

/** Starts an execution, with `testCase` one of SFN_MOCK_CONFIG's for this state machine. */
export async function startExecution(
  fixture: Pick<WorkflowFixture, 'arn'>,
  input: unknown,
  testCase?: string,
): Promise<string> {
  executionCount += 1;
  const started = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: testCase ? `${fixture.arn}#${testCase}` : fixture.arn,
      name: `t${Date.now().toString(36)}-${process.pid}-${executionCount}`,
      input: JSON.stringify(input),
    }),
  );
  return started.executionArn ?? '';
}

/** Starts an execution and waits for its end; returns the end with the full history. */
export async function runExecution(
  fixture: Pick<WorkflowFixture, 'arn'>,
  input: unknown,
  testCase?: string,
): Promise<FinishedExecution> {
  return finishedExecution(await startExecution(fixture, input, testCase));
}

export async function finishedExecution(executionArn: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') {
      return {
        executionArn,
        status: d.status ?? '',
        output: d.output === undefined ? undefined : JSON.parse(d.output),
        error: d.error,
        cause: d.cause,
        history: await executionHistory(executionArn),
      };
    }
    if (Date.now() > deadline) throw new Error(`${executionArn} still RUNNING after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Every event of an execution's history, all pages. */
export async function executionHistory(executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  for await (const page of paginateGetExecutionHistory({ client: sfn, pageSize: 1000 }, { executionArn })) {
    events.push(...(page.events ?? []));
  }
  return events;
}

/** Runs `tasks` with at most `limit` at once, results in order: LocalStack shares two cores with the tests. */
export async function inBatches<T, R>(
  items: T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await task(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// --- reading a history ---

/** Names of the states entered, in order, Map iterations included. */
export const statesEntered = (history: HistoryEvent[]): string[] =>
  history.flatMap((e) => (e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : []));

/** State transitions as Step Functions bills them: one per state entered, Map iterations included. */
export const transitions = (history: HistoryEvent[]): number =>
  history.filter((e) => e.type?.endsWith('StateEntered')).length;

/** The seconds each WaitForInsync was told to wait, from the input it was entered with. */
export const insyncWaits = (history: HistoryEvent[]): number[] =>
  history
    .filter((e) => e.type === 'WaitStateEntered' && e.stateEnteredEventDetails?.name === 'WaitForInsync')
    .map((e) => JSON.parse(e.stateEnteredEventDetails?.input ?? '{}').insync.waitSeconds as number);

export interface TaskCall {
  parameters: Record<string, unknown>;
  /** the service's answer, or its error */
  output?: unknown;
  error?: string;
  cause?: string;
}

/**
 * Every call a Task made to `resource` (e.g. `sqs:changeMessageVisibilityBatch`), retries included, with its
 * parameters and the answer or error that came back.
 */
export function taskCalls(history: HistoryEvent[], resource: string): TaskCall[] {
  const [service, action] = resource.split(':');
  const calls: TaskCall[] = [];
  // Tasks run one at a time (parts too: MaxConcurrency 1), so an answer belongs to the call scheduled last; a
  // mocked Task's TaskFailed names no resource, so answers are matched by order, not by name
  let open: TaskCall | undefined;
  for (const e of history) {
    if (e.type === 'TaskScheduled') {
      const d = e.taskScheduledEventDetails;
      open =
        d?.resourceType === `aws-sdk:${service}` && d.resource === action
          ? { parameters: JSON.parse(d.parameters ?? '{}') }
          : undefined;
      if (open) calls.push(open);
    }
    if (e.type === 'TaskSucceeded' && open)
      open.output = JSON.parse(e.taskSucceededEventDetails?.output ?? 'null');
    if (e.type === 'TaskFailed' && open) {
      open.error = e.taskFailedEventDetails?.error;
      open.cause = e.taskFailedEventDetails?.cause;
    }
    if (e.type === 'TaskSucceeded' || e.type === 'TaskFailed') open = undefined;
  }
  return calls;
}

// --- the zone queue ---

export type DeltaState = 'deleted' | 'visible' | 'in flight';

/**
 * Where each of the round's deltas is now, read through LocalStack's SQS developer endpoint (which receives
 * nothing and changes no visibility): gone, visible (receivable at once), or in flight.
 */
export async function deltaStates(fixture: WorkflowFixture, round: PlannedRound): Promise<DeltaState[]> {
  const url = `${endpoint}/_aws/sqs/messages?QueueUrl=${encodeURIComponent(fixture.queueUrl)}&ShowInvisible=true`;
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  const body = (await response.json()) as {
    ReceiveMessageResponse: { ReceiveMessageResult: { Message?: QueuedMessage | QueuedMessage[] } | null };
  };
  const listed = body.ReceiveMessageResponse.ReceiveMessageResult?.Message ?? [];
  const byId = new Map((Array.isArray(listed) ? listed : [listed]).map((m) => [m.MessageId, m]));
  return round.deltas.map((delta) => {
    const message = byId.get(delta.messageId);
    if (!message) return 'deleted';
    return attribute(message, 'IsVisible') === 'true' ? 'visible' : 'in flight';
  });
}

interface QueuedMessage {
  MessageId: string;
  Attribute?: { Name: string; Value: string } | { Name: string; Value: string }[];
}

function attribute(message: QueuedMessage, name: string): string | undefined {
  const list = Array.isArray(message.Attribute) ? message.Attribute : [message.Attribute];
  return list.find((a) => a?.Name === name)?.Value;
}

// --- Route 53 ---

/** The zone's record sets, sorted, as a user would list them. */
export async function recordSets(zoneId: string): Promise<ResourceRecordSet[]> {
  const listed = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return (listed.ResourceRecordSets ?? []).sort((a, b) =>
    `${a.Name} ${a.Type}`.localeCompare(`${b.Name} ${b.Type}`),
  );
}

/** The zone's record sets below the suffix as `name type` -> sorted values (the SOA and NS left out). */
export async function recordsBelow(zone: TestZone): Promise<Record<string, string[]>> {
  const sets: ResourceRecordSet[] = [];
  let start: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type'] } = {};
  for (;;) {
    const out = await route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zone.zoneId, MaxItems: 300, ...start }),
    );
    sets.push(...(out.ResourceRecordSets ?? []));
    if (!out.IsTruncated) break;
    start = { StartRecordName: out.NextRecordName, StartRecordType: out.NextRecordType };
  }
  return Object.fromEntries(
    sets
      .filter((s) => s.Name?.endsWith(`.${zone.suffix}.`))
      .map((s) => [`${s.Name} ${s.Type}`, (s.ResourceRecords ?? []).map((r) => r.Value ?? '').sort()]),
  );
}

/** Writes changes straight to Route 53, as another writer (or an operator) would. */
export async function writeZone(zone: TestZone, changes: Change[]): Promise<void> {
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zone.zoneId,
      ChangeBatch: { Changes: changes as never },
    }),
  );
}
