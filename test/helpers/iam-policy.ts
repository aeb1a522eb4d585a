// Least-privilege checks over IAM policy documents as they sit in a CloudFormation template (docs/design.md §7.4). Each
// check returns the problems it found as sentences, so a test asserts the exact list: empty for a good policy,
// and exactly the expected complaints for a bad one.

export interface Statement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement?: Statement | Statement[];
}

/** A policy document and where it sits in the template, e.g. `ApplyZoneChangeRole/apply-zone-change`. */
export interface PlacedPolicy {
  where: string;
  document: PolicyDocument;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };
export type Template = { Resources: Record<string, Resource> };

const asList = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export const statementsOf = (document: PolicyDocument): Statement[] =>
  asList(document.Statement) as Statement[];

// Trust policies (AssumeRolePolicyDocument) say who may assume a role, not what it may do: not collected.
const resourcePolicyTypes = new Set([
  'AWS::SQS::QueuePolicy',
  'AWS::SNS::TopicPolicy',
  'AWS::S3::BucketPolicy',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::Policy',
]);

/** Every permission policy in a template: roles' and users' inline policies, managed policies, resource policies. */
export function policiesOf(template: Template): PlacedPolicy[] {
  const placed: PlacedPolicy[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    const properties = resource.Properties ?? {};
    if (resourcePolicyTypes.has(resource.Type)) {
      placed.push({ where: id, document: properties.PolicyDocument as PolicyDocument });
    }
    for (const inline of asList(properties.Policies) as {
      PolicyName?: unknown;
      PolicyDocument: PolicyDocument;
    }[]) {
      placed.push({ where: `${id}/${render(inline.PolicyName)}`, document: inline.PolicyDocument });
    }
  }
  return placed;
}

/** A resource, action or name as readable text; intrinsic functions keep their shape (`!GetAtt Queue.Arn`). */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const fn = value as Record<string, unknown>;
  if (typeof fn.Ref === 'string') return `!Ref ${fn.Ref}`;
  if (Array.isArray(fn['Fn::GetAtt'])) return `!GetAtt ${fn['Fn::GetAtt'].join('.')}`;
  if (typeof fn['Fn::Sub'] === 'string') return fn['Fn::Sub'];
  if (Array.isArray(fn['Fn::Sub'])) return render(fn['Fn::Sub'][0]);
  if (Array.isArray(fn['Fn::Join'])) {
    const [separator, parts] = fn['Fn::Join'] as [string, unknown[]];
    return asList(parts).map(render).join(separator);
  }
  return JSON.stringify(value);
}

/**
 * The one wildcard resource docs/design.md §7.4 needs in Route 53: GetChange is authorised on `change/<id>`, and
 * the id only exists once ChangeResourceRecordSets has returned it, so no policy written beforehand can name it.
 */
export const getChangeException = { action: 'route53:GetChange', resource: 'arn:aws:route53:::change/*' };

// The planner reads back the executions of its one state machine by name, and names are made at run time:
// `execution:<state machine name>:*` is as narrow as Step Functions allows (docs/design.md §4.4).
const executionsOfOneStateMachine = /^execution:[^*:]+:\*$/;

// A Lambda function's log streams are named at run time; naming the log group exactly and leaving the stream
// open (`:*`, or `:*:*` for PutLogEvents) is as narrow as CloudWatch Logs allows.
const logStreamsOfOneGroup = /^log-group:[^*]+:\*(:\*)?$/;

/** The part of an ARN after `arn:partition:service:region:account:`. */
const arnResource = (arn: string): string | undefined =>
  arn.startsWith('arn:')
    ? // CloudFormation's pseudo parameters (`${AWS::Region}`) hold colons of their own
      arn
        .replace(/\$\{AWS::(\w+)\}/g, '$1')
        .split(':')
        .slice(5)
        .join(':')
    : undefined;

// CloudWatch's PutMetricData names no resource: a namespace condition is as narrow as it allows.
const metricsInOneNamespace = (actions: string[], condition: unknown) =>
  actions.every((a) => a === 'cloudwatch:PutMetricData') &&
  typeof (condition as { StringEquals?: Record<string, unknown> } | undefined)?.StringEquals?.[
    'cloudwatch:namespace'
  ] === 'string';

function resourceProblem(actions: string[], resource: unknown, condition?: unknown): string | undefined {
  const text = render(resource);
  if (text.startsWith('!Ref ') || text.startsWith('!GetAtt ')) return undefined;
  if (text === '*' && metricsInOneNamespace(actions, condition)) return undefined;
  if (text === '*') return 'Resource "*"';
  const part = arnResource(text);
  if (part === undefined) return `Resource ${text} is not an ARN`;
  if (part === '' || part === '*') return `Resource ${text} names no resource`;
  if (!text.includes('*')) return undefined;
  if (text === getChangeException.resource && actions.every((a) => a === getChangeException.action)) {
    return undefined;
  }
  if (text.includes(':logs:') && logStreamsOfOneGroup.test(part)) return undefined;
  if (
    text.includes(':states:') &&
    executionsOfOneStateMachine.test(part) &&
    actions.every((a) => a === 'states:DescribeExecution')
  ) {
    return undefined;
  }
  return `Resource ${text} has a wildcard in the resource name`;
}

