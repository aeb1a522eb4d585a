// The Step Functions workflow that writes one zone round (docs/design.md §8), built from the same contract as the
// code: JSONPath and service integrations only (no Lambda task), so the same definition runs on AWS and on
// LocalStack. It reads the zone's allowlist entry from SSM (never from its input), checks every record of the
// round in one state per record, applies the parts (one ChangeBatch each), deletes the round's deltas from the
// zone queue (which frees the zone for the next round) and polls GetChange until INSYNC. On any failure it
// releases the deltas after a jittered delay and fails with an error the planner reads back.
import { GONE_LIST_LABEL, REGISTRY_LABEL, REGISTRY_PREFIX, ROUTE53_LIMITS } from '../handlers/core/contract';
import { WORKFLOW_ERRORS } from '../handlers/core/outcome';
import { MAX_PARTS_PER_ROUND } from '../handlers/core/round';
import { METRIC, METRICS_NAMESPACE } from '../handlers/metrics';

/** Deploy-time values: plain strings locally, CloudFormation references in the packaged template. */
export interface WorkflowValues {
  allowlistParameterPrefix: string;
  zoneQueueUrl: unknown;
  /** attempts of every Retry (throttling and server errors), with full jitter */
  retryAttempts: number;
  insyncFirstWaitSeconds: number;
  insyncMaxWaitSeconds: number;
  insyncTimeoutSeconds: number;
}

const RETRY_SHAPE = { IntervalSeconds: 1, BackoffRate: 2, MaxDelaySeconds: 16 } as const;

/** The longest a state's Retry can wait in all before it gives up. */
export function retryBoundSeconds(attempts: number): number {
  let total = 0;
  for (let i = 0; i < attempts; i += 1) {
    total += Math.min(
      RETRY_SHAPE.IntervalSeconds * RETRY_SHAPE.BackoffRate ** i,
      RETRY_SHAPE.MaxDelaySeconds,
    );
  }
  return total;
}

/**
 * The longest an execution can take from its start until it deletes or releases the round's deltas: starting,
 * the allowlist read, every part's write and the release, each through its Retry (docs/design.md §4.4). The zone
 * queue's visibility timeout is derived from it, never set by hand.
 */
export function secondsUntilRelease(values: Pick<WorkflowValues, 'retryAttempts'>): number {
  const startAndChecks = 30;
  return startAndChecks + retryBoundSeconds(values.retryAttempts) * (2 + MAX_PARTS_PER_ROUND);
}

/** The longest an execution can run: until release, then the INSYNC polling with its own bound. */
export function executionTimeoutSeconds(values: WorkflowValues): number {
  return (
    secondsUntilRelease(values) +
    values.insyncTimeoutSeconds +
    values.insyncMaxWaitSeconds +
    retryBoundSeconds(values.retryAttempts)
  );
}

// Step Functions names an aws-sdk integration's errors <Service>.<Exception>, the exception as the service's
// model names it; an error code the model does not name becomes <Service>.<Service>Exception. Route 53 answers
// throttling with the code Throttling, which its model does not name (it declares ThrottlingException), and
// server errors are not modelled either: the generic exception is retried with the rest (an AccessDenied the
// model does not name is then retried in vain before it is reported; docs/design.md §8.3).
export const TRANSIENT_ERRORS = {
  ssm: ['Ssm.ThrottlingException', 'Ssm.InternalServerErrorException', 'Ssm.SsmException'],
  route53: [
    'Route53.ThrottlingException',
    'Route53.PriorRequestNotCompleteException',
    'Route53.Route53Exception',
  ],
  sqs: ['Sqs.RequestThrottledException', 'Sqs.KmsThrottledException', 'Sqs.SqsException'],
  // CloudWatch throttles with the code Throttling, which its model does not name either
  cloudwatch: ['CloudWatch.CloudWatchException'],
} as const;
const SSM_TRANSIENT = [...TRANSIENT_ERRORS.ssm];
const ROUTE53_TRANSIENT = [...TRANSIENT_ERRORS.route53];
const SQS_TRANSIENT = [...TRANSIENT_ERRORS.sqs];
/** The permanent errors the workflow tells apart itself: the zone has no allowlist entry (yet)... */
export const PARAMETER_NOT_FOUND = 'Ssm.ParameterNotFoundException';
/** ... or its id cannot even name one (SSM refuses the parameter name). */
export const PARAMETER_NAME_INVALID = 'Ssm.ValidationException';

