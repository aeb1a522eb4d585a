// A write conflict (InvalidChangeBatch): the batch's messages go back to the registrations queue with the
// attempt the batcher pre-filled, or past the bound to the dead-letter queue with the reason attached.
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import {
  addressChange,
  createWorkflowFixture,
  drainQueue,
  recordSets,
  requeueEntry,
  runExecution,
  statesEntered,
  taskStateEvents,
  type WorkflowFixture,
  type ZoneChangeInput,
} from '../helpers/workflow';

jest.setTimeout(60_000);

let fixture: WorkflowFixture;
const maxRequeueAttempts = 2;

beforeAll(async () => {
  fixture = await createWorkflowFixture('r53dyn-test-workflow-conflict', {
    maxRequeueAttempts,
    insyncFirstWaitSeconds: 1,
    insyncMaxWaitSeconds: 2,
    insyncTimeoutSeconds: 5,
  });
});

afterAll(() => fixture.cleanUp());

afterEach(async () => {
  // each test reads what it caused, and nothing else
  await drainQueue(fixture.registrationsQueueUrl);
  await drainQueue(fixture.deadLetterQueueUrl);
});

const registration = (index: number) => ({
  v: 1,
  action: 'register',
  record: `gone.${fixture.suffix}`,
  instanceId: `i-0a1b2c3d4e5f6071${index}`,
  ipv4: `203.0.113.${30 + index}`,
});

/** Twelve messages behind one record, so that requeue holds two SendMessageBatch chunks (10 + 2). */
const conflictingInput = (attempt: number): ZoneChangeInput => {
  const entries = Array.from({ length: 12 }, (_, index) =>
    requeueEntry(index, registration(index), attempt, 1_700_000_000_000 + index),
  );
  return {
    hostedZoneId: fixture.zoneId,
    // the record does not exist: Route 53 rejects the DELETE half of the compare-and-swap
    changes: [
      addressChange(fixture.suffix, 'DELETE', 'gone', ['203.0.113.29']),
      addressChange(fixture.suffix, 'CREATE', 'gone', ['203.0.113.29', '203.0.113.30']),
    ],
    summary: {
      records: [{ record: `gone.${fixture.suffix}.`, added: ['203.0.113.30'], removed: [] }],
      messages: 12,
      part: '1/1',
    },
    requeue: [entries.slice(0, 10), entries.slice(10)],
    attempt,
  };
};

const byBody = (a: { body: string }, b: { body: string }) => a.body.localeCompare(b.body);

const expectedMessages = (
  attempt: number,
  extra: Record<string, { DataType: string; StringValue: string }> = {},
) =>
  Array.from({ length: 12 }, (_, index) => ({
    body: JSON.stringify(registration(index)),
    attributes: {
      'r53dyn-attempt': { DataType: 'Number', StringValue: String(attempt + 1) },
      'r53dyn-sent-timestamp': { DataType: 'Number', StringValue: String(1_700_000_000_000 + index) },
      ...extra,
    },
  })).sort(byBody);

/**
 * The states entered from ApplyChange on: the Map's own entry first, then its iterations' states (which
 * run concurrently, so only their multiset is fixed), then the states after the Map.
 */
const afterApplyChange = (history: HistoryEvent[]) => {
  const entered = statesEntered(history);
  const fromApply = entered.slice(entered.indexOf('ApplyChange'));
  const mapIndex = fromApply.findIndex(
    (state) => state === 'RequeueMessages' || state === 'SendToDeadLetterQueue',
  );
  const tail = fromApply.findIndex((state) => state === 'DescribeRequeue' || state === 'WriteConflict');
  return {
    before: fromApply.slice(0, mapIndex + 1),
    chunks: fromApply.slice(mapIndex + 1, tail).sort(),
    after: fromApply.slice(tail),
  };
};

