// What the batcher, the planner and the workflow count (docs/design.md §12): CloudWatch embedded metric format
// through Powertools Metrics, one namespace, the names defined here for the handlers, the workflow builder, the
// alarms and the dashboard alike.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareStack } from '@smithy/types';
import { POLICY_REASONS, type ReasonCode, reasonCode } from './core/contract';

export const METRICS_NAMESPACE = 'r53dyn';

export const METRIC = {
  /** deliveries the batcher handled */
  received: 'MessagesReceived',
  /**
   * messages in effect in Route 53: the workflow counts a written round's at INSYNC, the planner those of a
   * round that found nothing to write
   */
  applied: 'MessagesApplied',
  /** messages that come back for another try: a batcher's failed deliveries, a round's carry-over and retries */
  requeued: 'MessagesRequeued',
  /** dead letters, with a Reason dimension (the code) */
  deadLettered: 'MessagesDeadLettered',
  /** dead letters whose reason needs an operator (not POLICY_REASONS) */
  operatorDeadLetters: 'OperatorDeadLetters',
  deltas: 'DeltasSent',
  rounds: 'Rounds',
  /** rounds whose deltas came back (a failed, stopped or timed-out execution, or a crash) */
  retriedRounds: 'RoundsRetried',
  recordsChanged: 'RecordsChanged',
  executions: 'ExecutionsStarted',
  /** rounds that found another writer had changed a record between read and write */
  conflicts: 'WriteConflicts',
  /** AWS calls answered with throttling, each attempt counted */
  throttled: 'ThrottledCalls',
  /** from the oldest message's SentTimestamp to the planner's round */
  sentToPlan: 'SecondsSentToPlan',
  /** from the oldest message's SentTimestamp to INSYNC (the workflow publishes it) */
  sentToInsync: 'SecondsSentToInsync',
} as const;

export function newMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'r53dyn' });
}

export function count(metrics: Metrics | undefined, name: string, value: number): void {
  if (value > 0) metrics?.addMetric(name, MetricUnit.Count, value);
}

export function seconds(metrics: Metrics | undefined, name: string, value: number): void {
  metrics?.addMetric(name, MetricUnit.Seconds, Math.max(0, value));
}

/** Dead letters by reason code, and the ones an operator should look at. */
export function countDeadLetters(metrics: Metrics | undefined, reasons: string[]): void {
  if (!metrics) return;
  const byCode = new Map<ReasonCode | 'unknown', number>();
  for (const text of reasons) {
    const code = reasonCode(text) ?? 'unknown';
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
  }
  let operator = 0;
  for (const [code, n] of byCode) {
    const single = metrics.singleMetric();
    single.addDimension('Reason', code);
    single.addMetric(METRIC.deadLettered, MetricUnit.Count, n);
    if (code === 'unknown' || !POLICY_REASONS.includes(code)) operator += n;
  }
  count(metrics, METRIC.operatorDeadLetters, operator);
}

const THROTTLING = /Throttl|TooManyRequests|RequestLimitExceeded|PriorRequestNotComplete/;

/**
 * Counts every throttled attempt of a client's calls (the SDK retries them below this middleware), so that
 * throttling shows before it becomes failures.
 */
export function countThrottling<Input extends object, Output extends object>(
  client: { middlewareStack: MiddlewareStack<Input, Output> },
  metrics: Metrics,
): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const name = error instanceof Error ? error.name : '';
        if (THROTTLING.test(name)) metrics.addMetric(METRIC.throttled, MetricUnit.Count, 1);
        throw error;
      }
    },
    { step: 'deserialize', priority: 'high', name: 'r53dynCountThrottling' },
  );
}