/** Characters a relative name may hold; anything else (upper case, *, \, non-ASCII, ...) is refused. */
const NAME_CHARACTERS = 'abcdefghijklmnopqrstuvwxyz0123456789-_.';

/** ResourceRecordSet fields r53dyn never writes: an alias or a routing policy would change what the name does. */
export const FORBIDDEN_RRSET_FIELDS = [
  'AliasTarget',
  'SetIdentifier',
  'Weight',
  'Region',
  'GeoLocation',
  'GeoProximityLocation',
  'Failover',
  'MultiValueAnswer',
  'HealthCheckId',
  'TrafficPolicyInstanceId',
  'CidrRoutingConfig',
] as const;

/** The six slots of a record and what each may hold (docs/design.md §8.2). */
export const SLOTS = [
  { action: 'DELETE', type: 'A', at: 'address' },
  { action: 'CREATE', type: 'A', at: 'address' },
  { action: 'DELETE', type: 'AAAA', at: 'address' },
  { action: 'CREATE', type: 'AAAA', at: 'address' },
  { action: 'DELETE', type: 'TXT', at: 'registry' },
  { action: 'CREATE', type: 'TXT', at: 'registry' },
] as const;

/** Patterns on the JSON list of relative names that no valid name matches (docs/design.md §8.2). */
export const NAME_LIST_PATTERNS = [
  { pattern: '*""*', rule: 'an empty name (the zone apex)' },
  { pattern: '*..*', rule: 'an empty label' },
  { pattern: '*".*', rule: 'a leading dot' },
  { pattern: '*."*', rule: 'a trailing dot' },
  { pattern: '*"-*', rule: 'a label starting with a hyphen' },
  { pattern: '*.-*', rule: 'a label starting with a hyphen' },
  { pattern: '*-"*', rule: 'a label ending with a hyphen' },
  { pattern: '*-.*', rule: 'a label ending with a hyphen' },
] as const;

const isOneOf = (allowed: string, actual: string) => `States.ArrayContains(${allowed}, ${actual})`;
const json = (path: string) => `States.JsonToString(${path})`;
/** [] (the slot is empty) or [value] */
const emptyOr = (value: string) => `States.Array('[]', ${json(`States.Array(${value})`)})`;

/**
 * The checks of one slot, `$.s<i>` (docs/design.md §8.2): at most one change; every change with its action,
 * name, type and TTL, the name and type the slot's, and a CREATE with the zone's TTL and 1 to the limit's values.
 */
function slotChecks(slot: (typeof SLOTS)[number], i: number): string[] {
  const s = `$.s${i}`;
  const count = `States.ArrayLength(${s})`;
  const address = "States.Format('{}.{}.', $.item.name, $.suffix)";
  const registry = `States.Format('${REGISTRY_PREFIX}{}.{}.', $.item.name, $.suffix)`;
  const fields = ['Action', 'ResourceRecordSet.Name', 'ResourceRecordSet.Type', 'ResourceRecordSet.TTL'];
  const checks = [
    `States.ArrayContains(States.Array(0, 1), ${count})`,
    isOneOf(
      `States.Array(States.Format('[{},{},{},{}]', ${count}, ${count}, ${count}, ${count}))`,
      json(`States.Array(${fields.map((f) => `States.ArrayLength(${s}[*].${f})`).join(', ')})`),
    ),
    isOneOf(emptyOr(`'${slot.action}'`), json(`${s}[*].Action`)),
    isOneOf(emptyOr(slot.at === 'address' ? address : registry), json(`${s}[*].ResourceRecordSet.Name`)),
    isOneOf(
      slot.type === 'TXT' ? emptyOr("'TXT'") : `States.Array('[]', ${json(`$.types.${slot.type}`)})`,
      json(`${s}[*].ResourceRecordSet.Type`),
    ),
  ];
  if (slot.action === 'CREATE') {
    const limit = slot.type === 'TXT' ? String(ROUTE53_LIMITS.valuesPerRecord) : '$.maxValues';
    checks.push(
      `States.ArrayContains(States.ArrayRange(${count}, ${limit}, 1), States.ArrayLength(${s}[*].ResourceRecordSet.ResourceRecords[*]))`,
      isOneOf(emptyOr('$.ttl'), json(`${s}[*].ResourceRecordSet.TTL`)),
    );
  }
  return checks;
}

