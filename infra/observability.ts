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

/** The alarms: each one is something an operator has to look at, never a refusal that policy makes routine. */
export function alarmSpecs(config: StageConfig): AlarmSpec[] {
  return [
    {
      id: 'OperatorDeadLettersAlarm',
      description:
        'messages dead-lettered for a reason that needs an operator (not too-many-values or stale)',
      namespace: METRICS_NAMESPACE,
      metric: METRIC.operatorDeadLetters,
      dimensions: [service],
      statistic: 'Sum',
      periodSeconds: 300,
      threshold: 1,
    },
    {
      id: 'ExecutionsFailingAlarm',
      description: 'workflow executions keep failing (a few failures are retried rounds; many are a problem)',
      namespace: 'AWS/States',
      metric: 'ExecutionsFailed',
      dimensions: [stateMachine],
      statistic: 'Sum',
      periodSeconds: 900,
      threshold: 5,
    },
    ...(['ExecutionsTimedOut', 'ExecutionsAborted'] as const).map((metric) => ({
      id: `${metric}Alarm`,
      description: `a workflow execution ${metric === 'ExecutionsTimedOut' ? 'timed out' : 'was stopped'}; its deltas come back at the zone queue's visibility timeout`,
      namespace: 'AWS/States',
      metric,
      dimensions: [stateMachine],
      statistic: 'Sum' as const,
      periodSeconds: 300,
      threshold: 1,
    })),
    {
      id: 'OldestRegistrationAlarm',
      description: 'registrations wait on the registrations queue: the batcher is not keeping up or failing',
      namespace: 'AWS/SQS',
      metric: 'ApproximateAgeOfOldestMessage',
      dimensions: [queue('RegistrationsQueue')],
      statistic: 'Maximum',
      periodSeconds: 300,
      threshold: 300 + config.batcher.windowSeconds,
    },
    {
      id: 'OldestDeltaAlarm',
      description: 'deltas wait on the zone queue: a zone is not being written',
      namespace: 'AWS/SQS',
      metric: 'ApproximateAgeOfOldestMessage',
      dimensions: [queue('ZoneQueue')],
      statistic: 'Maximum',
      periodSeconds: 300,
      threshold: 1800,
    },
    {
      id: 'ZoneDeadLettersAlarm',
      description:
        'SQS gave up on zone-queue deltas (the planner kept failing on them): their messages need a redrive',
      namespace: 'AWS/SQS',
      metric: 'ApproximateNumberOfMessagesVisible',
      dimensions: [queue('ZoneDeadLetterQueue')],
      statistic: 'Maximum',
      periodSeconds: 300,
      threshold: 1,
    },
    {
      id: 'ThrottlingAlarm',
      description:
        'AWS keeps throttling r53dyn calls (Route 53 is an account-wide limit: look for other callers)',
      namespace: METRICS_NAMESPACE,
      metric: METRIC.throttled,
      dimensions: [service],
      statistic: 'Sum',
      periodSeconds: 300,
      threshold: 50,
    },
  ];
}

function dashboard(name: string): Json {
  const r53dyn = (metric: string, stat = 'Sum') => [METRICS_NAMESPACE, metric, 'service', 'r53dyn', { stat }];
  const widget = (title: string, metrics: unknown[][], y: number, x: number) => ({
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, metrics, period: 300, region: `\${AWS::Region}`, view: 'timeSeries' },
  });
  const body = {
    widgets: [
      widget(
        'Messages',
        [r53dyn(METRIC.received), r53dyn(METRIC.deadLettered), r53dyn(METRIC.operatorDeadLetters)],
        0,
        0,
      ),
      widget(
        'Rounds and writes',
        [
          r53dyn(METRIC.rounds),
          r53dyn(METRIC.retriedRounds),
          r53dyn(METRIC.executions),
          r53dyn(METRIC.recordsChanged),
          r53dyn(METRIC.conflicts),
        ],
        0,
        12,
      ),
      widget(
        'Seconds from sent',
        [
          r53dyn(METRIC.sentToPlan, 'p90'),
          r53dyn(METRIC.sentToInsync, 'p90'),
          r53dyn(METRIC.sentToInsync, 'Maximum'),
        ],
        6,
        0,
      ),
      widget(
        'Throttling and executions',
        [
          r53dyn(METRIC.throttled),
          ['AWS/States', 'ExecutionsFailed', 'StateMachineArn', `\${ApplyZoneChange}`],
          ['AWS/States', 'ExecutionsTimedOut', 'StateMachineArn', `\${ApplyZoneChange}`],
        ],
        6,
        12,
      ),
      widget(
        'Queues',
        [
          [
            'AWS/SQS',
            'ApproximateAgeOfOldestMessage',
            'QueueName',
            `\${RegistrationsQueue.QueueName}`,
            { stat: 'Maximum' },
          ],
          [
            'AWS/SQS',
            'ApproximateAgeOfOldestMessage',
            'QueueName',
            `\${ZoneQueue.QueueName}`,
            { stat: 'Maximum' },
          ],
          [
            'AWS/SQS',
            'ApproximateNumberOfMessagesVisible',
            'QueueName',
            `\${DeadLetterQueue.QueueName}`,
            { stat: 'Maximum' },
          ],
        ],
        12,
        0,
      ),
    ],
  };
  return {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: { DashboardName: name, DashboardBody: { 'Fn::Sub': JSON.stringify(body) } },
  };
}

export function observability(config: StageConfig, name: string): Record<string, Json> {
  return {
    ...Object.fromEntries(alarmSpecs(config).map((spec) => [spec.id, alarm(spec)])),
    Dashboard: dashboard(name),
  };
}
