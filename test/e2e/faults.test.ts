// Nothing lost under faults (docs/design.md §4.4, §4.5, §9): real registrations go through the registrations queue,
// the batcher, the FIFO zone queue, the planner and the workflow on LocalStack, while infra/local/hooks/faults.py
// answers chosen Route 53, SSM and SQS calls with AWS errors (the workflow's Tasks and the handlers' calls alike).
// Every message must end in exactly one terminal place, by message id: applied (its address and registry entry in
// Route 53, added by exactly one accepted ChangeBatch), or dead-lettered once with the exact reason code.
//
// The cases run at once, to keep the run short: the four that wait for the zone queue's visibility timeout (an
// execution that times out, one stopped by StopExecution, a failed DeleteDeltas, a failed ReleaseZone) each hold
// their own faults-* zone, while the short cases follow one another in dyn.example.test (a zone-wide fault must
// meet only its own case's rounds). SQS faults cannot be told apart by zone (one zone queue), so the short cases
// start only once the SQS faults are spent. beforeAll acts; each test reads one case's result.

import { DescribeStateMachineCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { ATTRIBUTES } from '../../handlers/core/contract';
import { addFault, clearFault, clearFaults, type FaultRuleInput, waitForFaultHits } from '../helpers/faults';
import { endpoint, sfn } from '../helpers/localstack';
import { registration } from '../helpers/messages';
import {
  DeadLetterCollector,
  executionsSince,
  reasonsOf,
  type SentRegistration,
  sendRegistrations,
  terminalPlaces,
  timesApplied,
} from '../helpers/outcomes';
import { type DeployedStack, deployedStack, describe as describeExecution, settle } from '../helpers/stack';

const run = Date.now().toString(36);
let deployed: DeployedStack;
let letters: DeadLetterCollector;
let ownerId: string;
let machines = 0;

interface CaseResult {
  zoneId: string;
  sent: SentRegistration[];
  started: number;
  ended: number;
  places?: Record<string, string>;
  applied?: Record<string, number>;
  /** `r<receive> <status>[ <error>]` of the case's executions, in receive order */
  executions?: string[];
}
const results = new Map<string, CaseResult>();

/** A register message for a fresh machine at `<label>-<run>.<suffix>`. */
function registrationAt(label: string, suffix: string) {
  machines += 1;
  return registration({
    record: `${label}-${run}.${suffix}`,
    instanceId: `i-0fa${String(machines).padStart(14, '0')}`,
    ipv4: `44.210.${Math.floor(machines / 250)}.${(machines % 250) + 1}`,
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutSeconds} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function executionsOf(zoneId: string, from: number, to = Number.POSITIVE_INFINITY) {
  const listed = await executionsSince(deployed.stateMachineArn, from, [zoneId]);
  const within = listed.filter((e) => (e.startDate?.getTime() ?? 0) <= to);
  return Promise.all(within.map((e) => describeExecution(e.executionArn ?? '')));
}

const receiveOf = (name: string) => Number(/-r(\d+)$/.exec(name)?.[1] ?? 0);

/** Runs one case: its faults, its messages, its own steps, until every message is in a terminal place. */
async function runCase(
  name: string,
  suffix: string,
  labels: string[],
  faults: FaultRuleInput[],
  steps: (ctx: { zoneId: string; rules: string[]; started: number }) => Promise<void> = async () => undefined,
  timeoutSeconds = 240,
): Promise<void> {
  const zoneId = deployed.zoneId(suffix);
  const rules = [];
  for (const fault of faults) rules.push((await addFault(endpoint, fault)).id);
  const started = Date.now();
  const sent = await sendRegistrations(
    deployed.queueUrl,
    labels.map((label) => registrationAt(label, suffix)),
  );
  results.set(name, { zoneId, sent, started, ended: started });
  await steps({ zoneId, rules, started });
  await waitFor(
    `${name}: every message in a terminal place`,
    async () => {
      await letters.collect();
      const places = await terminalPlaces(zoneId, ownerId, sent, letters);
      return Object.values(places).every((p) => p !== 'nowhere');
    },
    timeoutSeconds,
  );
  // a fault is cleared only once the case's executions are over: one still polling may yet meet it
  await waitFor(
    `${name}: no execution of the zone running`,
    async () => (await executionsOf(zoneId, started)).every((e) => e.status !== 'RUNNING'),
    120,
  );
  for (const id of rules) await clearFault(endpoint, id).catch(() => undefined);
  const result = results.get(name);
  if (result) result.ended = Date.now();
}

const route53 = (zoneId: string, operation: string, code: string, status: number, message: string) =>
  ({
    service: 'route53',
    operation,
    code,
    status,
    message,
    caller: operation === 'ListResourceRecordSets' ? 'client' : 'workflow',
    match: { HostedZoneId: zoneId },
  }) satisfies FaultRuleInput;

const ssm = (zoneId: string, code: string, extra: Partial<FaultRuleInput> = {}) =>
  ({
    service: 'ssm',
    operation: 'GetParameter',
    code,
    caller: 'workflow',
    match: { Name: zoneId },
    ...extra,
  }) satisfies FaultRuleInput;

const throttled = (zoneId: string) =>
  route53(zoneId, 'ChangeResourceRecordSets', 'Throttling', 400, 'Rate exceeded');

/** The first execution of a case, once it has started (its deltas are in flight from then on). */
async function firstExecution(zoneId: string, started: number) {
  let found: Awaited<ReturnType<typeof executionsOf>> = [];
  await waitFor(
    'the case’s first execution',
    async () => {
      found = await executionsOf(zoneId, started);
      return found.length > 0;
    },
    60,
  );
  return found.sort((a, b) => receiveOf(a.name) - receiveOf(b.name))[0];
}

/** How many calls a Task makes before its Retry gives up: its first and every retry. */
async function taskCalls(state: string): Promise<number> {
  const machine = await sfn.send(
    new DescribeStateMachineCommand({ stateMachineArn: deployed.stateMachineArn }),
  );
  const definition = JSON.parse(machine.definition ?? '{}');
  return 1 + Number(definition.States?.[state]?.Retry?.[0]?.MaxAttempts ?? 0);
}

// --- the cases that wait for the zone queue's visibility timeout, one faults-* zone each ---

/** The allowlist read hangs past the execution's TimeoutSeconds; the deltas come back and a later receive writes. */
async function timedOutExecution(): Promise<void> {
  const zoneId = deployed.zoneId('faults-a.example.test');
  await runCase(
    'timeout',
    'faults-a.example.test',
    ['late1', 'late2'],
    [ssm(zoneId, 'InternalServerError', { status: 500, count: 1, holdSeconds: 900 })],
    async ({ rules, started }) => {
      await waitForFaultHits(endpoint, rules[0] ?? '', 1);
      const first = await firstExecution(zoneId, started);
      await waitFor(
        'the hung execution times out',
        async () => (await describeExecution(first?.executionArn ?? '')).status === 'TIMED_OUT',
        400,
      );
      await clearFault(endpoint, rules[0] ?? '');
    },
    600,
  );
}

/** An operator stops the execution while it runs; the deltas come back at the visibility timeout. */
async function stoppedExecution(): Promise<void> {
  const zoneId = deployed.zoneId('faults-b.example.test');
  await runCase(
    'stopped',
    'faults-b.example.test',
    ['stop1', 'stop2'],
    [ssm(zoneId, 'InternalServerError', { status: 500, count: 1, holdSeconds: 900 })],
    async ({ rules, started }) => {
      await waitForFaultHits(endpoint, rules[0] ?? '', 1);
      const first = await firstExecution(zoneId, started);
      await sfn.send(
        new StopExecutionCommand({
          executionArn: first?.executionArn,
          error: 'Operator',
          cause: 'stopped by the test',
        }),
      );
      await clearFault(endpoint, rules[0] ?? '');
    },
    400,
  );
}

/** An SQS fault on one of the workflow's Tasks, spent after its Retry gives up: it cannot name a zone. */
async function sqsTaskFault(state: string, operation: string): Promise<{ id: string; calls: number }> {
  const calls = await taskCalls(state);
  const rule = await addFault(endpoint, {
    service: 'sqs',
    operation,
    code: 'RequestThrottled',
    message: 'Rate exceeded',
    caller: 'workflow',
    count: calls,
  });
  return { id: rule.id, calls };
}

/** DeleteDeltas fails past its Retry: the execution succeeds, the deltas come back and are found written. */
function deleteDeltasFails(): Promise<void> {
  return runCase('delete-deltas', 'faults-c.example.test', ['kept1', 'kept2'], [], undefined, 400);
}

/** The write is throttled and ReleaseZone fails too: the deltas come back at the visibility timeout. */
function releaseZoneFails(release: { id: string; calls: number }): Promise<void> {
  const zoneId = deployed.zoneId('faults-d.example.test');
  return runCase(
    'release-zone',
    'faults-d.example.test',
    ['held1', 'held2'],
    [throttled(zoneId)],
    async ({ rules }) => {
      await waitForFaultHits(endpoint, release.id, release.calls);
      await clearFault(endpoint, rules[0] ?? '');
    },
    400,
  );
}

// --- the short cases, one after the other in dyn.example.test ---

const DYN = 'dyn.example.test';

async function writeFaultCases(zoneId: string): Promise<void> {
  const getChange = await taskCalls('CheckChangeStatus');
  await runCase(
    'get-change',
    DYN,
    ['polled'],
    [
      {
        service: 'route53',
        operation: 'GetChange',
        code: 'Throttling',
        message: 'Rate exceeded',
        caller: 'workflow',
        count: getChange,
      },
    ],
  );
  await runCase(
    'throttled-then-applied',
    DYN,
    ['slow1', 'slow2'],
    [throttled(zoneId)],
    async ({ rules, started }) => {
      await waitFor(
        'the first execution fails',
        async () => (await executionsOf(zoneId, started)).some((e) => e.status === 'FAILED'),
        120,
      );
      await clearFault(endpoint, rules[0] ?? '');
    },
  );
  await runCase('retries-exhausted', DYN, ['jam1', 'jam2'], [throttled(zoneId)]);
  await runCase(
    'zone-read-throttled',
    DYN,
    ['unlisted'],
    [route53(zoneId, 'ListResourceRecordSets', 'Throttling', 400, 'Rate exceeded')],
    async ({ rules }) => {
      // the planner gives up its read and puts the deltas back after a jittered delay: then the throttling stops
      const released = await addFault(endpoint, {
        service: 'sqs',
        operation: 'ChangeMessageVisibilityBatch',
        caller: 'client',
        match: { QueueUrl: 'zones.fifo' },
        observe: true,
      });
      await waitForFaultHits(endpoint, released.id, 1);
      await clearFault(endpoint, rules[0] ?? '');
      await clearFault(endpoint, released.id);
    },
  );
}

async function invalidChangeCases(zoneId: string): Promise<void> {
  const bad = `bad-${run}.${DYN}.`;
  await runCase(
    'invalid-change-named',
    DYN,
    ['fine1', 'bad', 'fine2'],
    [
      {
        ...route53(
          zoneId,
          'ChangeResourceRecordSets',
          'InvalidChangeBatch',
          400,
          `[RRSet with DNS name ${bad} is not permitted in zone ${DYN}.]`,
        ),
        match: { HostedZoneId: zoneId, ChangeBatch: bad },
      },
    ],
  );
  await runCase(
    'invalid-input-isolated',
    DYN,
    ['plain', 'odd'],
    [
      {
        ...route53(zoneId, 'ChangeResourceRecordSets', 'InvalidInput', 400, 'Invalid request'),
        match: { HostedZoneId: zoneId, ChangeBatch: `odd-${run}.${DYN}.` },
      },
    ],
  );
}

async function refusalCases(zoneId: string): Promise<void> {
  await runCase(
    'zone-missing-at-write',
    DYN,
    ['vanished'],
    [
      route53(
        zoneId,
        'ChangeResourceRecordSets',
        'NoSuchHostedZone',
        404,
        `No hosted zone found with ID: ${zoneId}`,
      ),
    ],
  );
  const missing = `No hosted zone found with ID: ${zoneId}`;
  await runCase(
    'zone-missing-at-read',
    DYN,
    ['never'],
    [route53(zoneId, 'ListResourceRecordSets', 'NoSuchHostedZone', 404, missing)],
  );
  const denied = `User: arn:aws:sts::000000000000:assumed-role/r53dyn-local-workflow/states is not authorized to perform: route53:ChangeResourceRecordSets on resource: arn:aws:route53:::hostedzone/${zoneId}`;
  await runCase(
    'access-denied-route53',
    DYN,
    ['denied'],
    [route53(zoneId, 'ChangeResourceRecordSets', 'AccessDenied', 403, denied)],
  );
  await runCase(
    'access-denied-ssm',
    DYN,
    ['unread'],
    [
      ssm(zoneId, 'AccessDeniedException', {
        message: 'User is not authorized to perform: ssm:GetParameter',
      }),
    ],
  );
  await runCase('settings-back', DYN, ['patient'], [ssm(zoneId, 'ParameterNotFound', { count: 2 })]);
  await runCase('settings-gone', DYN, ['orphan'], [ssm(zoneId, 'ParameterNotFound')]);
  await unforeseenCases(zoneId);
}

async function unforeseenCases(zoneId: string): Promise<void> {
  // what Route 53 says when a compare-and-swap precondition fails: another writer got there first
  const clash = `[Tried to create resource record set [name='clash-${run}.${DYN}.', type='A'] but it already exists]`;
  await runCase(
    'write-conflict',
    DYN,
    ['clash'],
    [route53(zoneId, 'ChangeResourceRecordSets', 'InvalidChangeBatch', 400, clash)],
  );
  await runCase(
    'workflow-error',
    DYN,
    ['strange'],
    [route53(zoneId, 'ChangeResourceRecordSets', 'SomethingNew', 400, 'An error r53dyn has never seen')],
  );
}

/** SQS moves a message the batcher keeps failing to the dead-letter queue itself, after maxReceiveCount receives. */
async function receiveLimit(): Promise<void> {
  await runCase(
    'receive-limit',
    DYN,
    ['bounced'],
    [
      {
        service: 'sqs',
        operation: 'SendMessageBatch',
        code: 'AccessDenied',
        status: 403,
        message: 'Access to the resource is denied',
        caller: 'client',
        match: { QueueUrl: 'zones.fifo' },
      },
    ],
  );
}

async function summarise(): Promise<void> {
  await letters.collect();
  for (const [name, result] of results) {
    const shared = deployed.zoneId(DYN) === result.zoneId;
    const executions = await executionsOf(result.zoneId, result.started, shared ? result.ended : undefined);
    result.places = await terminalPlaces(result.zoneId, ownerId, result.sent, letters);
    result.applied = await timesApplied(
      deployed.stateMachineArn,
      result.started,
      [result.zoneId],
      result.sent,
    );
    result.executions = executions
      .sort((a, b) => receiveOf(a.name) - receiveOf(b.name))
      .map((e) => `r${receiveOf(e.name)} ${e.status}${e.error ? ` ${e.error}` : ''}`);
    process.stderr.write(`[faults] ${name}: ${((result.ended - result.started) / 1000).toFixed(0)} s\n`);
  }
}

beforeAll(async () => {
  deployed = await deployedStack();
  ownerId = deployed.deployment.outputs.OwnerId ?? '';
  letters = new DeadLetterCollector([
    deployed.deadLetterQueueUrl,
    deployed.deployment.outputs.ZoneDeadLetterQueueUrl ?? '',
  ]);
  await clearFaults(endpoint);
  deployed.pipeline.start();
  const began = Date.now();
  const deleteFault = await sqsTaskFault('DeleteDeltas', 'DeleteMessageBatch');
  const releaseFault = await sqsTaskFault('ReleaseZone', 'ChangeMessageVisibilityBatch');
  const long = [timedOutExecution(), stoppedExecution(), deleteDeltasFails(), releaseZoneFails(releaseFault)];
  await waitForFaultHits(endpoint, deleteFault.id, deleteFault.calls);
  await waitForFaultHits(endpoint, releaseFault.id, releaseFault.calls);
  for (const suffix of ['faults-c.example.test', 'faults-d.example.test']) {
    const zoneId = deployed.zoneId(suffix);
    await waitFor(
      `${suffix}: first round over`,
      async () => (await executionsOf(zoneId, began)).every((e) => e.status !== 'RUNNING'),
      120,
    );
  }
  const dyn = deployed.zoneId(DYN);
  await Promise.all([
    ...long,
    writeFaultCases(dyn)
      .then(() => invalidChangeCases(dyn))
      .then(() => refusalCases(dyn)),
  ]);
  await settle(deployed, undefined, 600);
  await receiveLimit();
  await settle(deployed, undefined, 300);
  await summarise();
  process.stderr.write(`[faults] all cases: ${((Date.now() - began) / 1000).toFixed(0)} s\n`);
}, 1_500_000);

afterAll(async () => {
  await clearFaults(endpoint);
  await deployed?.pipeline.stop();
});

const result = (name: string) => {
  const found = results.get(name);
  if (!found) throw new Error(`case ${name} did not run`);
  return found;
};
/** The case's message ids, in the order sent, with what each is expected to become. */
const expectPlaces = (name: string, places: string[]) =>
  Object.fromEntries(result(name).sent.map((s, i) => [s.messageId, places[i]]));
const expectApplied = (name: string, times: number[]) =>
  Object.fromEntries(result(name).sent.map((s, i) => [s.messageId, times[i]]));
/** What became of a case: each message's terminal place, how many times each was applied (when given), its executions. */
function expectCase(name: string, expected: { places: string[]; applied?: number[]; executions: string[] }) {
  const found = result(name);
  expect(found.places).toEqual(expectPlaces(name, expected.places));
  if (expected.applied) expect(found.applied).toEqual(expectApplied(name, expected.applied));
  expect(found.executions).toEqual(expected.executions);
}

describe('a workflow Task fails, then recovers', () => {
  test('GetChange throttled past its Retry after the write: the execution fails NotInSync’s way, the messages stay applied', () => {
    expectCase('get-change', {
      places: ['applied'],
      applied: [1],
      executions: ['r1 FAILED Route53.Route53Exception'],
    });
  });

  test('ChangeBatch throttled past its Retry: the FAILED batch is redelivered, a new execution applies it once the fault clears', () => {
    expectCase('throttled-then-applied', {
      places: ['applied', 'applied'],
      applied: [1, 1],
      executions: ['r1 FAILED PartsFailed', 'r2 SUCCEEDED'],
    });
  });

  test('the zone read throttled past the SDK’s retries: the deltas come back after a jittered delay, the next receive writes', () => {
    expectCase('zone-read-throttled', { places: ['applied'], applied: [1], executions: ['r2 SUCCEEDED'] });
  });

  test('the allowlist entry missing for two rounds, then back: applied by the third', () => {
    expectCase('settings-back', {
      places: ['applied'],
      applied: [1],
      executions: ['r1 FAILED SettingsUnavailable', 'r2 FAILED SettingsUnavailable', 'r3 SUCCEEDED'],
    });
  });
});

describe('a failure past the retry bound, or one no retry mends, dead-letters with its reason', () => {
  test('ChangeBatch throttled on every round: retries-exhausted after planner.maxAttempts', () => {
    const { sent } = result('retries-exhausted');
    expectCase('retries-exhausted', {
      places: ['dead-letter retries-exhausted', 'dead-letter retries-exhausted'],
      applied: [0, 0],
      executions: ['r1 FAILED PartsFailed', 'r2 FAILED PartsFailed', 'r3 FAILED PartsFailed'],
    });
    for (const { messageId } of sent) {
      expect(reasonsOf(letters, messageId)).toEqual([
        expect.stringMatching(/Rate exceeded.*\(after 3 attempts\)$/),
      ]);
    }
  });

  test('InvalidChangeBatch naming one record: that record’s message invalid-change, the others applied', () => {
    expectCase('invalid-change-named', {
      places: ['applied', 'dead-letter invalid-change', 'applied'],
      applied: [1, 0, 1],
      executions: ['r1 FAILED PartsFailed', 'r2 SUCCEEDED'],
    });
  });

  test('InvalidInput naming no record: each record written alone, only the refused one invalid-change', () => {
    expectCase('invalid-input-isolated', {
      places: ['applied', 'dead-letter invalid-change'],
      applied: [1, 0],
      executions: ['r1 FAILED PartsFailed', 'r2 FAILED PartsFailed'],
    });
  });

  test('the hosted zone gone at the write (NoSuchHostedZone): zone-missing on the first retry, no second execution', () => {
    expectCase('zone-missing-at-write', {
      places: ['dead-letter zone-missing'],
      executions: ['r1 FAILED PartsFailed'],
    });
  });

  test('the hosted zone not there at the read: zone-missing on the first try, no execution', () => {
    expectCase('zone-missing-at-read', { places: ['dead-letter zone-missing'], executions: [] });
  });

  test('Route 53 denies the write (AccessDenied, 403): access-denied', () => {
    expectCase('access-denied-route53', {
      places: ['dead-letter access-denied'],
      executions: ['r1 FAILED PartsFailed'],
    });
  });

  test('SSM denies the allowlist read (AccessDeniedException): access-denied', () => {
    expectCase('access-denied-ssm', {
      places: ['dead-letter access-denied'],
      executions: ['r1 FAILED Ssm.AccessDeniedException'],
    });
  });

  test('the allowlist entry missing for good: settings-unavailable after planner.maxAttempts', () => {
    expectCase('settings-gone', {
      places: ['dead-letter settings-unavailable'],
      executions: [
        'r1 FAILED SettingsUnavailable',
        'r2 FAILED SettingsUnavailable',
        'r3 FAILED SettingsUnavailable',
      ],
    });
  });
});

describe('a failure no one foresaw still ends with a reason', () => {
  test('a compare-and-swap conflict on every round: write-conflict after planner.maxAttempts', () => {
    expectCase('write-conflict', {
      places: ['dead-letter write-conflict'],
      executions: ['r1 FAILED PartsFailed', 'r2 FAILED PartsFailed', 'r3 FAILED PartsFailed'],
    });
  });

  test('an error Route 53’s model does not know (a 400 that is not throttling): workflow-error on the first retry', () => {
    const [sent] = result('workflow-error').sent;
    expectCase('workflow-error', {
      places: ['dead-letter workflow-error'],
      executions: ['r1 FAILED PartsFailed'],
    });
    expect(reasonsOf(letters, sent?.messageId ?? '')).toEqual([
      expect.stringMatching(/^workflow-error: .*Route53\.Route53Exception: An error r53dyn has never seen/),
    ]);
  });
});

describe('the deltas come back at the zone queue’s visibility timeout', () => {
  test('an execution that exceeds its TimeoutSeconds: a later receive starts a new execution that applies', () => {
    expectCase('timeout', {
      places: ['applied', 'applied'],
      applied: [1, 1],
      // receive 2 found r1 still running and kept the deltas; receive 3 planned again
      executions: ['r1 TIMED_OUT', 'r3 SUCCEEDED'],
    });
  });

  test('an execution stopped by StopExecution: the next receive starts a new execution that applies', () => {
    expectCase('stopped', {
      places: ['applied', 'applied'],
      applied: [1, 1],
      executions: ['r1 ABORTED', 'r2 SUCCEEDED'],
    });
  });

  test('DeleteDeltas failing past its Retry: the next receive finds the messages written and starts nothing', () => {
    expectCase('delete-deltas', {
      places: ['applied', 'applied'],
      applied: [1, 1],
      executions: ['r1 SUCCEEDED'],
    });
  });

  test('ReleaseZone failing after a failed write: the next receive reads the failure and a new execution applies', () => {
    expectCase('release-zone', {
      places: ['applied', 'applied'],
      applied: [1, 1],
      executions: ['r1 FAILED PartsFailed', 'r2 SUCCEEDED'],
    });
  });
});

test('a message the batcher cannot pass on is moved by SQS after maxReceiveCount, without r53dyn-reason (receive-limit)', () => {
  const [sent] = result('receive-limit').sent;
  expect(result('receive-limit').places).toEqual(
    expectPlaces('receive-limit', ['dead-letter without reason']),
  );
  const [letter] = letters.letters(sent?.messageId ?? '');
  expect(letter?.MessageAttributes?.[ATTRIBUTES.reason]).toBeUndefined();
  expect(JSON.parse(letter?.Body ?? '{}')).toEqual(sent?.body);
  expect(result('receive-limit').executions).toEqual([]);
});
