// The operator's alarms and dashboard, read off the packaged template (LocalStack's CloudFormation skips
// dashboards, so this check is static): docs/design.md §12.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POLICY_REASONS } from '../../handlers/core/contract';
import { METRIC, METRICS_NAMESPACE } from '../../handlers/metrics';

const root = join(__dirname, '..', '..');
const template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> } =
  JSON.parse(readFileSync(join(root, '.serverless', 'cloudformation-template-update-stack.json'), 'utf8'));
const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

test('the alarms watch what needs an operator, and nothing that policy makes routine', () => {
  // Act
  const alarms = ofType('AWS::CloudWatch::Alarm').map(([id, r]) => [
    id,
    r.Properties?.Namespace,
    r.Properties?.MetricName,
    r.Properties?.Threshold,
  ]);

  // Assert
  expect(alarms.sort()).toEqual(
    [
      ['ExecutionsAbortedAlarm', 'AWS/States', 'ExecutionsAborted', 1],
      ['ExecutionsFailingAlarm', 'AWS/States', 'ExecutionsFailed', 5],
      ['ExecutionsTimedOutAlarm', 'AWS/States', 'ExecutionsTimedOut', 1],
      ['OldestDeltaAlarm', 'AWS/SQS', 'ApproximateAgeOfOldestMessage', 1800],
      ['OldestRegistrationAlarm', 'AWS/SQS', 'ApproximateAgeOfOldestMessage', 302],
      ['OperatorDeadLettersAlarm', METRICS_NAMESPACE, METRIC.operatorDeadLetters, 1],
      ['ThrottlingAlarm', METRICS_NAMESPACE, METRIC.throttled, 50],
      ['ZoneDeadLettersAlarm', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 1],
    ].sort(),
  );
  expect(POLICY_REASONS).toEqual(['too-many-values', 'stale']);
  expect(JSON.stringify(ofType('AWS::CloudWatch::Alarm'))).not.toContain('Reason');
});

test('the dashboard shows every metric r53dyn publishes', () => {
  // Arrange
  const [[, dashboard] = ['', undefined]] = ofType('AWS::CloudWatch::Dashboard');
  const body =
    (dashboard?.Properties?.DashboardBody as { 'Fn::Sub': string } | undefined)?.['Fn::Sub'] ?? '{}';

  // Act
  const shown = new Set(
    (JSON.parse(body) as { widgets: { properties: { metrics: string[][] } }[] }).widgets.flatMap((w) =>
      w.properties.metrics.filter((m) => m[0] === METRICS_NAMESPACE).map((m) => m[1]),
    ),
  );

  // Assert
  expect([...shown].sort()).toEqual(Object.values(METRIC).sort());
});
