// Nothing lost under faults (docs/design.md §8.3, §9): every Task of the workflow failing in each way it can,
// and what becomes of the round. Each case is a round the real planner planned, in a zone of its own; each shows
// how the execution ends (error and cause as §8.3 says), which parts were written, where the round's deltas are
// (deleted, visible at once, released with their `later` visibility, or still in flight until the zone queue's
// visibility timeout brings them back), and what the planner makes of the round when they come back (§4.5):
// retry, refuse with a reason, or nothing left to write. Service errors come from LocalStack's SFN_MOCK_CONFIG
// (test/data/sfn-mock-config.json; the execution names a test case, the mocked Task fails on every attempt);
// the others are real: a missing SSM entry, Route 53 throttling (infra/local/hooks/route53-limits.py), a
// concurrent writer and a name conflict (route53-preconditions.py, route53-name-rules.py), a deleted zone.
import { DeleteHostedZoneCommand } from '@aws-sdk/client-route-53';
import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { reasonCode } from '../../handlers/core/contract';
import type { Change, Message } from '../../handlers/core/model';
import { buildWorkflow } from '../../workflows/apply-zone-change';
import { endpoint, route53, sfn } from '../helpers/localstack';
import { resetRoute53Limits, setRoute53Limits } from '../helpers/route53-limits';
import {
  createWorkflowFixture,
  type DeltaState,
  deltaStates,
  endVerdicts,
  executionHistory,
  FAST_SETTINGS,
  type FinishedExecution,
  finishedExecution,
  inBatches,
  nextRound,
  type PlannedRound,
  planTestRound,
  publicIpv4s,
  recordsBelow,
  registration,
  registrations,
  runExecution,
  startExecution,
  type TestZone,
  taskCalls,
  type WorkflowFixture,
  writeZone,
  type ZoneOptions,
} from '../helpers/workflow';

jest.setTimeout(300_000);

const name = (r: number) => `r${String(r).padStart(2, '0')}`;
/** Twelve records of 30 machines: two ChangeBatches by Route 53's limits, r00-r10 and r11. */
const twoParts = (zone: TestZone) =>
  Array.from({ length: 12 }, (_, r) =>
    registrations(zone, name(r), publicIpv4s(30, r * 30), r * 30 + 1),
  ).flat();
const oneRecord = (zone: TestZone) => registrations(zone, 'web', ['52.95.7.1', '52.95.7.2']);

interface FaultCase {
  title: string;
  /** the SFN_MOCK_CONFIG test case that makes the Task fail, if mocked */
  testCase?: string;
  zone?: ZoneOptions;
  /** rounds written before this one */
  before?: (zone: TestZone) => Message[];
  messages: (zone: TestZone) => Message[];
  /** what happens between planning and the execution: another writer, a deleted zone, ... */
  arrange?: (zone: TestZone) => Promise<void>;
  /** what the planner would have planned otherwise */
  tamper?: (round: PlannedRound) => void;
}

interface Outcome {
  round: PlannedRound;
  execution: FinishedExecution;
  deltas: DeltaState[];
  /** the round's records whose A values are now what the round wrote */
  written: string[];
}

const recordsOf = (round: PlannedRound, part?: number) =>
  round.input.parts.flatMap((p, n) => (part === undefined || n === part ? p.records : []));
const namesOf = (round: PlannedRound, part?: number) => recordsOf(round, part).map((r) => r.name);

async function written(round: PlannedRound): Promise<string[]> {
  const held: Record<string, string[]> = await recordsBelow(round.zone).catch(() => ({}));
  const wanted = (r: PlannedRound['input']['parts'][number]['records'][number]) =>
    (r.slots[1][0]?.ResourceRecordSet.ResourceRecords ?? []).map((v) => v.Value).sort();
  return recordsOf(round)
    .filter((r) => JSON.stringify(held[`${r.name}.${round.zone.suffix}. A`]) === JSON.stringify(wanted(r)))
    .map((r) => r.name);
}

