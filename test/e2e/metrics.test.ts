// The metrics the alarms and the dashboard read (docs/design.md §12), end to end on LocalStack: the batcher's
// and the planner's embedded-metric lines, as Lambda would ship them to CloudWatch from their output, and the
// workflow's PutMetricData, read back from LocalStack's CloudWatch.
import { GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { ATTRIBUTES } from '../../handlers/core/contract';
import type { WorkflowInput } from '../../handlers/core/workflow-input';
import { METRIC, METRICS_NAMESPACE } from '../../handlers/metrics';
import { body, fleet, sendAll } from '../helpers/fleet';
import { cloudwatch, sfn, sqs } from '../helpers/localstack';
import { type DeployedStack, deployedStack, settle, takeDeadLetters } from '../helpers/stack';

const run = Date.now().toString(36);
const SUFFIX = 'dyn.example.test';
let deployed: DeployedStack;

/** One embedded-metric line: its metric values, and its dimensions' values. */
type Emf = Record<string, unknown> & { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } };
const emitted: Emf[] = [];
let restore: () => void = () => {};

const metricsDisabled = process.env.POWERTOOLS_METRICS_DISABLED;

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false'; // the local pipeline turns them off unless asked
  deployed = await deployedStack();
  await settle(deployed); // whatever an earlier test left on the queues is handled before the counting starts
  const write = process.stdout.write.bind(process.stdout);
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk, ...rest) => {
    for (const line of String(chunk).split('\n')) {
      if (line.startsWith('{"_aws"')) emitted.push(JSON.parse(line) as Emf);
    }
    return write(chunk, ...(rest as []));
  });
  restore = () => spy.mockRestore();
});

afterAll(async () => {
  restore();
  if (metricsDisabled === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
  else process.env.POWERTOOLS_METRICS_DISABLED = metricsDisabled;
  await deployed.pipeline.stop();
});

/** The sum of a metric over the lines emitted, optionally only those with a dimension's value. */
function sum(metric: string, dimension?: [string, string]): number {
  return emitted
    .filter((line) => line._aws.CloudWatchMetrics.some((m) => m.Metrics.some((x) => x.Name === metric)))
    .filter((line) => !dimension || line[dimension[0]] === dimension[1])
    .reduce((n, line) => n + Number(line[metric] ?? 0), 0);
}

/** Both readings of the workflow's metrics start here, so that their difference is what came between them. */
const origin = new Date(Date.now() - 3_600_000);

/** A workflow metric's sum and sample count since `origin`, as LocalStack's CloudWatch holds them now. */
async function workflowStatistics(metric: string) {
  const out = await cloudwatch.send(
    new GetMetricStatisticsCommand({
      Namespace: METRICS_NAMESPACE,
      MetricName: metric,
      Dimensions: [{ Name: 'service', Value: 'r53dyn' }],
      StartTime: origin,
      EndTime: new Date(Date.now() + 60_000),
      Period: 86_400,
      Statistics: ['Sum', 'SampleCount'],
    }),
  );
  const points = out.Datapoints ?? [];
  return {
    sum: points.reduce((n, p) => n + (p.Sum ?? 0), 0),
    samples: points.reduce((n, p) => n + (p.SampleCount ?? 0), 0),
  };
}

test('the handlers count what they received, refused and changed; the workflow what it served and how fast', async () => {
  // Arrange: six machines on two names, one name outside the allowlist, one private address
  const machines = fleet(`metrics-${run}`, SUFFIX, 6, 2);
  const outside = { ...machines[0], record: `metrics-${run}.example.org` };
  const privately = { ...fleet(`metrics-p-${run}`, SUFFIX, 1, 1)[0], ipv4: '10.0.0.7' };
  const before = {
    applied: await workflowStatistics(METRIC.applied),
    insync: await workflowStatistics(METRIC.sentToInsync),
  };

  // Act
  await sendAll(sqs, deployed.queueUrl, [
    ...machines.map((m) => body('register', m)),
    body('register', outside as never),
    body('register', privately as never),
  ]);
  const { batches, executions } = await settle(deployed);

  // Assert: the batcher's and the planner's lines agree with what the pipeline handed them and what happened
  const handed = (queue: string) =>
    batches.filter((b) => b.source.endsWith(queue)).reduce((n, b) => n + b.received, 0);
  expect(sum(METRIC.received)).toBe(handed('registrations'));
  expect(sum(METRIC.received)).toBeGreaterThanOrEqual(8);
  expect(sum(METRIC.deltas)).toBe(handed('zones.fifo'));
  const letters = await takeDeadLetters(deployed, run);
  const codes = letters.map(
    (l) => (l.MessageAttributes?.[ATTRIBUTES.reason]?.StringValue ?? '').split(':')[0],
  );
  expect(codes.sort()).toEqual(['non-public-address', 'record-not-allowed']);
  expect([
    sum(METRIC.deadLettered, ['Reason', 'record-not-allowed']),
    sum(METRIC.deadLettered, ['Reason', 'non-public-address']),
    sum(METRIC.operatorDeadLetters),
  ]).toEqual([1, 1, 2]);
  const inputs = await Promise.all(
    executions.map(
      async (e) =>
        JSON.parse(
          (await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }))).input ?? '{}',
        ) as WorkflowInput,
    ),
  );
  expect(executions.map((e) => e.status)).toEqual(executions.map(() => 'SUCCEEDED'));
  expect(sum(METRIC.executions)).toBe(executions.length);
  expect(sum(METRIC.recordsChanged)).toBe(inputs.reduce((n, i) => n + i.summary.records.length, 0));
  expect(sum(METRIC.requeued)).toBe(0);
  const mine = inputs.filter((i) => JSON.stringify(i.summary).includes(`metrics-${run}-`));
  expect(mine.map((i) => [i.summary.applied, i.summary.records.length])).toEqual([[6, 2]]);

  // and the workflow's PutMetricData, one datum of each per execution
  const applied = await workflowStatistics(METRIC.applied);
  const insync = await workflowStatistics(METRIC.sentToInsync);
  expect([
    applied.samples - before.applied.samples,
    applied.sum - before.applied.sum,
    insync.samples - before.insync.samples,
  ]).toEqual([executions.length, inputs.reduce((n, i) => n + i.summary.applied, 0), executions.length]);
});