function actionProblem(action: string): string | undefined {
  if (action === '*') return 'Action "*"';
  if (action.endsWith(':*')) return `Action ${action} grants a whole service`;
  if (action.includes('*')) return `Action ${action} has a wildcard`;
  return undefined;
}

const isAllow = (statement: Statement) => statement.Effect === 'Allow';
const label = (where: string, statement: Statement, index: number) =>
  `${where} statement ${statement.Sid ?? index}`;

/**
 * Broad rights: `*` or service-wide actions, `*` or account-wide resources, NotAction/NotResource, and resource
 * policies open to any principal. Deny statements only take rights away, so only Allow statements are judged.
 */
export function breadthProblems(policy: PlacedPolicy): string[] {
  const problems: string[] = [];
  statementsOf(policy.document).forEach((statement, index) => {
    if (!isAllow(statement)) return;
    const at = label(policy.where, statement, index);
    if (statement.NotAction !== undefined) problems.push(`${at}: NotAction allows every other action`);
    if (statement.NotResource !== undefined) problems.push(`${at}: NotResource allows every other resource`);
    const principals = asList(statement.Principal).flatMap((p) =>
      typeof p === 'object' && p !== null ? Object.values(p).flatMap(asList) : [p],
    );
    if (principals.includes('*')) problems.push(`${at}: Principal "*" lets anyone in`);
    const actions = asList(statement.Action).map(render);
    for (const action of actions) {
      const problem = actionProblem(action);
      if (problem) problems.push(`${at}: ${problem}`);
    }
    if (statement.Resource === undefined && statement.NotResource === undefined) {
      problems.push(`${at}: no Resource`);
    }
    for (const resource of asList(statement.Resource)) {
      const problem = resourceProblem(actions, resource, statement.Condition);
      if (problem) problems.push(`${at}: ${problem}`);
    }
  });
  return problems;
}

export const changeRecordSetsKeys = [
  'route53:ChangeResourceRecordSetsNormalizedRecordNames',
  'route53:ChangeResourceRecordSetsRecordTypes',
  'route53:ChangeResourceRecordSetsActions',
] as const;

/** What one ChangeResourceRecordSets grant allows: the zone and, per condition key, operator and values. */
export interface ZoneWriteGrant {
  resource: string;
  conditions: Record<string, { operator: string; values: string[] }>;
}

/** Whether an action pattern (IAM globs `*` and `?`, case-insensitive) covers the named action. */
export function actionCovers(pattern: string, action: string): boolean {
  const glob = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${glob}$`, 'i').test(action);
}

const writesRecords = (statement: Statement) =>
  isAllow(statement) &&
  asList(statement.Action)
    .map(render)
    .some((action) => actionCovers(action, 'route53:ChangeResourceRecordSets'));

/** Every Allow statement whose actions cover ChangeResourceRecordSets (`route53:*` too), as zone and conditions. */
export function zoneWriteGrants(policy: PlacedPolicy): ZoneWriteGrant[] {
  return statementsOf(policy.document)
    .filter(writesRecords)
    .flatMap((statement) => {
      const conditions: ZoneWriteGrant['conditions'] = {};
      for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
        for (const [key, values] of Object.entries(keys)) {
          conditions[key] = { operator, values: asList(values).map(render) };
        }
      }
      return asList(statement.Resource).map((resource) => ({ resource: render(resource), conditions }));
    });
}

/**
 * A record write must be limited by all three condition keys, each under a ForAllValues operator: ForAnyValue
 * would pass a batch as soon as one of its changes matched, and a plain operator does not apply to the lists.
 */
export function zoneWriteProblems(policy: PlacedPolicy): string[] {
  return zoneWriteGrants(policy).flatMap((grant) =>
    changeRecordSetsKeys.flatMap((key) => {
      const condition = grant.conditions[key];
      if (condition === undefined)
        return [`${policy.where}: ChangeResourceRecordSets on ${grant.resource} without ${key}`];
      if (!condition.operator.startsWith('ForAllValues:')) {
        return [`${policy.where}: ${key} on ${grant.resource} under ${condition.operator}, not ForAllValues`];
      }
      return [];
    }),
  );
}

/** Every right a policy's Allow statements give, one `action resource` line each, sorted. */
export function grants(document: PolicyDocument): string[] {
  return statementsOf(document)
    .filter(isAllow)
    .flatMap((statement) =>
      asList(statement.Action).flatMap((action) =>
        asList(statement.Resource).map((resource) => `${render(action)} ${render(resource)}`),
      ),
    )
    .sort();
}

/** The instance-facing policy sends to the registrations queue and does nothing else: no second right, no other queue. */
export function instancePolicyProblems(document: PolicyDocument, registrationsQueue: string): string[] {
  const allowed = `sqs:SendMessage ${registrationsQueue}`;
  const given = grants(document);
  const problems = given.filter((grant) => grant !== allowed).map((grant) => `grants ${grant}`);
  if (!given.includes(allowed)) problems.push(`does not grant ${allowed}`);
  for (const statement of statementsOf(document)) {
    if (statement.NotAction !== undefined || statement.NotResource !== undefined) {
      problems.push('uses NotAction or NotResource');
    }
  }
  return problems;
}
