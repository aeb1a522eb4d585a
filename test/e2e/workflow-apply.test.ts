// The apply-zone-change workflow writing to LocalStack's Route 53: a real compare-and-swap, and a write that
// Route 53 throttles twice (mocked) before accepting it.
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
  waitDurations,
  type ZoneChangeInput,
} from '../helpers/workflow';

jest.setTimeout(60_000);

let fixture: WorkflowFixture;

beforeAll(async () => {
  fixture = await createWorkflowFixture('r53dyn-test-workflow-apply', {
    maxRequeueAttempts: 3,
    insyncFirstWaitSeconds: 1,
    insyncMaxWaitSeconds: 4,
    insyncTimeoutSeconds: 10,
  });
});

afterAll(() => fixture.cleanUp());

const input = (changes: unknown[], records: ZoneChangeInput['summary']['records']): ZoneChangeInput => ({
  hostedZoneId: fixture.zoneId,
  changes,
  summary: { records, messages: 1, part: '1/1' },
  requeue: [[requeueEntry(0, { v: 1, action: 'register' }, 0, 1_700_000_000_000)]],
  attempt: 0,
});

describe('apply-zone-change on LocalStack', () => {
  it('creates the A record, then swaps its value with DELETE + CREATE, each time waiting once for INSYNC', async () => {
    // Arrange
    const name = `web.${fixture.suffix}.`;
    const created = [{ record: name, added: ['203.0.113.7'], removed: [] }];

    // Act
    const first = await runExecution(
      fixture.arn,
      input([addressChange(fixture.suffix, 'CREATE', 'web', ['203.0.113.7'])], created),
    );

    // Assert
    expect(first.status).toBe('SUCCEEDED');
    expect(first.output).toEqual({
      hostedZoneId: fixture.zoneId,
      part: '1/1',
      changeId: expect.stringMatching(/^C[A-Z0-9]+$/),
      status: 'INSYNC',
      records: created,
      polls: 1,
      secondsWaited: 1,
    });
    expect(statesEntered(first.history)).toEqual([
      'LoadSettings',
      'CheckZoneId',
      'InspectZoneId',
      'CheckZoneIdCharacters',
      'LoadZoneAllowlist',
      'CheckZoneEntry',
      'ValidateChanges',
      'CheckChangeShape',
      'InspectRelativeName',
      'CheckChangeRules',
      'KeepRecordValues',
      'KeepValue',
      'RebuildChange',
      'ApplyChange',
      'PrepareInsyncWait',
      'WaitForInsync',
      'CheckChangeStatus',
      'CountPoll',
      'IsChangeInsync',
      'SummarizeChange',
      'ChangeInsync',
    ]);
    expect(taskCalls(first.history, 'aws-sdk:route53', 'changeResourceRecordSets')).toHaveLength(1);
    expect(taskCalls(first.history, 'aws-sdk:route53', 'getChange')).toHaveLength(1);
    expect(waitDurations(first.history)).toEqual([1]);
    expect((await recordSets(fixture.zoneId)).filter((set) => set.Name === name)).toEqual([
      { Name: name, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '203.0.113.7' }] },
    ]);

    // Act: the batcher's compare-and-swap, adding a second value
    const swapped = [{ record: name, added: ['198.51.100.4'], removed: [] }];
    const second = await runExecution(
      fixture.arn,
      input(
        [
          addressChange(fixture.suffix, 'DELETE', 'web', ['203.0.113.7']),
          addressChange(fixture.suffix, 'CREATE', 'web', ['198.51.100.4', '203.0.113.7']),
        ],
        swapped,
      ),
    );

    // Assert
    expect(second.status).toBe('SUCCEEDED');
    expect(second.output).toMatchObject({ status: 'INSYNC', records: swapped, polls: 1 });
    const scheduled = taskCalls(second.history, 'aws-sdk:route53', 'changeResourceRecordSets');
    expect(JSON.parse(scheduled[0]?.taskScheduledEventDetails?.parameters ?? '{}')).toEqual({
      HostedZoneId: fixture.zoneId,
      ChangeBatch: {
        Comment: 'r53dyn part 1/1',
        Changes: [
          {
            Action: 'DELETE',
            ResourceRecordSet: {
              Name: name,
              Type: 'A',
              TTL: 60,
              ResourceRecords: [{ Value: '203.0.113.7' }],
            },
          },
          {
            Action: 'CREATE',
            ResourceRecordSet: {
              Name: name,
              Type: 'A',
              TTL: 60,
              ResourceRecords: [{ Value: '198.51.100.4' }, { Value: '203.0.113.7' }],
            },
          },
        ],
      },
    });
    expect((await recordSets(fixture.zoneId)).filter((set) => set.Name === name)).toEqual([
      {
        Name: name,
        Type: 'A',
        TTL: 60,
        ResourceRecords: [{ Value: '198.51.100.4' }, { Value: '203.0.113.7' }],
      },
    ]);
  });

  it('retries a throttled write with backoff and succeeds on the third attempt (mocked ApplyChange)', async () => {
    // Arrange
    const name = `api.${fixture.suffix}.`;
    const records = [{ record: name, added: ['203.0.113.9'], removed: [] }];

    // Act
    const execution = await runExecution(
      fixture.arn,
      input([addressChange(fixture.suffix, 'CREATE', 'api', ['203.0.113.9'])], records),
      { mockedTestCase: 'ThrottledTwiceThenAccepted' },
    );

    // Assert
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.output).toEqual({
      hostedZoneId: fixture.zoneId,
      part: '1/1',
      changeId: 'C0MOCKEDTHROTTLED',
      status: 'INSYNC',
      records,
      polls: 1,
      secondsWaited: 1,
    });
    const applyEvents = taskStateEvents(execution.history, 'ApplyChange').map((event) => [
      event.type,
      event.taskFailedEventDetails?.error,
    ]);
    expect(applyEvents).toEqual([
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
    // one state entry: the attempts are Retry's, not a loop through the definition
    expect(statesEntered(execution.history).filter((state) => state === 'ApplyChange')).toEqual([
      'ApplyChange',
    ]);
  });
});
