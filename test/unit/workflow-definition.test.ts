// The workflow definition as the stack packages it (docs/design.md §8): valid ASL for every shipped stage,
// service integrations only (LocalStack cannot run a Lambda task here), JSONPath only (no JSONata, no
// variables), every Retry named and jittered, one state per record and per part, and built from the same
// contract the planner reads its end with: change a constant there and the definition changes with it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REGISTRY_LABEL, REGISTRY_PREFIX, ROUTE53_LIMITS } from '../../handlers/core/contract';
import { verdictsOf, WORKFLOW_ERRORS } from '../../handlers/core/outcome';
import { stageZones } from '../../infra/local/deploy';
import { workflowValues } from '../../infra/resources';
import { loadStageConfig } from '../../infra/stage-config';
import {
  buildWorkflow,
  executionTimeoutSeconds,
  FORBIDDEN_RRSET_FIELDS,
  PARAMETER_NOT_FOUND,
  TRANSIENT_ERRORS,
} from '../../workflows/apply-zone-change';

// asl-validator ships no type declarations
const aslValidator: (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
} = require('asl-validator');

interface State {
  Type: string;
  Next?: string;
  Default?: string;
  Choices?: { Next: string }[];
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Retry?: Record<string, unknown>[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  ItemProcessor?: { StartAt: string; States: Record<string, State> };
  [field: string]: unknown;
}

interface Definition {
  QueryLanguage?: string;
  TimeoutSeconds: number;
  StartAt: string;
  States: Record<string, State>;
}

// the local stage leaves its zone ids to the local deploy: any valid ids will do here
const localEnv = Object.fromEntries(
  stageZones(readFileSync(join(__dirname, '..', '..', 'infra', 'stages', 'local.yml'), 'utf8')).map(
    (zone, n) => [zone.env, `ZLOCALTESTZONE${String(n + 1).padStart(6, '0')}`],
  ),
);
const stages = {
  local: loadStageConfig('local', localEnv),
  example: loadStageConfig('example', {}),
};
const definitionOf = (stage: keyof typeof stages) =>
  buildWorkflow(workflowValues(stages[stage], 'r53dyn')) as unknown as Definition;
const definition = definitionOf('example');

/** Every state, those inside a Map's ItemProcessor included, with its name. */
function allStates(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => [
    [name, state] as [string, State],
    ...allStates(state.ItemProcessor?.States ?? {}),
  ]);
}
const states = Object.fromEntries(allStates(definition.States));
const tasks = allStates(definition.States).filter(([, state]) => state.Type === 'Task');

/** Every string in the definition, keys and values. */
const strings = (value: unknown): string[] =>
  typeof value === 'string'
    ? [value]
    : Array.isArray(value)
      ? value.flatMap(strings)
      : typeof value === 'object' && value !== null
        ? Object.entries(value).flatMap(([key, v]) => [key, ...strings(v)])
        : [];