/** Per record, one Pass: a list of booleans, every one true for a valid record. */
function recordChecks(): Record<string, string> {
  const checks: string[] = [
    `States.ArrayContains(States.Array(6), States.ArrayLength($.item.slots))`,
    isOneOf("States.Array('[]')", json(`States.StringSplit($.item.name, '${NAME_CHARACTERS}')`)),
    ...SLOTS.flatMap(slotChecks),
  ];
  return {
    'name.$': '$.item.name',
    'bad.$': `States.ArrayContains(States.Array(${checks.join(', ')}), false)`,
    // "true/web": no address changes at web; the gone list's name may only carry its registry
    'use.$': `States.Format('{}/{}', States.ArrayContains(States.Array('[[],[],[],[]]'), ${json('States.Array($.s0, $.s1, $.s2, $.s3)')}), $.item.name)`,
  };
}

const failure = (error: string, cause: string) => ({ Error: error, 'Cause.$': cause });

type Retry = (comment: string, errors: string[]) => Record<string, unknown>;

/** The zone's allowlist entry, read from SSM, never from the input (docs/design.md §6, §8.2). */
function allowlistStates(values: WorkflowValues, retry: Retry) {
  return {
    LoadZoneAllowlist: {
      Type: 'Task',
      Comment:
        'The allowlist comes from the parameter the stack owns for this zone, never from the execution input.',
      Resource: 'arn:aws:states:::aws-sdk:ssm:getParameter',
      Parameters: {
        'Name.$': `States.Format('{}/{}', '${values.allowlistParameterPrefix}', $.hostedZoneId)`,
      },
      ResultSelector: { 'value.$': '$.Parameter.Value' },
      ResultPath: '$.allowlist',
      Retry: [retry('SSM throttling and server errors', SSM_TRANSIENT)],
      Catch: [
        {
          ErrorEquals: [PARAMETER_NOT_FOUND],
          ResultPath: '$.failure',
          Next: 'SettingsUnavailable',
        },
        { ErrorEquals: [PARAMETER_NAME_INVALID], ResultPath: '$.failure', Next: 'ZoneIdNotAllowed' },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'ReleaseZone' },
      ],
      Next: 'InspectInput',
    },
    SettingsUnavailable: {
      Type: 'Pass',
      Parameters: failure(
        WORKFLOW_ERRORS.settingsUnavailable,
        `States.Format('no allowlist entry {}/{} for this hosted zone (yet)', '${values.allowlistParameterPrefix}', $.hostedZoneId)`,
      ),
      ResultPath: '$.failure',
      Next: 'ReleaseZone',
    },
    ZoneIdNotAllowed: {
      Type: 'Pass',
      Parameters: failure(
        WORKFLOW_ERRORS.recordNotAllowed,
        "States.Format('hosted zone id {} names no allowlist entry: {}', $.hostedZoneId, $.failure.Cause)",
      ),
      ResultPath: '$.failure',
      Next: 'ReleaseZone',
    },
  };
}

