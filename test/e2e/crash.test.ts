// The batcher and the planner crash (docs/design.md §9): their SDK clients are wrapped so that the invocation dies
// right after its Nth call completes (the call's effect is done, nothing after it runs), for every N up to the
// number of calls a batch makes; the local event source reports the dead invocation as the whole batch failed and
// SQS delivers it again (the batcher's after 2 s, the planner's at the zone queue's visibility timeout). Every
// message must still reach exactly one terminal place, its effect applied at most once; a dead letter sent twice
// carries the same r53dyn-message-id both times.
import { Logger } from '@aws-lambda-powertools/logger';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processBatch } from '../../handlers/batcher';
import { ATTRIBUTES } from '../../handlers/core/contract';
import { processDeltas } from '../../handlers/planner';
import { readBatcherSettings, readPlannerSettings } from '../../handlers/settings';
import { localClientConfig } from '../../infra/local/connection';
import { localPipeline } from '../../infra/local/pipeline';
import { sqs } from '../helpers/localstack';
import { type RegistrationBody, registration } from '../helpers/messages';
import {
  DeadLetterCollector,
  executionsSince,
  type SentRegistration,
  terminalPlaces,
  timesApplied,
} from '../helpers/outcomes';
import {
  changeByHand,
  type DeployedStack,
  deployedStack,
  describe as describeExecution,
  settle,
} from '../helpers/stack';

const run = Date.now().toString(36);
const logger = new Logger({ serviceName: 'r53dyn', logLevel: 'ERROR' });
let deployed: DeployedStack;
let letters: DeadLetterCollector;
let ownerId: string;
let machines = 0;

/** Die after the `afterCall`th SDK call of one invocation completes. */
interface CrashPlan {
  afterCall: number;
  /** text in a body of the batch meant to crash (a scenario's record label): other batches run as they are */
  marker: string;
  calls: number;
  state: 'armed' | 'in use' | 'crashed' | 'finished';
}

/** The client with `send` counted: at the plan's call it kills the invocation and never returns. */
function crashing<T extends object>(client: T, plan: CrashPlan, die: () => void): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'send' || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const out = await value.apply(target, args);
        plan.calls += 1;
        if (plan.calls !== plan.afterCall) return out;
        plan.state = 'crashed';
        die();
        return new Promise(() => undefined);
      };
    },
  });
}

/** Runs an invocation; when its plan says die, the invocation is abandoned and the handler throws. */
async function invocation(
  plan: CrashPlan | undefined,
  body: (die: () => void) => Promise<SQSBatchResponse>,
): Promise<SQSBatchResponse> {
  if (!plan) return body(() => undefined);
  plan.state = 'in use';
  let die: () => void = () => undefined;
  const died = new Promise<never>((_, reject) => {
    die = () => reject(new Error(`crashed after SDK call ${plan.afterCall}`));
  });
  const response = await Promise.race([body(die), died]);
  plan.state = 'finished';
  return response;
}

let batcherPlan: CrashPlan | undefined;
const plannerPlans = new Map<string, CrashPlan>();

const clients = {
  sqs: new SQSClient(localClientConfig),
  route53: new Route53Client(localClientConfig),
  sfn: new SFNClient(localClientConfig),
};

/** The armed plan, if this batch carries its marker. */
function planFor(candidate: CrashPlan | undefined, event: SQSEvent): CrashPlan | undefined {
  if (candidate?.state !== 'armed') return undefined;
  return event.Records.some((r) => r.body.includes(candidate.marker)) ? candidate : undefined;
}

function batcher(event: SQSEvent): Promise<SQSBatchResponse> {
  const plan = planFor(batcherPlan, event);
  return invocation(plan, (die) =>
    processBatch(event, {
      settings: readBatcherSettings(process.env),
      sqs: plan ? crashing(clients.sqs, plan, die) : clients.sqs,
      logger,
      now: Date.now,
    }),
  );
}

function planner(event: SQSEvent): Promise<SQSBatchResponse> {
  const plan = planFor(plannerPlans.get(event.Records[0]?.attributes.MessageGroupId ?? ''), event);
  const wrap = <T extends object>(client: T, die: () => void) =>
    plan ? crashing(client, plan, die) : client;
  return invocation(plan, (die) =>
    processDeltas(event, {
      settings: readPlannerSettings(process.env),
      route53: wrap(clients.route53, die),
      sfn: wrap(clients.sfn, die),
      sqs: wrap(clients.sqs, die),
      logger,
      now: Date.now,
    }),
  );
}

