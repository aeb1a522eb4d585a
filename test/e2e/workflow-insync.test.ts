// Waiting for INSYNC. LocalStack's Route 53 answers INSYNC at once; our LocalStack start hook
// (infra/local/hooks/route53-preconditions.py) gives each change its own id and, in a zone named pending<N>.…, answers
// PENDING to the first N GetChange polls, so "PENDING, PENDING, then INSYNC" runs the real, unmocked workflow.
// A change that stays PENDING (the time bound) and a throttled poll come from SFN_MOCK_CONFIG; the throttled
// poll is shown with Retry, whose count the mock follows.
import { CreateHostedZoneCommand } from '@aws-sdk/client-route-53';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { DeleteParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { route53, ssm } from '../helpers/localstack';
import {
  addressChange,
  createWorkflowFixture,
  recordSets,
  requeueEntry,
  runExecution,
  statesEntered,
  taskCalls,
  taskStateEvents,
  type WorkflowFixture,
  type WorkflowSettings,
  waitDurations,
  type ZoneChangeInput,
} from '../helpers/workflow';

jest.setTimeout(60_000);

const input = (zone: Pick<WorkflowFixture, 'zoneId' | 'suffix'>, relativeName: string): ZoneChangeInput => ({
  hostedZoneId: zone.zoneId,
  changes: [addressChange(zone.suffix, 'CREATE', relativeName, ['203.0.113.20'])],
  summary: {
    records: [{ record: `${relativeName}.${zone.suffix}.`, added: ['203.0.113.20'], removed: [] }],
    messages: 1,
    part: '1/1',
  },
  requeue: [[requeueEntry(0, { v: 1, action: 'register' }, 0, 1_700_000_000_000)]],
  attempt: 0,
});

/** Checks that each WaitForInsync visit really lasted its declared seconds (LocalStack adds a little). */
const expectWaitsToLast = (history: HistoryEvent[], seconds: number[]) => {
  const entered = history.filter((event) => event.type === 'WaitStateEntered');
  const exited = history.filter((event) => event.type === 'WaitStateExited');
  expect(entered).toHaveLength(seconds.length);
  seconds.forEach((declared, index) => {
    const lasted = (exited[index]?.timestamp?.getTime() ?? 0) - (entered[index]?.timestamp?.getTime() ?? 0);
    expect(lasted).toBeGreaterThanOrEqual(declared * 1000 - 50);
    expect(lasted).toBeLessThan(declared * 1000 + 1500);
  });
};

describe('waiting for INSYNC, doubling the wait up to a cap', () => {
  let fixture: WorkflowFixture;
  const settings: WorkflowSettings = {
    maxRequeueAttempts: 3,
    insyncFirstWaitSeconds: 1,
    insyncMaxWaitSeconds: 8,
    insyncTimeoutSeconds: 7,
  };

  beforeAll(async () => {
    fixture = await createWorkflowFixture('r53dyn-test-workflow-insync-doubling', settings);
  });

  afterAll(() => fixture.cleanUp());

  it('polls a PENDING change after 1, 2 and 4 seconds, then gives up at the 7-second bound', async () => {
    // Act
    const execution = await runExecution(fixture.arn, input(fixture, 'slow'), {
      mockedTestCase: 'PendingForever',
    });

    // Assert
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('NotInSync');
    expect(execution.cause).toMatch(
      new RegExp(
        `^change C[A-Z0-9]+ in hosted zone ${fixture.zoneId} was still PENDING after 7 seconds of waiting \\(3 polls\\)$`,
      ),
    );
    expect(waitDurations(execution.history)).toEqual([1, 2, 4]);
    expectWaitsToLast(execution.history, [1, 2, 4]);
    expect(taskCalls(execution.history, 'aws-sdk:route53', 'getChange')).toHaveLength(3);
    expect(
      statesEntered(execution.history).slice(statesEntered(execution.history).indexOf('ApplyChange')),
    ).toEqual([
      'ApplyChange',
      'PrepareInsyncWait',
      'WaitForInsync',
      'CheckChangeStatus',
      'CountPoll',
      'IsChangeInsync',
      'DoubleWait',
      'CapWait',
      'WaitForInsync',
      'CheckChangeStatus',
      'CountPoll',
      'IsChangeInsync',
      'DoubleWait',
      'CapWait',
      'WaitForInsync',
      'CheckChangeStatus',
      'CountPoll',
      'IsChangeInsync',
      'NotInSync',
    ]);
    // the write itself was real: only GetChange was mocked
    expect((await recordSets(fixture.zoneId)).map((set) => set.Name)).toContain(`slow.${fixture.suffix}.`);
  });
});

describe('waiting for INSYNC while Route 53 propagates the change', () => {
  let fixture: WorkflowFixture;
  let pending: { zoneId: string; suffix: string };
  const settings: WorkflowSettings = {
    maxRequeueAttempts: 3,
    insyncFirstWaitSeconds: 1,
    insyncMaxWaitSeconds: 8,
    insyncTimeoutSeconds: 60,
  };

  beforeAll(async () => {
    fixture = await createWorkflowFixture('r53dyn-test-workflow-insync-propagation', settings);
    // the start hook answers PENDING to the first 2 polls of a change in a zone whose first label is pending2
    const zoneName = `pending2.${fixture.zoneName}`;
    const zone = await route53.send(
      new CreateHostedZoneCommand({ Name: zoneName, CallerReference: `pending2-${fixture.zoneName}` }),
    );
    pending = { zoneId: (zone.HostedZone?.Id ?? '').replace('/hostedzone/', ''), suffix: `dyn.${zoneName}` };
    await ssm.send(
      new PutParameterCommand({
        Name: `${fixture.allowlistParameterPrefix}/${pending.zoneId}`,
        Type: 'String',
        Value: JSON.stringify({ suffix: pending.suffix, types: ['A', 'AAAA'] }),
      }),
    );
  });

  afterAll(async () => {
    await ssm
      .send(new DeleteParameterCommand({ Name: `${fixture.allowlistParameterPrefix}/${pending.zoneId}` }))
      .catch(() => undefined);
    await fixture.cleanUp();
  });

  it('GetChange PENDING twice then INSYNC (the waits double)', async () => {
    // Act: the real definition, no mocked test case
    const execution = await runExecution(fixture.arn, input(pending, 'late'));

    // Assert
    expect(execution.status).toBe('SUCCEEDED');
    const applied = execution.history.find(
      (event) => event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === 'ApplyChange',
    );
    const changeId = JSON.parse(applied?.stateExitedEventDetails?.output ?? '{}').applied.changeId as string;
    expect(changeId).toMatch(/^\/change\/C[A-Z0-9]{13}$/);
    expect(execution.output).toEqual({
      hostedZoneId: pending.zoneId,
      part: '1/1',
      changeId: changeId.replace('/change/', ''),
      status: 'INSYNC',
      records: [{ record: `late.${pending.suffix}.`, added: ['203.0.113.20'], removed: [] }],
      polls: 3,
      secondsWaited: 7,
    });
    expect(taskCalls(execution.history, 'aws-sdk:route53', 'getChange')).toHaveLength(3);
    expect(
      execution.history
        .filter(
          (event) =>
            event.type === 'TaskSucceeded' &&
            event.taskSucceededEventDetails?.resourceType === 'aws-sdk:route53' &&
            event.taskSucceededEventDetails?.resource === 'getChange',
        )
        .map((event) => JSON.parse(event.taskSucceededEventDetails?.output ?? '{}').ChangeInfo?.Status),
    ).toEqual(['PENDING', 'PENDING', 'INSYNC']);
    expect(waitDurations(execution.history)).toEqual([1, 2, 4]);
    expectWaitsToLast(execution.history, [1, 2, 4]);
    expect(
      statesEntered(execution.history).slice(statesEntered(execution.history).indexOf('ApplyChange')),
    ).toEqual([
      'ApplyChange',
      'PrepareInsyncWait',
      'WaitForInsync',
      'CheckChangeStatus',
      'CountPoll',
      'IsChangeInsync',
      'DoubleWait',
      'CapWait',
      'WaitForInsync',
      'CheckChangeStatus',
      'CountPoll',
      'IsChangeInsync',
      'DoubleWait',
      'CapWait',
      'WaitForInsync',
      'CheckChangeStatus',
      'CountPoll',
      'IsChangeInsync',
      'SummarizeChange',
      'ChangeInsync',
    ]);
    expect(statesEntered(execution.history)).not.toContain('UseMaxWait');
    const late = (await recordSets(pending.zoneId)).find((set) => set.Name === `late.${pending.suffix}.`);
    expect(late).toMatchObject({ Type: 'A', TTL: 60, ResourceRecords: [{ Value: '203.0.113.20' }] });
  });
});

describe('waiting for INSYNC within a bound', () => {
  let fixture: WorkflowFixture;
  const settings: WorkflowSettings = {
    maxRequeueAttempts: 3,
    insyncFirstWaitSeconds: 1,
    insyncMaxWaitSeconds: 2,
    insyncTimeoutSeconds: 5,
  };

  beforeAll(async () => {
    fixture = await createWorkflowFixture('r53dyn-test-workflow-insync-timeout', settings);
  });

  afterAll(() => fixture.cleanUp());

  it('caps the wait at 2 seconds and fails NotInSync once 5 seconds have been waited', async () => {
    // Act
    const started = Date.now();
    const execution = await runExecution(fixture.arn, input(fixture, 'stuck'), {
      mockedTestCase: 'PendingForever',
    });

    // Assert
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('NotInSync');
    expect(execution.cause).toMatch(
      new RegExp(
        `^change C[A-Z0-9]+ in hosted zone ${fixture.zoneId} was still PENDING after 5 seconds of waiting \\(3 polls\\)$`,
      ),
    );
    expect(waitDurations(execution.history)).toEqual([1, 2, 2]);
    expectWaitsToLast(execution.history, [1, 2, 2]);
    expect(statesEntered(execution.history).filter((state) => state === 'UseMaxWait')).toHaveLength(1);
    expect(taskCalls(execution.history, 'aws-sdk:route53', 'getChange')).toHaveLength(3);
    const failed = execution.history.at(-1);
    expect(failed?.type).toBe('ExecutionFailed');
    expect(execution.history.at(-2)?.stateEnteredEventDetails?.name).toBe('NotInSync');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('retries a throttled GetChange and reports INSYNC after one poll', async () => {
    // Act
    const execution = await runExecution(fixture.arn, input(fixture, 'busy'), {
      mockedTestCase: 'ThrottledPollThenInsync',
    });

    // Assert
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.output).toEqual({
      hostedZoneId: fixture.zoneId,
      part: '1/1',
      changeId: expect.stringMatching(/^C[A-Z0-9]+$/),
      status: 'INSYNC',
      records: [{ record: `busy.${fixture.suffix}.`, added: ['203.0.113.20'], removed: [] }],
      polls: 1,
      secondsWaited: 1,
    });
    expect(
      taskStateEvents(execution.history, 'CheckChangeStatus').map((event) => [
        event.type,
        event.taskFailedEventDetails?.error,
      ]),
    ).toEqual([
      ['TaskScheduled', undefined],
      ['TaskStarted', undefined],
      ['TaskFailed', 'Route53.ThrottlingException'],
      ['TaskScheduled', undefined],
      ['TaskStarted', undefined],
      ['TaskFailed', 'Route53.ThrottlingException'],
      ['TaskScheduled', undefined],
      ['TaskStarted', undefined],
      ['TaskSucceeded', undefined],
    ]);
    expect(waitDurations(execution.history)).toEqual([1]);
  });
});