/** The input against the entry: the same entry, for this zone, and no alias or routing field (docs/design.md §8.2). */
function inputStates() {
  return {
    InspectInput: {
      Type: 'Pass',
      Comment: 'The zone entry the planner planned with, and any routing field anywhere in the changes.',
      Parameters: {
        'zoneGiven.$': 'States.JsonToString($.zone)',
        ...Object.fromEntries(
          FORBIDDEN_RRSET_FIELDS.map((field) => [
            `${field}.$`,
            `$.parts[*].records[*].slots[*][*].ResourceRecordSet.${field}`,
          ]),
        ),
      },
      ResultPath: '$.inspect',
      Next: 'CheckZone',
    },
    CheckZone: {
      Type: 'Choice',
      Choices: [
        {
          Not: { Variable: '$.inspect.zoneGiven', StringEqualsPath: '$.allowlist.value' },
          Next: 'ZoneEntryChanged',
        },
        {
          Not: { Variable: '$.zone.hostedZoneId', StringEqualsPath: '$.hostedZoneId' },
          Next: 'ZoneNotAllowed',
        },
        ...FORBIDDEN_RRSET_FIELDS.map((field) => ({
          Variable: `$.inspect.${field}[0]`,
          IsPresent: true,
          Next: 'RoutingFieldsNotAllowed',
        })),
      ],
      Default: 'ValidateRecords',
    },
  };
}

/** The refusals of an input that does not match its entry (docs/design.md §8.3). */
function inputRefusals() {
  return {
    ZoneEntryChanged: {
      Type: 'Pass',
      Comment:
        'The planner read its allowlist from the same deploy as SSM; they differ only while a deploy is under way.',
      Parameters: failure(
        WORKFLOW_ERRORS.settingsUnavailable,
        "States.Format('the planner planned with zone entry {} but the allowlist holds {}', $.inspect.zoneGiven, $.allowlist.value)",
      ),
      ResultPath: '$.failure',
      Next: 'ReleaseZone',
    },
    ZoneNotAllowed: {
      Type: 'Pass',
      Parameters: failure(
        WORKFLOW_ERRORS.recordNotAllowed,
        "States.Format('the input is for hosted zone {} but names the entry of another', $.hostedZoneId)",
      ),
      ResultPath: '$.failure',
      Next: 'ReleaseZone',
    },
    RoutingFieldsNotAllowed: {
      Type: 'Pass',
      Parameters: failure(
        WORKFLOW_ERRORS.recordNotAllowed,
        `States.Format('a change carries an alias or routing field ({})', '${FORBIDDEN_RRSET_FIELDS.join(', ')}')`,
      ),
      ResultPath: '$.failure',
      Next: 'ReleaseZone',
    },
  };
}

/** Every record checked in one state of its own, whatever its number of values (docs/design.md §8.2). */
function validationStates() {
  return {
    ValidateRecords: {
      Type: 'Map',
      Comment:
        'One state per record, whatever its number of values: every slot checked against the zone entry.',
      InputPath: '$.parts[*].records[*]',
      ItemSelector: {
        'item.$': '$$.Map.Item.Value',
        ...Object.fromEntries(SLOTS.map((_, i) => [`s${i}.$`, `$$.Map.Item.Value.slots[${i}]`])),
        'suffix.$': '$$.Execution.Input.zone.suffix',
        'types.$': '$$.Execution.Input.zone.slotTypes',
        'ttl.$': '$$.Execution.Input.zone.ttl',
        'maxValues.$': '$$.Execution.Input.zone.maxValuesPerRecord',
      },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: 'CheckRecord',
        States: { CheckRecord: { Type: 'Pass', Parameters: recordChecks(), End: true } },
      },
      ResultSelector: {
        'bad.$': 'States.ArrayContains($[*].bad, true)',
        'names.$': 'States.JsonToString($[*].name)',
        'uses.$': 'States.JsonToString($[*].use)',
        'verdicts.$': '$',
      },
      ResultPath: '$.validation',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'MalformedInput' }],
      Next: 'CheckRecords',
    },
    MalformedInput: {
      Type: 'Pass',
      Parameters: failure(
        WORKFLOW_ERRORS.recordNotAllowed,
        "States.Format('the changes are not shaped as the planner shapes them: {}', $.failure.Cause)",
      ),
      ResultPath: '$.failure',
      Next: 'ReleaseZone',
    },
  };
}

