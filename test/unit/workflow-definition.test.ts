// The workflow definition as workflows/apply-zone-change.ts builds it (docs/design.md §8): valid ASL in JSONPath,
// only aws-sdk integrations of SSM, Route 53 and SQS, every Retry with full jitter and the stage's attempts, and the
// execution's timeout derived from its bounds. What it does is tested on LocalStack (test/e2e) and, as semantics,
// by the workflow stand-in the handler tests use.
import { buildWorkflow, executionTimeoutSeconds } from '../../workflows/apply-zone-change';

// asl-validator ships no type declarations
const aslValidator: (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
} = require('asl-validator');

interface State {
  Type: string;
  Resource?: string;
  QueryLanguage?: string;
  Retry?: { ErrorEquals: string[]; MaxAttempts: number; JitterStrategy: string }[];
  Catch?: { ErrorEquals: string[] }[];
  ItemProcessor?: { States: Record<string, State> };
}

const values = {
  allowlistParameterPrefix: '/r53dyn/test/zones',
  zoneQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/r53dyn-test-zones.fifo',
  retryAttempts: 3,
  insyncFirstWaitSeconds: 1,
  insyncMaxWaitSeconds: 8,
  insyncTimeoutSeconds: 60,
};
const definition = buildWorkflow(values) as {
  QueryLanguage: string;
  TimeoutSeconds: number;
  States: Record<string, State>;
};

function allStates(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => [
    [name, state] as [string, State],
    ...allStates(state.ItemProcessor?.States ?? {}),
  ]);
}

const SQS_THROTTLING = [
  'Sqs.RequestThrottledException',
  'Sqs.ThrottlingException',
  'Sqs.KmsThrottledException',
];
const ROUTE53_THROTTLING = ['Route53.ThrottlingException', 'Route53.PriorRequestNotCompleteException'];

describe('buildWorkflow', () => {
  it('is valid ASL, in JSONPath throughout (LocalStack cannot evaluate JSONata here)', () => {
    const { isValid, errors } = aslValidator(definition);

    expect({ isValid, errors }).toEqual({ isValid: true, errors: [] });
    expect(definition.QueryLanguage).toBe('JSONPath');
    expect(
      allStates(definition.States).filter(([, s]) => (s.QueryLanguage ?? 'JSONPath') !== 'JSONPath'),
    ).toEqual([]);
  });

  it('calls no Lambda function, only aws-sdk integrations of SSM, Route 53 and SQS', () => {
    const tasks = allStates(definition.States)
      .filter(([, state]) => state.Type === 'Task')
      .map(([name, state]) => [name, state.Resource]);

    expect(tasks).toEqual([
      ['LoadZoneAllowlist', 'arn:aws:states:::aws-sdk:ssm:getParameter'],
      ['ApplyPart', 'arn:aws:states:::aws-sdk:route53:changeResourceRecordSets'],
      ['DeleteDeltas', 'arn:aws:states:::aws-sdk:sqs:deleteMessageBatch'],
      ['ReleaseForNextRound', 'arn:aws:states:::aws-sdk:sqs:changeMessageVisibilityBatch'],
      ['CheckChangeStatus', 'arn:aws:states:::aws-sdk:route53:getChange'],
      ['ReleaseZone', 'arn:aws:states:::aws-sdk:sqs:changeMessageVisibilityBatch'],
    ]);
    expect(JSON.stringify(definition)).not.toMatch(/lambda/i);
  });

  it('retries only throttling and server errors, with full jitter and the stage’s attempts', () => {
    const retries = allStates(definition.States).flatMap(([name, state]) =>
      (state.Retry ?? []).map((r) => [name, r.ErrorEquals, r.MaxAttempts, r.JitterStrategy]),
    );

    expect(retries).toEqual([
      ['LoadZoneAllowlist', ['Ssm.ThrottlingException', 'Ssm.InternalServerErrorException'], 3, 'FULL'],
      ['ApplyPart', ROUTE53_THROTTLING, 3, 'FULL'],
      ['DeleteDeltas', SQS_THROTTLING, 3, 'FULL'],
      ['ReleaseForNextRound', SQS_THROTTLING, 3, 'FULL'],
      ['CheckChangeStatus', ROUTE53_THROTTLING, 3, 'FULL'],
      ['ReleaseZone', SQS_THROTTLING, 3, 'FULL'],
    ]);
  });

  it('times an execution out after its bounds', () => {
    expect(definition.TimeoutSeconds).toBe(executionTimeoutSeconds(values));
  });
});
