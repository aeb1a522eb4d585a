// What the planner makes of a previous execution's end (docs/design.md §4.5), for the errors a service sends that its
// API model lacks: Step Functions names them all `Route53.Route53Exception`, and only the cause tells them apart.
import { type PreviousExecution, verdictsOf } from '../../handlers/core/outcome';

const suffix = 'dyn.example.test';

function partsFailed(error: string, cause: string): PreviousExecution {
  return {
    name: 'Z1-d1-r1',
    status: 'FAILED',
    error: 'PartsFailed',
    cause: JSON.stringify([{ records: ['web'], error, cause }]),
  };
}

const summary = (previous: PreviousExecution) =>
  verdictsOf(previous, suffix).map((v) => ({
    kind: v.kind,
    records: 'records' in v.scope ? [...v.scope.records] : 'zone',
    code: 'reason' in v ? v.reason.split(':', 1)[0] : undefined,
  }));

describe('verdictsOf', () => {
  it.each([
    [
      'retries a part Route 53 throttled (code Throttling, named Route53.Route53Exception)',
      'Rate exceeded (Service: Route53, Status Code: 400, Request ID: 6a2de6d2)',
      { kind: 'retry', records: ['web'], code: 'retries-exhausted' },
    ],
    [
      'refuses a part Route 53 denied (code AccessDenied, HTTP 403) as access-denied',
      'User: arn:aws:sts::000000000000:assumed-role/r53dyn/x is not authorized to perform: route53:ChangeResourceRecordSets (Service: Route53, Status Code: 403, Request ID: 1)',
      { kind: 'refuse', records: ['web'], code: 'access-denied' },
    ],
  ])('%s', (_title, cause, verdict) => {
    // Arrange
    const previous = partsFailed('Route53.Route53Exception', cause);

    // Act
    const verdicts = summary(previous);

    // Assert
    expect(verdicts).toEqual([verdict]);
  });

  it('retries an unmodeled server error, and refuses an unmodeled client error it cannot place as workflow-error', () => {
    // Arrange
    const server = partsFailed(
      'Route53.Route53Exception',
      'Internal failure (Service: Route53, Status Code: 500)',
    );
    const client = partsFailed(
      'Route53.Route53Exception',
      'Something odd (Service: Route53, Status Code: 400)',
    );

    // Act
    const verdicts = [summary(server), summary(client)];

    // Assert
    expect(verdicts).toEqual([
      [{ kind: 'retry', records: ['web'], code: 'retries-exhausted' }],
      [{ kind: 'refuse', records: ['web'], code: 'workflow-error' }],
    ]);
  });

  it('reads an unmodeled error that failed the whole execution the same way', () => {
    // Arrange
    const previous: PreviousExecution = {
      name: 'Z1-d1-r1',
      status: 'FAILED',
      error: 'Sqs.SqsException',
      cause: 'Rate exceeded (Service: Sqs, Status Code: 400, Request ID: 2)',
    };

    // Act
    const verdicts = summary(previous);

    // Assert
    expect(verdicts).toEqual([{ kind: 'retry', records: 'zone', code: 'retries-exhausted' }]);
  });
});