/** The rules over all names at once, and the refusals that name what was refused (docs/design.md §8.2, §8.3). */
function nameStates() {
  return {
    CheckRecords: {
      Type: 'Choice',
      Comment: 'Rules over all names at once: a fixed number of states whatever the number of records.',
      Choices: [
        { Variable: '$.validation.bad', BooleanEquals: true, Next: 'RecordsNotAllowed' },
        ...NAME_LIST_PATTERNS.map(({ pattern }) => ({
          Variable: '$.validation.names',
          StringMatches: pattern,
          Next: 'NamesNotAllowed',
        })),
        {
          Variable: '$.validation.uses',
          StringMatches: `*"false/${REGISTRY_LABEL}*`,
          Next: 'NamesNotAllowed',
        },
      ],
      Default: 'ApplyParts',
    },
    RecordsNotAllowed: {
      Type: 'Pass',
      Comment: 'Only on this path is each record looked at again, to name the ones refused.',
      Parameters: { 'records.$': '$.validation.verdicts[?(@.bad == true)].name' },
      ResultPath: '$.refused',
      Next: 'DescribeRefusedRecords',
    },
    DescribeRefusedRecords: {
      Type: 'Pass',
      Parameters: failure(WORKFLOW_ERRORS.recordNotAllowed, 'States.JsonToString($.refused)'),
      ResultPath: '$.failure',
      Next: 'ReleaseZone',
    },
    NamesNotAllowed: {
      Type: 'Pass',
      Parameters: failure(
        WORKFLOW_ERRORS.recordNotAllowed,
        `States.Format('a relative name is empty, has an empty label, a hyphen at a label edge, or is reserved (${REGISTRY_LABEL}…) and carries addresses: {}', $.validation.names)`,
      ),
      ResultPath: '$.failure',
      Next: 'ReleaseZone',
    },
  };
}

/** One ChangeBatch per part (docs/design.md §4.3). */
function applyStates(retry: Retry) {
  return {
    ApplyParts: {
      Type: 'Map',
      Comment:
        'One ChangeBatch per part, one after the other; a part Route 53 refuses does not stop the others.',
      ItemsPath: '$.parts',
      MaxConcurrency: 1,
      ItemSelector: {
        'hostedZoneId.$': '$$.Execution.Input.hostedZoneId',
        'records.$': '$$.Map.Item.Value.records[*].name',
        'changes.$': '$$.Map.Item.Value.records[*].slots[*][*]',
        'part.$': '$$.Map.Item.Index',
      },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: 'ApplyPart',
        States: {
          ApplyPart: {
            Type: 'Task',
            Comment:
              'Compare-and-swap: the batch deletes the exact rrsets read, so a concurrent writer makes Route 53 refuse it.',
            Resource: 'arn:aws:states:::aws-sdk:route53:changeResourceRecordSets',
            Parameters: {
              'HostedZoneId.$': '$.hostedZoneId',
              ChangeBatch: {
                'Comment.$': "States.Format('r53dyn part {}', $.part)",
                'Changes.$': '$.changes',
              },
            },
            // ChangeInfo.Id reads /change/<id>; GetChange takes the id: the last segment, with or without the prefix
            ResultSelector: {
              'changeId.$':
                "States.ArrayGetItem(States.StringSplit($.ChangeInfo.Id, '/'), States.MathAdd(States.ArrayLength(States.StringSplit($.ChangeInfo.Id, '/')), -1))",
            },
            Retry: [
              retry(
                "Route 53's request rate is an account-wide token bucket; full jitter spreads writers apart.",
                ROUTE53_TRANSIENT,
              ),
            ],
            Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: 'PartFailed' }],
            End: true,
          },
          PartFailed: {
            Type: 'Pass',
            Parameters: {
              failure: { 'records.$': '$.records', 'error.$': '$.caught.Error', 'cause.$': '$.caught.Cause' },
            },
            End: true,
          },
        },
      },
      ResultSelector: { 'changeIds.$': '$[*].changeId', 'failures.$': '$[*].failure' },
      ResultPath: '$.applied',
      Next: 'CheckApplied',
    },
  };
}

/**
 * The parts written: the deltas deleted, which frees the zone for its next round at once (Route 53 reads already
 * show PENDING changes; records the input budget left out are on the queue in a delta of their own, §4.4).
 */