function registrationAt(label: string, suffix: string): RegistrationBody {
  machines += 1;
  return registration({
    record: `${label}-${run}.${suffix}`,
    instanceId: `i-0cc${String(machines).padStart(14, '0')}`,
    ipv4: `44.211.${Math.floor(machines / 250)}.${(machines % 250) + 1}`,
  });
}

/** Sends bodies in one request, so that they make one batch; answers the message ids in order. */
async function sendTogether(bodies: string[]): Promise<string[]> {
  const out = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: deployed.queueUrl,
      Entries: bodies.map((MessageBody, n) => ({ Id: `m${n}`, MessageBody })),
    }),
  );
  const byId = new Map((out.Successful ?? []).map((s) => [s.Id, s.MessageId ?? '']));
  return bodies.map((_, n) => byId.get(`m${n}`) ?? '');
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutSeconds} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** An A record made by hand, without this stack's registry: a registration for it is dead-lettered not-managed. */
async function manualRecord(zoneId: string, name: string): Promise<void> {
  await changeByHand(zoneId, [{ name, type: 'A', values: ['198.51.100.7'] }]);
}

interface Scenario {
  plan: CrashPlan;
  zoneId: string;
  started: number;
  /** the registrations, and any other message sent with them (a body no one can read) */
  sent: SentRegistration[];
  others: { label: string; messageId: string }[];
}

const DYN = 'dyn.example.test';
const labelOf = (body: RegistrationBody) => body.record.split('-')[0] ?? '';

function armed(afterCall: number, marker: string): CrashPlan {
  return { afterCall, marker, calls: 0, state: 'armed' };
}

const invoked = (plan: CrashPlan) => async () => plan.state === 'crashed' || plan.state === 'finished';

/** Distinct places by label: a message dead-lettered twice (a crash between sending and acknowledging) reads once. */
async function placesOf(scenario: Scenario): Promise<Record<string, string[]>> {
  await letters.collect();
  const places = await terminalPlaces(scenario.zoneId, ownerId, scenario.sent, letters);
  const out: Record<string, string[]> = {};
  for (const { messageId, body } of scenario.sent) {
    out[labelOf(body)] = [...new Set((places[messageId] ?? '').split(', '))];
  }
  for (const { label, messageId } of scenario.others) {
    const reasons = letters
      .letters(messageId)
      .map((m) => m.MessageAttributes?.[ATTRIBUTES.reason]?.StringValue);
    out[label] =
      reasons.length === 0
        ? ['nowhere']
        : [...new Set(reasons.map((r) => `dead-letter ${r?.split(':')[0]}`))];
  }
  return out;
}

async function waitUntilTerminal(scenario: Scenario, timeoutSeconds: number): Promise<void> {
  await waitFor(
    `crash after call ${scenario.plan.afterCall}: every message in a terminal place`,
    async () => Object.values(await placesOf(scenario)).every((p) => !p.includes('nowhere')),
    timeoutSeconds,
  );
}

/** The batcher dies after call 1, 2, …, until a batch makes fewer calls than the plan waits for. */
async function batcherCrashes(): Promise<Scenario[]> {
  const scenarios: Scenario[] = [];
  for (let n = 1; n <= 6; n += 1) {
    const plan = armed(n, `b${n}x-${run}`);
    batcherPlan = plan;
    const bodies = [registrationAt(`b${n}x`, DYN), registrationAt(`b${n}y`, DYN)];
    const ids = await sendTogether([...bodies.map((b) => JSON.stringify(b)), `not json ${run} ${n}`]);
    const started = Date.now();
    await waitFor('the batcher’s invocation', invoked(plan), 60);
    const scenario: Scenario = {
      plan,
      zoneId: deployed.zoneId(DYN),
      started,
      sent: bodies.map((body, i) => ({ messageId: ids[i] ?? '', body })),
      others: [{ label: 'unreadable', messageId: ids[2] ?? '' }],
    };
    scenarios.push(scenario);
    await waitUntilTerminal(scenario, 120);
    if (plan.state === 'finished') return scenarios;
  }
  throw new Error('the batcher made more SDK calls than the test crashes it after');
}

/** The planner dies after call 1, 2, … of a zone round, each in its own zone (it waits a visibility timeout). */
async function plannerCrashes(): Promise<Scenario[]> {
  const scenarios: Scenario[] = [];
  const suffixes = ['a', 'b', 'c', 'd'].map((letter) => `faults-${letter}.example.test`);
  for (const [i, suffix] of suffixes.entries()) {
    const n = i + 1;
    const zoneId = deployed.zoneId(suffix);
    await manualRecord(zoneId, `manual${n}-${run}.${suffix}.`);
    const plan = armed(n, `ok${n}-${run}`);
    plannerPlans.set(zoneId, plan);
    const bodies = [registrationAt(`ok${n}`, suffix), registrationAt(`manual${n}`, suffix)];
    const ids = await sendTogether(bodies.map((b) => JSON.stringify(b)));
    const started = Date.now();
    await waitFor('the planner’s invocation', invoked(plan), 60);
    scenarios.push({
      plan,
      zoneId,
      started,
      sent: bodies.map((body, k) => ({ messageId: ids[k] ?? '', body })),
      others: [],
    });
    if (plan.state === 'finished') return scenarios;
  }
  throw new Error('the planner made more SDK calls than there are zones to crash it in');
}