async function planFor(fixture: WorkflowFixture, fault: FaultCase) {
  const zone = await fixture.createZone(fault.zone);
  if (fault.before) {
    const first = await planTestRound(fixture, zone, fault.before(zone));
    const execution = await runExecution(fixture, first.input);
    if (execution.status !== 'SUCCEEDED') throw new Error(`the first round ended ${execution.status}`);
  }
  return planTestRound(fixture, zone, fault.messages(zone));
}

async function outcomeOf(fixture: WorkflowFixture, round: PlannedRound, execution: FinishedExecution) {
  return { round, execution, deltas: await deltaStates(fixture, round), written: await written(round) };
}

async function play(fixture: WorkflowFixture, fault: FaultCase): Promise<Outcome> {
  const round = await planFor(fixture, fault);
  await fault.arrange?.(round.zone);
  fault.tamper?.(round);
  return outcomeOf(fixture, round, await runExecution(fixture, round.input, fault.testCase));
}

/** The planner's verdicts on the execution's end (docs/design.md §4.5), by kind and reason code. */
const verdictsOfEnd = ({ round, execution }: Outcome) =>
  endVerdicts(round, execution).map((v) => [v.kind, 'reason' in v ? reasonCode(v.reason) : undefined]);

/** What the planner makes of the round when its deltas come back: verdicts, dead letters, records to write. */
async function plannerNext(outcome: Outcome) {
  const { plan } = await nextRound(outcome.round, outcome.execution);
  return {
    verdicts: verdictsOfEnd(outcome),
    deadLetters: plan.deadLetters.map((d) => [d.messageId, reasonCode(d.reason)]),
    writes: (plan.execution?.input.parts ?? []).flatMap((p) => p.records.map((r) => r.name)),
  };
}

const cname = (name: string): Change =>
  ({
    Action: 'CREATE',
    ResourceRecordSet: {
      Name: name,
      Type: 'CNAME',
      TTL: 60,
      ResourceRecords: [{ Value: 'elsewhere.example.org.' }],
    },
  }) as Change;

/** Another writer's change to r11's A: one more value than the round read. */
async function otherWriter(zone: TestZone) {
  const current = (await recordsBelow(zone))[`${name(11)}.${zone.suffix}. A`] ?? [];
  const rrset = (values: string[]) => ({
    Name: `${name(11)}.${zone.suffix}.`,
    Type: 'A',
    TTL: 60,
    ResourceRecords: values.map((Value) => ({ Value })),
  });
  await writeZone(zone, [
    { Action: 'DELETE', ResourceRecordSet: rrset(current) },
    { Action: 'CREATE', ResourceRecordSet: rrset([...current, '192.0.2.99']) },
  ]);
}