function releaseStates(values: WorkflowValues, retry: Retry) {
  return {
    CheckApplied: {
      Type: 'Choice',
      Choices: [{ Variable: '$.applied.failures[0]', IsPresent: true, Next: 'PartsFailed' }],
      Default: 'DeleteDeltas',
    },
    PartsFailed: {
      Type: 'Pass',
      Comment: 'The parts that went through stay written; the planner learns the rest from this cause.',
      Parameters: failure(WORKFLOW_ERRORS.partsFailed, 'States.JsonToString($.applied.failures)'),
      ResultPath: '$.failure',
      Next: 'ReleaseZone',
    },
    DeleteDeltas: {
      Type: 'Task',
      Resource: 'arn:aws:states:::aws-sdk:sqs:deleteMessageBatch',
      Parameters: { QueueUrl: values.zoneQueueUrl, 'Entries.$': '$.release.delete' },
      ResultPath: null,
      Retry: [retry('SQS throttling and server errors', SQS_TRANSIENT)],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.releaseFailure', Next: 'PrepareInsyncWait' }],
      Next: 'PrepareInsyncWait',
    },
  };
}

/** Polling the round's last change, the wait doubling up to its cap (docs/design.md §8.4). */
function pollStates(values: WorkflowValues, retry: Retry) {
  return {
    PrepareInsyncWait: {
      Type: 'Pass',
      Comment:
        "A zone's changes reach its name servers in order, so the round's last change being INSYNC covers the others.",
      Parameters: {
        'changeId.$':
          'States.ArrayGetItem($.applied.changeIds, States.MathAdd(States.ArrayLength($.applied.changeIds), -1))',
        waitSeconds: values.insyncFirstWaitSeconds,
        secondsWaited: 0,
        polls: 0,
      },
      ResultPath: '$.insync',
      Next: 'WaitForInsync',
    },
    WaitForInsync: { Type: 'Wait', SecondsPath: '$.insync.waitSeconds', Next: 'CheckChangeStatus' },
    CheckChangeStatus: {
      Type: 'Task',
      Resource: 'arn:aws:states:::aws-sdk:route53:getChange',
      Parameters: { 'Id.$': '$.insync.changeId' },
      ResultSelector: { 'status.$': '$.ChangeInfo.Status' },
      ResultPath: '$.poll',
      Retry: [
        retry('GetChange draws from the same account-wide rate limit as the writes.', ROUTE53_TRANSIENT),
      ],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'NotInSync' }],
      Next: 'CountPoll',
    },
    CountPoll: {
      Type: 'Pass',
      Parameters: {
        'changeId.$': '$.insync.changeId',
        'status.$': '$.poll.status',
        'waitSeconds.$': 'States.MathAdd($.insync.waitSeconds, $.insync.waitSeconds)',
        'secondsWaited.$': 'States.MathAdd($.insync.secondsWaited, $.insync.waitSeconds)',
        'polls.$': 'States.MathAdd($.insync.polls, 1)',
      },
      ResultPath: '$.insync',
      Next: 'IsChangeInsync',
    },
  };
}

/** INSYNC, or NotInSync past the bound (docs/design.md §8.3). */
function insyncStates(values: WorkflowValues) {
  return {
    IsChangeInsync: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.insync.status', StringEquals: 'INSYNC', Next: 'SummarizeChange' },
        {
          Variable: '$.insync.secondsWaited',
          NumericGreaterThanEquals: values.insyncTimeoutSeconds,
          Next: 'DescribeNotInSync',
        },
        {
          Variable: '$.insync.waitSeconds',
          NumericGreaterThan: values.insyncMaxWaitSeconds,
          Next: 'CapWait',
        },
      ],
      Default: 'WaitForInsync',
    },
    CapWait: {
      Type: 'Pass',
      Result: values.insyncMaxWaitSeconds,
      ResultPath: '$.insync.waitSeconds',
      Next: 'WaitForInsync',
    },
    DescribeNotInSync: {
      Type: 'Pass',
      Parameters: failure(
        WORKFLOW_ERRORS.notInSync,
        "States.Format('change {} in hosted zone {} was still {} after {} seconds ({} polls); it is written and will propagate', $.insync.changeId, $.hostedZoneId, $.insync.status, $.insync.secondsWaited, $.insync.polls)",
      ),
      ResultPath: '$.failure',
      Next: 'NotInSync',
    },
    NotInSync: { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
    SummarizeChange: {
      Type: 'Pass',
      Parameters: {
        'hostedZoneId.$': '$.hostedZoneId',
        'round.$': '$.summary.round',
        'messages.$': '$.summary.messages',
        'changeIds.$': '$.applied.changeIds',
        'status.$': '$.insync.status',
        'records.$': '$.summary.records',
        'polls.$': '$.insync.polls',
        'secondsWaited.$': '$.insync.secondsWaited',
      },
      Next: 'PublishMetrics',
    },
    ChangeInsync: { Type: 'Succeed' },
  };
}