async function executionsOf(scenario: Scenario): Promise<string[]> {
  const listed = await executionsSince(deployed.stateMachineArn, scenario.started - 5000, [scenario.zoneId]);
  const described = await Promise.all(listed.map((e) => describeExecution(e.executionArn ?? '')));
  return described.map((e) => `${/-(r\d+)$/.exec(e.name)?.[1]} ${e.status}`).sort();
}

let batcherScenarios: Scenario[] = [];
let plannerScenarios: Scenario[] = [];

beforeAll(async () => {
  const stack = await deployedStack();
  const pipeline = await localPipeline(stack.deployment, { waitSeconds: 1, handlers: { batcher, planner } });
  deployed = { ...stack, pipeline };
  ownerId = deployed.deployment.outputs.OwnerId ?? '';
  letters = new DeadLetterCollector([deployed.deadLetterQueueUrl]);
  deployed.pipeline.start();
  const began = Date.now();
  batcherScenarios = await batcherCrashes();
  process.stderr.write(`[crash] batcher: ${((Date.now() - began) / 1000).toFixed(0)} s\n`);
  plannerScenarios = await plannerCrashes();
  for (const scenario of plannerScenarios) await waitUntilTerminal(scenario, 400);
  await settle(deployed, undefined, 600);
  process.stderr.write(`[crash] batcher and planner: ${((Date.now() - began) / 1000).toFixed(0)} s\n`);
}, 1_200_000);

afterAll(async () => {
  await deployed?.pipeline.stop();
});

/** How many times each message of a scenario was applied, from the executions started since it began. */
async function appliedCounts(scenario: Scenario): Promise<number[]> {
  const started = scenario.started - 5000;
  return Object.values(
    await timesApplied(deployed.stateMachineArn, started, [scenario.zoneId], scenario.sent),
  );
}

test('the batcher dies after each of its SDK calls in turn: every message ends once, each effect at most once', async () => {
  // a batch with a dead letter makes two calls: the dead letters, then the deltas
  expect(batcherScenarios.map((s) => s.plan.state)).toEqual(['crashed', 'crashed', 'finished']);
  for (const scenario of batcherScenarios) {
    const n = scenario.plan.afterCall;
    expect(await placesOf(scenario)).toEqual({
      [`b${n}x`]: ['applied'],
      [`b${n}y`]: ['applied'],
      unreadable: ['dead-letter not-json'],
    });
    expect(await appliedCounts(scenario)).toEqual([1, 1]);
    const [unreadable] = scenario.others;
    for (const letter of letters.letters(unreadable?.messageId ?? '')) {
      expect(letter.MessageAttributes?.[ATTRIBUTES.messageId]?.StringValue).toBe(unreadable?.messageId);
    }
  }
});

test('the planner dies after each of its SDK calls in turn: every message ends once, each effect at most once', async () => {
  // a first round makes three calls: the zone read, the dead letters, StartExecution
  expect(plannerScenarios.map((s) => s.plan.state)).toEqual(['crashed', 'crashed', 'crashed', 'finished']);
  for (const scenario of plannerScenarios) {
    const n = scenario.plan.afterCall;
    expect(await placesOf(scenario)).toEqual({
      [`ok${n}`]: ['applied'],
      [`manual${n}`]: ['dead-letter not-managed'],
    });
    expect(await appliedCounts(scenario)).toEqual([1, 0]);
    for (const { messageId } of scenario.sent) {
      for (const letter of letters.letters(messageId)) {
        expect(letter.MessageAttributes?.[ATTRIBUTES.messageId]?.StringValue).toBe(messageId);
      }
    }
  }
  // dead before StartExecution: the deltas came back at the visibility timeout and receive 2 wrote them;
  // dead after it: the execution of receive 1 wrote them and deleted the deltas
  expect(await Promise.all(plannerScenarios.map(executionsOf))).toEqual([
    ['r2 SUCCEEDED'],
    ['r2 SUCCEEDED'],
    ['r1 SUCCEEDED'],
    ['r1 SUCCEEDED'],
  ]);
});