const faults: FaultCase[] = [
  { title: 'SSM throttles past the Retry', testCase: 'SsmThrottled', messages: oneRecord },
  { title: 'the zone has no SSM entry', zone: { allowlisted: false }, messages: oneRecord },
  { title: 'SSM denies access', testCase: 'SsmAccessDenied', messages: oneRecord },
  {
    title: 'Route 53 answers PriorRequestNotComplete past the Retry',
    testCase: 'PriorRequestNotComplete',
    messages: twoParts,
  },
  {
    title: 'another writer changed a record of the last part (compare-and-swap)',
    before: twoParts,
    // one newcomer per record: every record is a DELETE and a CREATE of its A and its registry
    messages: (zone) =>
      Array.from({ length: 12 }, (_, r) =>
        registration(zone, name(r), 9000 + r, { ipv4: `52.95.9.${r + 1}` }),
      ),
    arrange: otherWriter,
  },
  {
    title: 'a CNAME appeared at a record of the second part',
    messages: twoParts,
    arrange: (zone) => writeZone(zone, [cname(`${name(11)}.${zone.suffix}.`)]),
  },
  {
    title: 'the hosted zone was deleted',
    messages: oneRecord,
    arrange: async (zone) => {
      await route53.send(new DeleteHostedZoneCommand({ Id: zone.zoneId }));
    },
  },
  { title: 'Route 53 answers InvalidInput', testCase: 'InvalidInput', messages: oneRecord },
  { title: 'Route 53 denies access', testCase: 'Route53AccessDenied', messages: oneRecord },
  { title: 'SQS throttles DeleteDeltas past the Retry', testCase: 'DeleteThrottled', messages: oneRecord },
  {
    title: 'the zone queue is gone when DeleteDeltas runs',
    testCase: 'DeleteQueueMissing',
    messages: oneRecord,
  },
  { title: 'GetChange throttles past the Retry', testCase: 'PollThrottled', messages: oneRecord },
  { title: 'GetChange does not know the change', testCase: 'PollNoSuchChange', messages: oneRecord },
  {
    title: 'SQS throttles ReleaseZone past the Retry',
    testCase: 'ReleaseLaterThrottled',
    zone: { allowlisted: false },
    messages: oneRecord,
  },
  {
    title: 'the zone queue is gone when ReleaseZone runs',
    testCase: 'ReleaseLaterQueueMissing',
    zone: { allowlisted: false },
    messages: oneRecord,
  },
];

let fixture: WorkflowFixture;
const outcomes = new Map<string, Outcome>();
const played = (title: string) => {
  const outcome = outcomes.get(title);
  if (!outcome) throw new Error(`no case "${title}"`);
  return outcome;
};

/** Route 53 lets one ChangeResourceRecordSets through, then throttles: the second part never gets in. */
async function throttledSecondPart(): Promise<Outcome> {
  const round = await planFor(fixture, { title: '', messages: twoParts });
  await setRoute53Limits(endpoint, {
    enabled: true,
    operations: { ChangeResourceRecordSets: { capacity: 1, refillPerSecond: 0.001 } },
  });
  try {
    return await outcomeOf(fixture, round, await runExecution(fixture, round.input));
  } finally {
    await resetRoute53Limits(endpoint);
  }
}

/** A round whose `testCase` keeps a Task throttled (ten retries), on a state machine of its own. */
async function keptThrottled(stateMachine: string, testCase: string, timeoutSeconds?: number) {
  const f = await createWorkflowFixture(stateMachine, { ...FAST_SETTINGS, retryAttempts: 10 }, (values) => ({
    ...buildWorkflow(values),
    ...(timeoutSeconds === undefined ? {} : { TimeoutSeconds: timeoutSeconds }),
  }));
  const zone = await f.createZone();
  const round = await planTestRound(f, zone, oneRecord(zone));
  return { f, round, arn: await startExecution(f, round.input, testCase) };
}

/**
 * Stopped while LoadZoneAllowlist waits in its Retry. (LocalStack 4.13.1 cannot stop an execution inside a Map
 * iteration: it fails it with States.Runtime instead; AWS aborts it wherever it is.)
 */