/** The round's one metric, published by the workflow itself (it runs no Lambda; docs/design.md §12). */
function metricStates(retry: Retry) {
  return {
    PublishMetrics: {
      Type: 'Task',
      Comment:
        'The messages the round served, and how long its oldest took: its age when planned, plus the wait for INSYNC.',
      Resource: 'arn:aws:states:::aws-sdk:cloudwatch:putMetricData',
      Parameters: {
        Namespace: METRICS_NAMESPACE,
        MetricData: [
          {
            MetricName: METRIC.sentToInsync,
            Unit: 'Seconds',
            Dimensions: [{ Name: 'service', Value: 'r53dyn' }],
            'Value.$': 'States.MathAdd($$.Execution.Input.summary.secondsSentToPlan, $.secondsWaited)',
          },
          {
            MetricName: METRIC.applied,
            Unit: 'Count',
            Dimensions: [{ Name: 'service', Value: 'r53dyn' }],
            'Value.$': '$$.Execution.Input.summary.applied',
          },
        ],
      },
      ResultPath: null,
      Retry: [retry('CloudWatch throttling and server errors', [...TRANSIENT_ERRORS.cloudwatch])],
      // a metric lost is no message lost: the round is written whatever CloudWatch answers
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'ChangeInsync' }],
      Next: 'ChangeInsync',
    },
  };
}

/** A failed round: its deltas released with their jittered delay, and the error the planner reads (docs/design.md §4.5). */
function failedStates(values: WorkflowValues, retry: Retry) {
  return {
    ReleaseZone: {
      Type: 'Task',
      Comment:
        "The round failed: its deltas come back after a jittered delay, and the planner reads this execution's error.",
      Resource: 'arn:aws:states:::aws-sdk:sqs:changeMessageVisibilityBatch',
      Parameters: { QueueUrl: values.zoneQueueUrl, 'Entries.$': '$.release.later' },
      ResultPath: null,
      Retry: [retry('SQS throttling and server errors', SQS_TRANSIENT)],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.releaseFailure', Next: 'Failed' }],
      Next: 'Failed',
    },
    Failed: { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
  };
}

export function buildWorkflow(values: WorkflowValues) {
  const retry: Retry = (comment, errors) => ({
    Comment: comment,
    ErrorEquals: errors,
    ...RETRY_SHAPE,
    MaxAttempts: values.retryAttempts,
    JitterStrategy: 'FULL',
  });
  const states: Record<string, unknown> = {
    ...allowlistStates(values, retry),
    ...inputStates(),
    ...inputRefusals(),
    ...validationStates(),
    ...nameStates(),
    ...applyStates(retry),
    ...releaseStates(values, retry),
    ...pollStates(values, retry),
    ...insyncStates(values),
    ...metricStates(retry),
    ...failedStates(values, retry),
  };
  return {
    Comment: `r53dyn: check one zone round against the zone's allowlist entry, apply its ChangeBatches, free the zone, poll until INSYNC (docs/design.md §8). Gone list: ${REGISTRY_PREFIX}${GONE_LIST_LABEL}.<suffix>.`,
    QueryLanguage: 'JSONPath',
    TimeoutSeconds: executionTimeoutSeconds(values),
    StartAt: 'LoadZoneAllowlist',
    States: states,
  };
}
