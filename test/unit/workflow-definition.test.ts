// The workflow definition on its own: valid ASL before and after rendering, only aws-sdk integrations of the
// three services the workflow may touch, and no Retry or Catch that handles errors it does not name.
import { readFileSync } from 'node:fs';
import { definitionPath, renderDefinition } from '../helpers/workflow';

// asl-validator ships no type declarations
const aslValidator: (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
} = require('asl-validator');

interface State {
  Type: string;
  Resource?: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Comment?: string }[];
  ItemProcessor?: { States: Record<string, State> };
  Iterator?: { States: Record<string, State> };
  Branches?: { States: Record<string, State> }[];
  [field: string]: unknown;
}

interface Definition {
  QueryLanguage?: string;
  States: Record<string, State>;
}

const values = {
  allowlistParameterPrefix: '/r53dyn/local/zones',
  registrationsQueueUrl:
    'http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/r53dyn-local-registrations',
  deadLetterQueueUrl:
    'http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/r53dyn-local-dead-letter',
  maxRequeueAttempts: 3,
  insyncFirstWaitSeconds: 1,
  insyncMaxWaitSeconds: 8,
  insyncTimeoutSeconds: 60,
};

const raw = readFileSync(definitionPath, 'utf8');
const rawDefinition = JSON.parse(raw) as Definition;
const rendered = JSON.parse(renderDefinition(values)) as Definition;

/** Every state, nested Map and Parallel states included, with its name. */
function allStates(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => [
    [name, state] as [string, State],
    ...allStates(state.ItemProcessor?.States ?? {}),
    ...allStates(state.Iterator?.States ?? {}),
    ...(state.Branches ?? []).flatMap((branch) => allStates(branch.States)),
  ]);
}

describe('workflows/apply-zone-change.asl.json', () => {
  it('is valid ASL as written, with the deploy-time placeholders in place', () => {
    const result = aslValidator(JSON.parse(raw));

    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('is valid ASL once rendered, with numbers where the placeholders were', () => {
    const result = aslValidator(rendered);

    expect(result.errors).toEqual([]);
    expect(rendered.States.LoadSettings?.Parameters).toEqual({
      allowlistParameterPrefix: '/r53dyn/local/zones',
      maxRequeueAttempts: 3,
      insyncFirstWaitSeconds: 1,
      insyncMaxWaitSeconds: 8,
      insyncTimeoutSeconds: 60,
      forbiddenZoneIdCharacters: '/.\\* ',
      forbiddenNameCharacters: '*\\ ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    });
    expect(JSON.stringify(rendered)).not.toContain('${');
  });

  it('puts the queue URLs where the serverless framework will, as whole values', () => {
    const states = Object.fromEntries(allStates(rendered.States));

    expect(states.SendRequeueChunk?.Parameters).toEqual({
      QueueUrl: values.registrationsQueueUrl,
      'Entries.$': '$',
    });
    expect(states.SendDeadLetterChunk?.Parameters).toEqual({
      QueueUrl: values.deadLetterQueueUrl,
      'Entries.$': '$',
    });
  });

  it('uses the placeholders the serverless stack provides and no others', () => {
    const used = new Set(
      [...raw.matchAll(/\$\{self:custom\.workflow\.([A-Za-z]+)\}/g)].map((match) => match[1]),
    );

    expect([...used].sort()).toEqual(Object.keys(values).sort());
    // a placeholder inside a longer string could not carry a CloudFormation Ref (the queue URLs are Refs)
    expect(
      raw.match(/"[^"]+\$\{self:custom\.workflow\.[A-Za-z]+\}|\$\{self:custom\.workflow\.[A-Za-z]+\}[^"]+"/g),
    ).toBeNull();
  });

  it('is written in JSONPath: LocalStack cannot evaluate JSONata', () => {
    expect(rawDefinition.QueryLanguage).toBe('JSONPath');
    for (const [, state] of allStates(rawDefinition.States)) {
      expect(state.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    }
  });

  it('calls no Lambda function, only aws-sdk integrations of SSM, Route 53 and SQS', () => {
    const resources = allStates(rawDefinition.States)
      .filter(([, state]) => state.Type === 'Task')
      .map(([name, state]) => [name, state.Resource]);

    expect(resources).toEqual([
      ['LoadZoneAllowlist', 'arn:aws:states:::aws-sdk:ssm:getParameter'],
      ['ApplyChange', 'arn:aws:states:::aws-sdk:route53:changeResourceRecordSets'],
      ['SendRequeueChunk', 'arn:aws:states:::aws-sdk:sqs:sendMessageBatch'],
      ['SendDeadLetterChunk', 'arn:aws:states:::aws-sdk:sqs:sendMessageBatch'],
      ['CheckChangeStatus', 'arn:aws:states:::aws-sdk:route53:getChange'],
    ]);
    expect(raw).not.toMatch(/lambda/i);
  });

  it('names the errors of every Retry and Catch; States.ALL only where the SSM lookup fails closed', () => {
    const handlers = allStates(rawDefinition.States).flatMap(([name, state]) => [
      ...(state.Retry ?? []).map((retrier) => ({ name, kind: 'Retry', errors: retrier.ErrorEquals })),
      ...(state.Catch ?? []).map((catcher) => ({ name, kind: 'Catch', errors: catcher.ErrorEquals })),
    ]);

    expect(handlers).toEqual([
      { name: 'LoadZoneAllowlist', kind: 'Catch', errors: ['States.ALL'] },
      { name: 'ValidateChanges', kind: 'Catch', errors: ['RecordNotAllowed'] },
      {
        name: 'ApplyChange',
        kind: 'Retry',
        errors: ['Route53.ThrottlingException', 'Route53.PriorRequestNotCompleteException'],
      },
      { name: 'ApplyChange', kind: 'Catch', errors: ['Route53.InvalidChangeBatchException'] },
      { name: 'CheckChangeStatus', kind: 'Retry', errors: ['Route53.ThrottlingException'] },
    ]);
  });

  it('retries the write with capped exponential backoff and full jitter', () => {
    expect(rawDefinition.States.ApplyChange?.Retry).toEqual([
      expect.objectContaining({
        IntervalSeconds: 1,
        BackoffRate: 2,
        MaxAttempts: 6,
        MaxDelaySeconds: 20,
        JitterStrategy: 'FULL',
      }),
    ]);
  });

  it('sends Route 53 the validated changes, never the input ones', () => {
    const parameters = rawDefinition.States.ApplyChange?.Parameters;

    expect(parameters).toEqual({
      'HostedZoneId.$': '$.hostedZoneId',
      ChangeBatch: {
        'Comment.$': "States.Format('r53dyn part {}', $.summary.part)",
        'Changes.$': '$.validatedChanges',
      },
    });
    expect(rawDefinition.States.ValidateChanges?.ResultPath).toBe('$.validatedChanges');
  });

  it('ends every failure in a Fail state with one of the workflow’s named errors', () => {
    const fails = allStates(rawDefinition.States)
      .filter(([, state]) => state.Type === 'Fail')
      .map(([name, state]) => [name, state.Error]);

    expect(fails).toEqual([
      ['ZoneNotAllowed', 'ZoneNotAllowed'],
      ['RejectRecord', 'RecordNotAllowed'],
      ['RecordNotAllowed', 'RecordNotAllowed'],
      ['RequeueFailed', 'RequeueFailed'],
      ['DeadLetterFailed', 'DeadLetterFailed'],
      ['WriteConflict', 'WriteConflict'],
      ['NotInSync', 'NotInSync'],
    ]);
  });
});