describe('a conflicting write', () => {
  it('is rejected by LocalStack (a DELETE of a missing rrset) and requeued with attempt + 1', async () => {
    // Arrange
    const before = await recordSets(fixture.zoneId);

    // Act
    const execution = await runExecution(fixture.arn, conflictingInput(0));

    // Assert
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.output).toEqual({
      hostedZoneId: fixture.zoneId,
      part: '1/1',
      status: 'REQUEUED',
      reason: 'write conflict: 12 message(s) sent back to the registrations queue for attempt 1',
      conflict: expect.stringContaining(
        `Tried to delete resource record set [name='gone.${fixture.suffix}.', type='A']`,
      ),
      records: [{ record: `gone.${fixture.suffix}.`, added: ['203.0.113.30'], removed: [] }],
    });
    const failure = taskStateEvents(execution.history, 'ApplyChange').find(
      (event) => event.type === 'TaskFailed',
    );
    expect(failure?.taskFailedEventDetails?.error).toBe('Route53.InvalidChangeBatchException');
    expect(afterApplyChange(execution.history)).toEqual({
      before: ['ApplyChange', 'CheckRequeueBudget', 'RequeueMessages'],
      chunks: ['CheckRequeueChunkSent', 'CheckRequeueChunkSent', 'RequeueChunkSent', 'RequeueChunkSent']
        .concat(['SendRequeueChunk', 'SendRequeueChunk'])
        .sort(),
      after: ['DescribeRequeue', 'Requeued'],
    });
    expect(execution.history.at(-3)?.stateEnteredEventDetails).toMatchObject({ name: 'Requeued' });
    expect(execution.history.at(-1)?.type).toBe('ExecutionSucceeded');
    expect((await drainQueue(fixture.registrationsQueueUrl)).sort(byBody)).toEqual(expectedMessages(0));
    expect(await drainQueue(fixture.deadLetterQueueUrl)).toEqual([]);
    expect(await recordSets(fixture.zoneId)).toEqual(before);
  });

  it('is requeued the same way when Route 53 answers InvalidChangeBatch (mocked)', async () => {
    // Act
    const execution = await runExecution(fixture.arn, conflictingInput(1), {
      mockedTestCase: 'InvalidChangeBatch',
    });

    // Assert
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.output).toMatchObject({
      status: 'REQUEUED',
      reason: 'write conflict: 12 message(s) sent back to the registrations queue for attempt 2',
      conflict: expect.stringContaining('but it already exists'),
    });
    expect(statesEntered(execution.history).filter((state) => state === 'SendRequeueChunk')).toHaveLength(2);
    expect((await drainQueue(fixture.registrationsQueueUrl)).sort(byBody)).toEqual(expectedMessages(1));
    expect(await drainQueue(fixture.deadLetterQueueUrl)).toEqual([]);
  });

  it.each([
    ['rejected by LocalStack', undefined],
    ['answered InvalidChangeBatch (mocked)', 'InvalidChangeBatch'],
  ])(
    'at the requeue bound, %s, goes to the dead-letter queue and fails WriteConflict',
    async (_, mockedTestCase) => {
      // Arrange
      const before = await recordSets(fixture.zoneId);

      // Act
      const execution = await runExecution(fixture.arn, conflictingInput(maxRequeueAttempts), {
        mockedTestCase,
      });

      // Assert
      expect(execution.status).toBe('FAILED');
      expect(execution.error).toBe('WriteConflict');
      expect(execution.cause).toMatch(
        new RegExp(
          `^hosted zone ${fixture.zoneId} part 1/1: the change batch still conflicted after 3 attempts, ` +
            'its 12 message\\(s\\) went to the dead-letter queue. Route 53 said: \\[Tried to ',
        ),
      );
      expect(afterApplyChange(execution.history)).toEqual({
        before: ['ApplyChange', 'CheckRequeueBudget', 'DescribeDeadLetterReason', 'SendToDeadLetterQueue'],
        chunks: [
          ...['AttachReason', 'SendDeadLetterChunk', 'CheckDeadLetterChunkSent', 'DeadLetterChunkSent'],
          ...['AttachReason', 'SendDeadLetterChunk', 'CheckDeadLetterChunkSent', 'DeadLetterChunkSent'],
          ...Array(12).fill('AttachReasonToEntry'),
        ].sort(),
        after: ['WriteConflict'],
      });
      expect(execution.history.at(-2)?.stateEnteredEventDetails).toMatchObject({ name: 'WriteConflict' });
      expect((await drainQueue(fixture.deadLetterQueueUrl)).sort(byBody)).toEqual(
        expectedMessages(maxRequeueAttempts, {
          'r53dyn-reason': { DataType: 'String', StringValue: 'write-conflict: gave up after 3 attempts' },
        }),
      );
      expect(await drainQueue(fixture.registrationsQueueUrl)).toEqual([]);
      expect(await recordSets(fixture.zoneId)).toEqual(before);
    },
  );
});