async function stoppedByOperator(): Promise<Outcome & { f: WorkflowFixture }> {
  const { f, round, arn } = await keptThrottled('r53dyn-test-workflow-stop', 'SsmThrottledForLong');
  for (let polls = 0; !(await executionHistory(arn)).some((e) => e.type === 'TaskFailed'); polls += 1) {
    if (polls === 100) throw new Error('LoadZoneAllowlist never failed');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await sfn.send(
    new StopExecutionCommand({ executionArn: arn, error: 'Operator', cause: 'stopped by hand' }),
  );
  return { f, ...(await outcomeOf(f, round, await finishedExecution(arn))) };
}

/** Past a TimeoutSeconds of 3 while ApplyPart waits in its Retry, before anything is deleted or released. */
async function timedOut(): Promise<Outcome & { f: WorkflowFixture }> {
  const { f, round, arn } = await keptThrottled('r53dyn-test-workflow-timeout', 'ThrottledForLong', 3);
  return { f, ...(await outcomeOf(f, round, await finishedExecution(arn))) };
}

let throttled: Outcome;
let stopped: Outcome & { f: WorkflowFixture };
let late: Outcome & { f: WorkflowFixture };

beforeAll(async () => {
  fixture = await createWorkflowFixture('r53dyn-test-workflow-faults');
  // alone: Route 53's limits are LocalStack's, every round would meet them
  throttled = await throttledSecondPart();
  const cases = Promise.all([stoppedByOperator(), timedOut()]);
  const results = await inBatches(faults, 5, (fault) => play(fixture, fault));
  for (const [n, outcome] of results.entries()) outcomes.set(faults[n]?.title ?? '', outcome);
  [stopped, late] = await cases;
});

afterAll(() => Promise.all([fixture.cleanUp(), stopped?.f.cleanUp(), late?.f.cleanUp()]));

/** Attempts of a Task whose error its Retry names: the first and every retry. */
const PASSES = FAST_SETTINGS.retryAttempts + 1;

/** The one SQS call of a failed round: ReleaseZone gave its deltas back with their `later` visibility. */
function releasedLater(f: WorkflowFixture, { round, execution }: Outcome) {
  expect(taskCalls(execution.history, 'sqs:changeMessageVisibilityBatch')).toEqual([
    {
      parameters: { QueueUrl: f.queueUrl, Entries: round.input.release.later },
      output: { Successful: round.deltas.map((_, n) => ({ Id: `d${n}` })), Failed: [] },
    },
  ]);
  expect(taskCalls(execution.history, 'sqs:deleteMessageBatch')).toEqual([]);
}

describe('LoadZoneAllowlist', () => {
  it('throttled past its Retry: fails with SSM’s error, nothing written, released later; the planner retries', async () => {
    const outcome = played('SSM throttles past the Retry');
    const { round, execution } = outcome;

    expect([execution.status, execution.error, execution.cause]).toEqual([
      'FAILED',
      'Ssm.ThrottlingException',
      'Rate exceeded (Service: Ssm, Status Code: 400, Request ID: mocked)',
    ]);
    expect(taskCalls(execution.history, 'ssm:getParameter').map((c) => c.error)).toEqual(
      Array(PASSES).fill('Ssm.ThrottlingException'),
    );
    expect(outcome.written).toEqual([]);
    releasedLater(fixture, outcome);
    expect(outcome.deltas).toEqual(['in flight']);
    expect(await plannerNext(outcome)).toEqual({
      verdicts: [['retry', 'retries-exhausted']],
      deadLetters: [],
      writes: namesOf(round),
    });
  });

  it('without an entry in SSM: SettingsUnavailable, released later; the planner retries', async () => {
    const outcome = played('the zone has no SSM entry');
    const { round, execution } = outcome;

    expect([execution.status, execution.error, execution.cause]).toEqual([
      'FAILED',
      'SettingsUnavailable',
      `no allowlist entry ${round.zone.parameterName} for this hosted zone (yet)`,
    ]);
    expect(taskCalls(execution.history, 'ssm:getParameter').map((c) => c.error)).toEqual([
      'Ssm.ParameterNotFoundException',
    ]);
    releasedLater(fixture, outcome);
    expect(outcome.deltas).toEqual(['in flight']);
    expect(await plannerNext(outcome)).toEqual({
      verdicts: [['retry', 'settings-unavailable']],
      deadLetters: [],
      writes: namesOf(round),
    });
  });

  it('denied: fails with SSM’s AccessDenied at once, released later; the planner dead-letters access-denied', async () => {
    const outcome = played('SSM denies access');
    const { round, execution } = outcome;

    expect([execution.status, execution.error]).toEqual(['FAILED', 'Ssm.AccessDeniedException']);
    expect(execution.cause).toMatch(/^User: .* is not authorized to perform: ssm:GetParameter /);
    expect(taskCalls(execution.history, 'ssm:getParameter')).toHaveLength(1);
    releasedLater(fixture, outcome);
    expect(await plannerNext(outcome)).toEqual({
      verdicts: [['refuse', 'access-denied']],
      deadLetters: round.deltas[0]?.messages.map((m) => [m.messageId, 'access-denied']),
      writes: [],
    });
  });
});

/** The PartsFailed cause: one entry per refused part, its records, error and cause (docs/design.md §8.3). */
const partFailures = (execution: FinishedExecution) => {
  expect([execution.status, execution.error]).toEqual(['FAILED', 'PartsFailed']);
  return JSON.parse(execution.cause ?? '') as { records: string[]; error: string; cause: string }[];
};

describe('ApplyPart', () => {
  it('throttled by Route 53 past its Retry: the first part written, the second named in PartsFailed', async () => {
    const { round, execution } = throttled;

    expect(round.input.parts.map((p) => p.records.length)).toEqual([11, 1]);
    expect(partFailures(execution)).toEqual([
      {
        records: namesOf(round, 1),
        error: 'Route53.Route53Exception',
        cause: expect.stringMatching(
          /^Rate exceeded \(Service: Route53, Status Code: 400, Request ID: [-0-9a-f]+\)$/,
        ),
      },
    ]);
    expect(taskCalls(execution.history, 'route53:changeResourceRecordSets').map((c) => c.error)).toEqual([
      undefined,
      ...Array(PASSES).fill('Route53.Route53Exception'),
    ]);
    expect(throttled.written).toEqual(namesOf(round, 0));
    releasedLater(fixture, throttled);
    expect(throttled.deltas).toEqual(['in flight']);
    expect(await plannerNext(throttled)).toEqual({
      verdicts: [['retry', 'retries-exhausted']],
      deadLetters: [],
      writes: namesOf(round, 1),
    });
  });

  it('answered PriorRequestNotComplete past its Retry: every part named; the planner retries them all', async () => {
    const outcome = played('Route 53 answers PriorRequestNotComplete past the Retry');
    const { round, execution } = outcome;
    const cause =
      'The request was rejected because Route 53 was still processing a prior request. (Service: Route53, Status Code: 400, Request ID: mocked)';

    expect(partFailures(execution)).toEqual(
      [0, 1].map((part) => ({
        records: namesOf(round, part),
        error: 'Route53.PriorRequestNotCompleteException',
        cause,
      })),
    );
    expect(outcome.written).toEqual([]);
    releasedLater(fixture, outcome);
    expect(await plannerNext(outcome)).toEqual({
      verdicts: [
        ['retry', 'retries-exhausted'],
        ['retry', 'retries-exhausted'],
      ],
      deadLetters: [],
      writes: namesOf(round),
    });
  });

  it('refused by compare-and-swap: the other parts written, the conflict retried against the new state', async () => {
    const outcome = played('another writer changed a record of the last part (compare-and-swap)');
    const { round, execution } = outcome;
    const last = round.input.parts.length - 1;

    expect(namesOf(round, last)).toContain(name(11));
    expect(partFailures(execution)).toEqual([
      {
        records: namesOf(round, last),
        error: 'Route53.InvalidChangeBatchException',
        cause: expect.stringMatching(
          new RegExp(
            `^\\[Tried to delete resource record set \\[name='${name(11)}\\.${round.zone.suffix.replace(/\./g, '\\.')}\\.', type='A'\\] but the values provided do not match the current values\\] \\(Service: Route53`,
          ),
        ),
      },
    ]);
    expect(outcome.written).toEqual(namesOf(round).filter((n) => !namesOf(round, last).includes(n)));
    releasedLater(fixture, outcome);
    expect(await plannerNext(outcome)).toEqual({
      verdicts: [['retry', 'write-conflict']],
      deadLetters: [],
      writes: namesOf(round, last),
    });
  });

  it('refused for a name conflict: the first part written, the record Route 53 names dead-lettered next', async () => {
    const outcome = played('a CNAME appeared at a record of the second part');
    const { round, execution } = outcome;
    const record = `${name(11)}.${round.zone.suffix}.`;

    expect(partFailures(execution)).toEqual([
      {
        records: [name(11)],
        error: 'Route53.InvalidChangeBatchException',
        cause: expect.stringContaining(
          `[RRSet of type A with DNS name ${record} is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone`,
        ),
      },
    ]);
    expect(outcome.written).toEqual(namesOf(round, 0));
    releasedLater(fixture, outcome);
    const next = await plannerNext(outcome);
    expect(next.verdicts).toEqual([['refuse', 'invalid-change']]);
    expect(next.writes).toEqual([]);
    expect(next.deadLetters).toEqual(
      (round.deltas[0]?.messages ?? [])
        .filter((m) => 'record' in m && m.record === record)
        .map((m) => [m.messageId, 'name-conflict']),
    );
  });

  it('for a hosted zone that is gone: PartsFailed with NoSuchHostedZone; the planner dead-letters zone-missing', async () => {
    const outcome = played('the hosted zone was deleted');
    const { round, execution } = outcome;

    expect(partFailures(execution)).toEqual([
      {
        records: ['web'],
        error: 'Route53.NoSuchHostedZoneException',
        cause: expect.stringMatching(
          new RegExp(
            `^No hosted zone found with ID: ${round.zone.zoneId} \\(Service: Route53, Status Code: 404`,
          ),
        ),
      },
    ]);
    expect(taskCalls(execution.history, 'route53:changeResourceRecordSets')).toHaveLength(1);
    releasedLater(fixture, outcome);
    expect(outcome.deltas).toEqual(['in flight']);
    expect(verdictsOfEnd(outcome)).toEqual([['refuse', 'zone-missing']]);
  });

  it('answered InvalidInput: PartsFailed at once; the planner dead-letters the record invalid-change', async () => {
    const outcome = played('Route 53 answers InvalidInput');
    const { round, execution } = outcome;

    expect(partFailures(execution)).toEqual([
      {
        records: ['web'],
        error: 'Route53.InvalidInputException',
        cause: expect.stringMatching(/^Invalid request: /),
      },
    ]);
    expect(taskCalls(execution.history, 'route53:changeResourceRecordSets')).toHaveLength(1);
    releasedLater(fixture, outcome);
    expect(await plannerNext(outcome)).toEqual({
      verdicts: [['refuse', 'invalid-change']],
      deadLetters: round.deltas[0]?.messages.map((m) => [m.messageId, 'invalid-change']),
      writes: [],
    });
  });

  it('denied: retried as an unmodelled error, then PartsFailed; the planner dead-letters access-denied', async () => {
    const outcome = played('Route 53 denies access');
    const { round, execution } = outcome;

    expect(partFailures(execution)).toEqual([
      {
        records: ['web'],
        error: 'Route53.Route53Exception',
        cause: expect.stringMatching(
          /is not authorized to perform: route53:ChangeResourceRecordSets .*Status Code: 403/,
        ),
      },
    ]);
    expect(taskCalls(execution.history, 'route53:changeResourceRecordSets')).toHaveLength(PASSES);
    releasedLater(fixture, outcome);
    expect(await plannerNext(outcome)).toEqual({
      verdicts: [['refuse', 'access-denied']],
      deadLetters: round.deltas[0]?.messages.map((m) => [m.messageId, 'access-denied']),
      writes: [],
    });
  });
});

/** A round that is written, then loses its release: its deltas stay in flight until the visibility timeout. */
const writtenButHeld = (outcome: Outcome) => {
  expect(outcome.execution.status).toBe('SUCCEEDED');
  expect(outcome.written).toEqual(namesOf(outcome.round));
  expect(outcome.deltas).toEqual(['in flight']);
};

describe('DeleteDeltas', () => {
  it.each([
    ['SQS throttles DeleteDeltas past the Retry', 'Sqs.RequestThrottledException', PASSES],
    ['the zone queue is gone when DeleteDeltas runs', 'Sqs.QueueDoesNotExistException', 1],
  ])(
    'failing (%s): the round succeeds, its deltas come back at the visibility timeout, with nothing left to write',
    async (title, error, attempts) => {
      const outcome = played(title);

      writtenButHeld(outcome);
      expect(taskCalls(outcome.execution.history, 'sqs:deleteMessageBatch').map((c) => c.error)).toEqual(
        Array(attempts).fill(error),
      );
      expect(await plannerNext(outcome)).toEqual({ verdicts: [], deadLetters: [], writes: [] });
    },
  );
});

describe('CheckChangeStatus', () => {
  it.each([
    [
      'GetChange throttles past the Retry',
      'Route53.Route53Exception',
      'Rate exceeded (Service: Route53, Status Code: 400, Request ID: mocked)',
      PASSES,
    ],
    [
      'GetChange does not know the change',
      'Route53.NoSuchChangeException',
      'A change with the specified change ID does not exist. (Service: Route53, Status Code: 404, Request ID: mocked)',
      1,
    ],
  ])(
    'failing (%s): ends with GetChange’s error after the round is written and its deltas deleted',
    (title, error, cause, attempts) => {
      const outcome = played(title);
      const { execution } = outcome;

      expect([execution.status, execution.error, execution.cause]).toEqual(['FAILED', error, cause]);
      expect(taskCalls(execution.history, 'route53:getChange').map((c) => c.error)).toEqual(
        Array(attempts).fill(error),
      );
      expect(outcome.written).toEqual(namesOf(outcome.round));
      expect(outcome.deltas).toEqual(['deleted']);
    },
  );
});

describe('ReleaseZone', () => {
  it.each([
    ['SQS throttles ReleaseZone past the Retry', 'Sqs.RequestThrottledException', PASSES],
    ['the zone queue is gone when ReleaseZone runs', 'Sqs.QueueDoesNotExistException', 1],
  ])(
    'failing (%s): ends with the round’s own error; its deltas come back at the visibility timeout',
    async (title, error, attempts) => {
      const outcome = played(title);
      const { round, execution } = outcome;

      expect([execution.status, execution.error, execution.cause]).toEqual([
        'FAILED',
        'SettingsUnavailable',
        `no allowlist entry ${round.zone.parameterName} for this hosted zone (yet)`,
      ]);
      expect(taskCalls(execution.history, 'sqs:changeMessageVisibilityBatch').map((c) => c.error)).toEqual(
        Array(attempts).fill(error),
      );
      expect(outcome.deltas).toEqual(['in flight']);
      expect(await plannerNext(outcome)).toEqual({
        verdicts: [['retry', 'settings-unavailable']],
        deadLetters: [],
        writes: namesOf(round),
      });
    },
  );
});

describe('an execution that does not finish', () => {
  it.each([
    ['stopped by an operator', () => stopped, 'ABORTED'],
    ['past its TimeoutSeconds', () => late, 'TIMED_OUT'],
  ] as const)(
    '%s leaves its deltas in flight, nothing deleted or released; the planner retries the zone',
    async (_, outcome, status) => {
      const { round, execution, deltas } = outcome();

      expect(execution.status).toBe(status);
      expect(taskCalls(execution.history, 'sqs:deleteMessageBatch')).toEqual([]);
      expect(taskCalls(execution.history, 'sqs:changeMessageVisibilityBatch')).toEqual([]);
      expect(outcome().written).toEqual([]);
      expect(deltas).toEqual(['in flight']);
      expect(await plannerNext(outcome())).toEqual({
        verdicts: [['retry', 'workflow-error']],
        deadLetters: [],
        writes: namesOf(round),
      });
    },
  );
});