describe('the packaged workflow definition', () => {
  it.each(Object.keys(stages) as (keyof typeof stages)[])('is valid ASL for the %s stage', (stage) => {
    const result = aslValidator(definitionOf(stage));

    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('runs until its bounds say, derived from the stage’s settings', () => {
    expect(definition.TimeoutSeconds).toBe(executionTimeoutSeconds(workflowValues(stages.example, 'r53dyn')));
    expect(definitionOf('local').TimeoutSeconds).toBe(
      executionTimeoutSeconds(workflowValues(stages.local, 'r53dyn')),
    );
  });

  it('calls no Lambda function, only aws-sdk integrations of SSM, Route 53, SQS and CloudWatch', () => {
    expect(tasks.map(([name, state]) => [name, state.Resource])).toEqual([
      ['LoadZoneAllowlist', 'arn:aws:states:::aws-sdk:ssm:getParameter'],
      ['ApplyPart', 'arn:aws:states:::aws-sdk:route53:changeResourceRecordSets'],
      ['DeleteDeltas', 'arn:aws:states:::aws-sdk:sqs:deleteMessageBatch'],
      ['CheckChangeStatus', 'arn:aws:states:::aws-sdk:route53:getChange'],
      ['PublishMetrics', 'arn:aws:states:::aws-sdk:cloudwatch:putMetricData'],
      ['ReleaseZone', 'arn:aws:states:::aws-sdk:sqs:changeMessageVisibilityBatch'],
    ]);
    expect(JSON.stringify(definition)).not.toMatch(/lambda/i);
  });

  it('is JSONPath throughout: no JSONata, no variables (LocalStack evaluates neither here)', () => {
    const all = allStates(definition.States);
    const paths = strings(definition).filter((s) => s.startsWith('$'));

    expect(definition.QueryLanguage).toBe('JSONPath');
    expect(all.filter(([, state]) => state.QueryLanguage !== undefined)).toEqual([]);
    for (const field of ['Assign', 'Arguments', 'Output', 'Items']) {
      expect(all.filter(([, state]) => field in state).map(([name]) => name)).toEqual([]);
    }
    expect(strings(definition).filter((s) => s.includes('{%'))).toEqual([]);
    // a variable reads $name; a path reads $, $.x, $$.x or $[...]
    expect(paths.filter((path) => !/^\$(\$?\.|\[|$)/.test(path))).toEqual([]);
    expect(strings(definition).filter((s) => /(^|[^$.\w])\$[A-Za-z_]/.test(s))).toEqual([]);
  });

  it('retries each Task on its service’s throttling and server errors, named, with full jitter', () => {
    const retries = tasks.map(([name, state]) => [
      name,
      (state.Retry ?? []).map(({ Comment: _, ...retry }) => retry),
    ]);
    const shape = (errors: string[]) => ({
      ErrorEquals: errors,
      IntervalSeconds: 1,
      BackoffRate: 2,
      MaxDelaySeconds: 16,
      MaxAttempts: stages.example.workflow.retryAttempts,
      JitterStrategy: 'FULL',
    });
    const ssm = ['Ssm.ThrottlingException', 'Ssm.InternalServerErrorException', 'Ssm.SsmException'];
    const route53 = [
      'Route53.ThrottlingException',
      'Route53.PriorRequestNotCompleteException',
      'Route53.Route53Exception',
    ];
    const sqs = ['Sqs.RequestThrottledException', 'Sqs.KmsThrottledException', 'Sqs.SqsException'];

    expect(retries).toEqual([
      ['LoadZoneAllowlist', [shape(ssm)]],
      ['ApplyPart', [shape(route53)]],
      ['DeleteDeltas', [shape(sqs)]],
      ['CheckChangeStatus', [shape(route53)]],
      ['PublishMetrics', [shape(['CloudWatch.CloudWatchException'])]],
      ['ReleaseZone', [shape(sqs)]],
    ]);
  });

  it('catches every failure of every Task, so that no round ends without releasing its deltas', () => {
    const catches = allStates(definition.States).flatMap(([name, state]) =>
      (state.Catch ?? []).map((c) => [name, c.ErrorEquals, c.Next]),
    );

    expect(catches).toEqual([
      ['LoadZoneAllowlist', ['Ssm.ParameterNotFoundException'], 'SettingsUnavailable'],
      ['LoadZoneAllowlist', ['Ssm.ValidationException'], 'ZoneIdNotAllowed'],
      ['LoadZoneAllowlist', ['States.ALL'], 'ReleaseZone'],
      ['ValidateRecords', ['States.ALL'], 'MalformedInput'],
      ['ApplyPart', ['States.ALL'], 'PartFailed'],
      ['DeleteDeltas', ['States.ALL'], 'PrepareInsyncWait'],
      ['CheckChangeStatus', ['States.ALL'], 'NotInSync'],
      ['PublishMetrics', ['States.ALL'], 'ChangeInsync'],
      ['ReleaseZone', ['States.ALL'], 'Failed'],
    ]);
  });

  it('fails with the workflow’s own error names, or passes a caught one through', () => {
    const named = allStates(definition.States).flatMap(([name, state]) =>
      typeof state.Parameters?.Error === 'string' ? [[name, state.Parameters.Error]] : [],
    );
    const fails = allStates(definition.States).filter(([, state]) => state.Type === 'Fail');

    expect(named).toEqual([
      ['SettingsUnavailable', 'SettingsUnavailable'],
      ['ZoneIdNotAllowed', 'RecordNotAllowed'],
      ['ZoneEntryChanged', 'SettingsUnavailable'],
      ['ZoneNotAllowed', 'RecordNotAllowed'],
      ['RoutingFieldsNotAllowed', 'RecordNotAllowed'],
      ['MalformedInput', 'RecordNotAllowed'],
      ['DescribeRefusedRecords', 'RecordNotAllowed'],
      ['NamesNotAllowed', 'RecordNotAllowed'],
      ['PartsFailed', 'PartsFailed'],
      ['DescribeNotInSync', 'NotInSync'],
    ]);
    expect(fails.map(([name, state]) => [name, state.ErrorPath, state.CausePath])).toEqual([
      ['NotInSync', '$.failure.Error', '$.failure.Cause'],
      ['Failed', '$.failure.Error', '$.failure.Cause'],
    ]);
  });

  it('walks one state per record and one per part, whatever the number of values', () => {
    expect(Object.keys(states.ValidateRecords?.ItemProcessor?.States ?? {})).toEqual(['CheckRecord']);
    expect(states.ApplyParts?.ItemProcessor?.StartAt).toBe('ApplyPart');
    expect(states.ApplyPart?.End).toBe(true);
    expect(states.ApplyParts?.MaxConcurrency).toBe(1);
  });
});

/** The states a round walks from `start`: Next or Default, else (the Default already walked) the first choice. */
function walk(start: string, within: Record<string, State>): string[] {
  const path: string[] = [];
  for (let name: string | undefined = start; name !== undefined && !path.includes(name); ) {
    const state: State | undefined = within[name];
    if (!state) break;
    const inner = state.ItemProcessor
      ? ` (${sentence(walk(state.ItemProcessor.StartAt, state.ItemProcessor.States))})`
      : '';
    path.push(`${name}${inner}`);
    const fallback: string | undefined =
      state.Default !== undefined && path.includes(state.Default) ? state.Choices?.[0]?.Next : state.Default;
    name = state.Next ?? fallback;
  }
  return path;
}
const words = (name: string) =>
  name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase();
const sentence = (path: string[]) => path.map(words).join(', ');

describe('the state names', () => {
  it('read as a sentence along a round that writes', () => {
    expect(sentence(walk(definition.StartAt, definition.States))).toBe(
      'load zone allowlist, inspect input, check zone, validate records (check record), check records, ' +
        'apply parts (apply part), check applied, delete deltas, prepare insync wait, ' +
        'wait for insync, check change status, count poll, is change insync, summarize change, publish metrics, change insync',
    );
  });

  it('read as a sentence along every way a round fails', () => {
    const failing = [
      'SettingsUnavailable',
      'ZoneIdNotAllowed',
      'ZoneEntryChanged',
      'ZoneNotAllowed',
      'RoutingFieldsNotAllowed',
      'MalformedInput',
      'RecordsNotAllowed',
      'NamesNotAllowed',
      'PartsFailed',
      'DescribeNotInSync',
    ];

    expect(failing.map((start) => sentence(walk(start, definition.States)))).toEqual([
      'settings unavailable, release zone, failed',
      'zone id not allowed, release zone, failed',
      'zone entry changed, release zone, failed',
      'zone not allowed, release zone, failed',
      'routing fields not allowed, release zone, failed',
      'malformed input, release zone, failed',
      'records not allowed, describe refused records, release zone, failed',
      'names not allowed, release zone, failed',
      'parts failed, release zone, failed',
      'describe not in sync, not in sync',
    ]);
  });
});

describe('one contract: the definition and the planner read from the same constants', () => {
  it('names records and registries with the contract’s prefix and limits', () => {
    const text = JSON.stringify(definition);

    expect(text).toContain(`States.Format('${REGISTRY_PREFIX}{}.{}.', $.item.name, $.suffix)`);
    expect(text).toContain(
      `States.ArrayRange(States.ArrayLength($.s5), ${ROUTE53_LIMITS.valuesPerRecord}, 1)`,
    );
    expect(states.CheckRecords?.Choices).toContainEqual({
      Variable: '$.validation.uses',
      StringMatches: `*"false/${REGISTRY_LABEL}*`,
      Next: 'NamesNotAllowed',
    });
    expect(Object.keys(states.InspectInput?.Parameters ?? {})).toEqual([
      'zoneGiven.$',
      ...FORBIDDEN_RRSET_FIELDS.map((field) => `${field}.$`),
    ]);
  });

  it('changes with the contract: built against other constants, it carries those', () => {
    let rebuilt = '';
    jest.isolateModules(() => {
      jest.doMock('../../handlers/core/contract', () => ({
        ...jest.requireActual('../../handlers/core/contract'),
        REGISTRY_LABEL: '_other',
        REGISTRY_PREFIX: '_other.',
        ROUTE53_LIMITS: { ...ROUTE53_LIMITS, valuesPerRecord: 123 },
      }));
      jest.doMock('../../handlers/core/outcome', () => ({
        ...jest.requireActual('../../handlers/core/outcome'),
        WORKFLOW_ERRORS: { ...WORKFLOW_ERRORS, partsFailed: 'SomePartsFailed' },
      }));
      const { buildWorkflow: build } = require('../../workflows/apply-zone-change');
      rebuilt = JSON.stringify(build(workflowValues(stages.example, 'r53dyn')));
    });

    expect(rebuilt).toContain(`States.Format('_other.{}.{}.', $.item.name, $.suffix)`);
    expect(rebuilt).toContain('*\\"false/_other*');
    expect(rebuilt).toContain('States.ArrayRange(States.ArrayLength($.s5), 123, 1)');
    expect(rebuilt).toContain('"Error":"SomePartsFailed"');
    expect(rebuilt).not.toContain(REGISTRY_PREFIX);
  });

  const ended = (error: string, cause: string) =>
    verdictsOf({ name: 'round', status: 'FAILED', error, cause }, 'dyn.example.test').map((v) => [
      v.kind,
      'reason' in v ? v.reason.split(':', 1)[0] : undefined,
    ]);
  const partFailed = (error: string, cause: string) =>
    ended(WORKFLOW_ERRORS.partsFailed, JSON.stringify([{ records: ['web'], error, cause }]));

  it('lets the planner retry a write whose throttling outlasted the Retry, whatever its name', () => {
    const causes: Record<string, string> = {
      'Route53.Route53Exception': 'Rate exceeded (Service: Route53, Status Code: 400, Request ID: r)',
    };

    for (const error of TRANSIENT_ERRORS.route53) {
      expect([error, partFailed(error, causes[error] ?? 'Rate exceeded')]).toEqual([
        error,
        [['retry', 'retries-exhausted']],
      ]);
    }
  });

  it('lets the planner retry a zone whose allowlist entry could not be read', () => {
    expect(ended(PARAMETER_NOT_FOUND, 'Parameter /r53dyn/example/zones/Z not found.')).toEqual([
      ['retry', 'settings-unavailable'],
    ]);
    expect(ended(WORKFLOW_ERRORS.settingsUnavailable, 'no allowlist entry')).toEqual([
      ['retry', 'settings-unavailable'],
    ]);
    for (const error of TRANSIENT_ERRORS.ssm) {
      expect([error, ended(error, 'Rate exceeded (Service: Ssm, Status Code: 400)')]).toEqual([
        error,
        [['retry', 'retries-exhausted']],
      ]);
    }
  });

  it('lets the planner refuse what the workflow refused, naming the records', () => {
    expect(ended(WORKFLOW_ERRORS.recordNotAllowed, '{"records":["web"]}')).toEqual([
      ['refuse', 'record-not-allowed'],
    ]);
  });
});
