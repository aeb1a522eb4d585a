// Alarms and a dashboard (docs/design.md §12): what needs an operator, and what shows the pipeline at work.
// The metric names come from handlers/metrics.ts; Step Functions' and SQS's own metrics complete them.
import { METRIC, METRICS_NAMESPACE } from '../handlers/metrics';
import type { StageConfig } from './stage-config';

type Json = unknown;

const ref = (id: string) => ({ Ref: id });
const getAtt = (id: string, attr: string) => ({ 'Fn::GetAtt': [id, attr] });

interface AlarmSpec {
  id: string;
  description: string;
  namespace: string;
  metric: string;
  dimensions: { Name: string; Value: unknown }[];
  statistic: 'Sum' | 'Maximum';
  periodSeconds: number;
  threshold: number;
}

function alarm(spec: AlarmSpec): Json {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmDescription: `r53dyn: ${spec.description}`,
      Namespace: spec.namespace,
      MetricName: spec.metric,
      Dimensions: spec.dimensions,
      Statistic: spec.statistic,
      Period: spec.periodSeconds,
      EvaluationPeriods: 1,
      Threshold: spec.threshold,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    },
  };
}

const service = { Name: 'service', Value: 'r53dyn' };
const stateMachine = { Name: 'StateMachineArn', Value: ref('ApplyZoneChange') };
const queue = (id: string) => ({ Name: 'QueueName', Value: getAtt(id, 'QueueName') });

type Spec = Omit<AlarmSpec, 'namespace' | 'dimensions' | 'statistic' | 'periodSeconds'> &
  Partial<Pick<AlarmSpec, 'statistic' | 'periodSeconds'>>;

const ours = (spec: Spec): AlarmSpec => ({
  namespace: METRICS_NAMESPACE,
  dimensions: [service],
  statistic: 'Sum',
  periodSeconds: 300,
  ...spec,
});
const executions = (spec: Spec): AlarmSpec => ({
  namespace: 'AWS/States',
  dimensions: [stateMachine],
  statistic: 'Sum',
  periodSeconds: 300,
  ...spec,
});
const onQueue = (queueId: string, spec: Spec): AlarmSpec => ({
  namespace: 'AWS/SQS',
  dimensions: [queue(queueId)],
  statistic: 'Maximum',
  periodSeconds: 300,
  ...spec,
});

/** The alarms: each one is something an operator has to look at, never a refusal that policy makes routine. */
export function alarmSpecs(config: StageConfig): AlarmSpec[] {
  return [
    ours({
      id: 'OperatorDeadLettersAlarm',
      description:
        'messages dead-lettered for a reason that needs an operator (not too-many-values or stale)',
      metric: METRIC.operatorDeadLetters,
      threshold: 1,
    }),
    ours({
      id: 'ThrottlingAlarm',
      description:
        'AWS keeps throttling r53dyn calls (Route 53 is an account-wide limit: look for other callers)',
      metric: METRIC.throttled,
      threshold: 50,
    }),
    executions({
      id: 'ExecutionsFailingAlarm',
      description: 'workflow executions keep failing (a few failures are retried rounds; many are a problem)',
      metric: 'ExecutionsFailed',
      periodSeconds: 900,
      threshold: 5,
    }),
    executions({
      id: 'ExecutionsTimedOutAlarm',
      description:
        "a workflow execution timed out; its deltas come back at the zone queue's visibility timeout",
      metric: 'ExecutionsTimedOut',
      threshold: 1,
    }),
    executions({
      id: 'ExecutionsAbortedAlarm',
      description:
        "a workflow execution was stopped; its deltas come back at the zone queue's visibility timeout",
      metric: 'ExecutionsAborted',
      threshold: 1,
    }),
    onQueue('RegistrationsQueue', {
      id: 'OldestRegistrationAlarm',
      description: 'registrations wait on the registrations queue: the batcher is not keeping up or failing',
      metric: 'ApproximateAgeOfOldestMessage',
      threshold: 300 + config.batcher.windowSeconds,
    }),
    onQueue('ZoneQueue', {
      id: 'OldestDeltaAlarm',
      description: 'deltas wait on the zone queue: a zone is not being written',
      metric: 'ApproximateAgeOfOldestMessage',
      threshold: 1800,
    }),
    onQueue('ZoneDeadLetterQueue', {
      id: 'ZoneDeadLettersAlarm',
      description:
        'SQS gave up on zone-queue deltas (the planner kept failing on them): their messages need a redrive',
      metric: 'ApproximateNumberOfMessagesVisible',
      threshold: 1,
    }),
  ];
}

const r53dyn = (metric: string, stat = 'Sum') => [METRICS_NAMESPACE, metric, 'service', 'r53dyn', { stat }];
const sfnMetric = (metric: string) => ['AWS/States', metric, 'StateMachineArn', `\${ApplyZoneChange}`];
const sqsMetric = (metric: string, queueId: string) => [
  'AWS/SQS',
  metric,
  'QueueName',
  `\${${queueId}.QueueName}`,
  { stat: 'Maximum' },
];

/** The dashboard's panels, two a row. */
export const DASHBOARD_PANELS: { title: string; metrics: unknown[][] }[] = [
  {
    title: 'Messages',
    metrics: [
      METRIC.received,
      METRIC.applied,
      METRIC.requeued,
      METRIC.deltas,
      METRIC.deadLettered,
      METRIC.operatorDeadLetters,
    ].map((m) => r53dyn(m)),
  },
  {
    title: 'Rounds and writes',
    metrics: [
      METRIC.rounds,
      METRIC.retriedRounds,
      METRIC.executions,
      METRIC.recordsChanged,
      METRIC.conflicts,
    ].map((m) => r53dyn(m)),
  },
  {
    title: 'Seconds from sent',
    metrics: [
      r53dyn(METRIC.sentToPlan, 'p90'),
      r53dyn(METRIC.sentToInsync, 'p90'),
      r53dyn(METRIC.sentToInsync, 'Maximum'),
    ],
  },
  {
    title: 'Throttling and executions',
    metrics: [
      r53dyn(METRIC.throttled),
      sfnMetric('ExecutionsFailed'),
      sfnMetric('ExecutionsTimedOut'),
      sfnMetric('ExecutionsAborted'),
    ],
  },
  {
    title: 'Queues',
    metrics: [
      sqsMetric('ApproximateAgeOfOldestMessage', 'RegistrationsQueue'),
      sqsMetric('ApproximateAgeOfOldestMessage', 'ZoneQueue'),
      sqsMetric('ApproximateNumberOfMessagesVisible', 'DeadLetterQueue'),
      sqsMetric('ApproximateNumberOfMessagesVisible', 'ZoneDeadLetterQueue'),
    ],
  },
];

function dashboard(name: string): Json {
  const widgets = DASHBOARD_PANELS.map(({ title, metrics }, i) => ({
    type: 'metric',
    x: (i % 2) * 12,
    y: Math.floor(i / 2) * 6,
    width: 12,
    height: 6,
    properties: { title, metrics, period: 60, region: `\${AWS::Region}`, view: 'timeSeries' },
  }));
  return {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: { DashboardName: name, DashboardBody: { 'Fn::Sub': JSON.stringify({ widgets }) } },
  };
}

export function observability(config: StageConfig, name: string): Record<string, Json> {
  return {
    ...Object.fromEntries(alarmSpecs(config).map((spec) => [spec.id, alarm(spec)])),
    Dashboard: dashboard(name),
  };
}
