// The stack's CloudFormation resources that follow from the stage's configuration (docs/design.md §7): the
// queues and their policies, one SSM parameter per zone (what the workflow checks against), the roles of the
// batcher, the planner, the workflow, the instances and the redrive, and the EventBridge rules. Every IAM
// statement names its resources; the Route 53 write right carries the allowlist's names and types as conditions.
import { zoneEntry } from '../handlers/core/allowlist';
import { EC2_EVENT_SOURCE, EC2_GONE_STATES, EC2_STATE_CHANGE, SWEEP_BODY } from '../handlers/core/contract';
import type { ZoneRule } from '../handlers/core/model';
import { METRICS_NAMESPACE } from '../handlers/metrics';
import { ENVIRONMENT } from '../handlers/settings';
import { secondsUntilRelease, type WorkflowValues } from '../workflows/apply-zone-change';
import { observability } from './observability';
import type { StageConfig } from './stage-config';

type Json = unknown;

export const logicalIds = {
  queue: 'RegistrationsQueue',
  eventsQueue: 'EventsQueue',
  zoneQueue: 'ZoneQueue',
  deadLetterQueue: 'DeadLetterQueue',
  zoneDeadLetterQueue: 'ZoneDeadLetterQueue',
  stateMachine: 'ApplyZoneChange',
  workflowRole: 'ApplyZoneChangeRole',
  batcherRole: 'BatcherRole',
  plannerRole: 'PlannerRole',
  instanceRole: 'InstanceRole',
  instanceProfile: 'InstanceProfile',
  instancePolicy: 'InstanceRegistrationPolicy',
  redriveRole: 'RedriveRole',
  instanceStateRule: 'InstanceStateRule',
  sweepRule: 'SweepRule',
} as const;

export const functionNames = (service: string, stage: string) => ({
  batcher: `${service}-${stage}-batcher`,
  planner: `${service}-${stage}-planner`,
});

export const zoneArn = (zone: ZoneRule) => `arn:aws:route53:::hostedzone/${zone.hostedZoneId}`;
export const allowlistParameterPrefix = (service: string, stage: string) => `/${service}/${stage}/zones`;
export const zoneParameterValue = (zone: ZoneRule) => JSON.stringify(zoneEntry(zone));
/**
 * Where each zone's whole rule (docs/design.md §6: lease, private addresses, types) is kept for operators and the
 * r53dyn CLI; the workflow reads the entry under allowlistParameterPrefix, never this one.
 */
export const zoneRuleParameterPrefix = (service: string, stage: string) => `/${service}/${stage}/zone-rules`;

/** What the workflow definition is built from at package time (docs/design.md §8). */
export const workflowValues = (config: StageConfig, service: string): WorkflowValues => ({
  allowlistParameterPrefix: allowlistParameterPrefix(service, config.stage),
  zoneQueueUrl: { Ref: logicalIds.zoneQueue },
  ...config.workflow,
});

const getAtt = (id: string, attr: string) => ({ 'Fn::GetAtt': [id, attr] });
const ref = (id: string) => ({ Ref: id });
const sub = (text: string) => ({ 'Fn::Sub': text });
const arnOf = (id: string) => getAtt(id, 'Arn');

/** Visibility timeouts follow from the functions' timeouts and the workflow's bounds (docs/design.md §4.4). */
export function visibilityTimeouts(config: StageConfig) {
  return {
    // Lambda's guidance for an SQS event source: six times the function timeout, plus the batching window
    registrations: 6 * config.batcher.timeoutSeconds + config.batcher.windowSeconds,
    // the planner holds a zone's deltas from its receive until its execution deletes or releases them
    zone: config.planner.timeoutSeconds + secondsUntilRelease(config.workflow),
  };
}

/** ChangeResourceRecordSets on one zone, limited to its names, its types, the registry TXT, CREATE and DELETE. */
export function zoneWriteStatement(zone: ZoneRule): Json {
  return {
    Sid: `WriteZone${zone.hostedZoneId}`,
    Effect: 'Allow',
    Action: 'route53:ChangeResourceRecordSets',
    Resource: zoneArn(zone),
    Condition: {
      'ForAllValues:StringLike': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': [`*.${zone.suffix}`],
      },
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsRecordTypes': [...zone.types, 'TXT'],
        'route53:ChangeResourceRecordSetsActions': ['CREATE', 'DELETE'],
      },
    },
  };
}

function role(service: string, statements: Json[], name: string, trust: Json = { Service: service }) {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: trust, Action: 'sts:AssumeRole' }],
      },
      Policies: [{ PolicyName: name, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    },
  };
}

function logStatements(logGroup: string): Json[] {
  // Lambda names the streams at run time, inside the one log group of the function
  const group = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${logGroup}`;
  return [
    { Effect: 'Allow', Action: 'logs:CreateLogStream', Resource: sub(`${group}:*`) },
    { Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: sub(`${group}:*:*`) },
  ];
}

/** The batcher: read both input queues, write the zone queue and dead letters. */
export function batcherStatements(config: StageConfig, service: string): Json[] {
  return [
    {
      Effect: 'Allow',
      Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
      Resource: [arnOf(logicalIds.queue), arnOf(logicalIds.eventsQueue)],
    },
    {
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: [arnOf(logicalIds.zoneQueue), arnOf(logicalIds.deadLetterQueue)],
    },
    ...logStatements(`/aws/lambda/${functionNames(service, config.stage).batcher}`),
  ];
}

/** The planner: hold the zone queue's deltas, read the zones, start and look up its executions. */
export function plannerStatements(config: StageConfig, service: string): Json[] {
  const zones = config.allowlist.zones;
  const machine = `${service}-${config.stage}-apply-zone-change`;
  return [
    {
      Effect: 'Allow',
      Action: [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ChangeMessageVisibility',
      ],
      Resource: arnOf(logicalIds.zoneQueue),
    },
    // dead letters, and the carry-over of records a round's budget leaves for the next (docs/design.md §4.4)
    {
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: [arnOf(logicalIds.deadLetterQueue), arnOf(logicalIds.zoneQueue)],
    },
    ...(zones.length > 0
      ? [{ Effect: 'Allow', Action: 'route53:ListResourceRecordSets', Resource: zones.map(zoneArn) }]
      : []),
    { Effect: 'Allow', Action: 'states:StartExecution', Resource: ref(logicalIds.stateMachine) },
    {
      Effect: 'Allow',
      Action: 'states:DescribeExecution',
      Resource: sub(
        `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:${machine}:*`,
      ),
    },
    ...logStatements(`/aws/lambda/${functionNames(service, config.stage).planner}`),
  ];
}

/** The workflow: write the zones within the allowlist, poll changes, read its allowlist, free the zone. */
export function workflowStatements(config: StageConfig, service: string): Json[] {
  const zones = config.allowlist.zones;
  const prefix = allowlistParameterPrefix(service, config.stage);
  return [
    ...zones.map(zoneWriteStatement),
    // GetChange has no resource-level scoping beyond change ids, which are not known in advance
    {
      Sid: 'PollChanges',
      Effect: 'Allow',
      Action: 'route53:GetChange',
      Resource: 'arn:aws:route53:::change/*',
    },
    ...(zones.length > 0
      ? [
          {
            Sid: 'ReadAllowlist',
            Effect: 'Allow',
            Action: 'ssm:GetParameter',
            Resource: zones.map((zone) =>
              sub(
                `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${prefix}/${zone.hostedZoneId}`,
              ),
            ),
          },
        ]
      : []),
    {
      Sid: 'FreeTheZone',
      Effect: 'Allow',
      Action: ['sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
      Resource: arnOf(logicalIds.zoneQueue),
    },
    // PutMetricData names no resource; the condition holds it to r53dyn's namespace (docs/design.md §12)
    {
      Sid: 'PublishMetrics',
      Effect: 'Allow',
      Action: 'cloudwatch:PutMetricData',
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
    },
  ];
}

/** The redrive role (r53dyn redrive): move dead letters back to the registrations queue as the stack. */
export function redriveStatements(): Json[] {
  return [
    {
      Effect: 'Allow',
      Action: [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes',
      ],
      Resource: [arnOf(logicalIds.deadLetterQueue), arnOf(logicalIds.zoneDeadLetterQueue)],
    },
    { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: arnOf(logicalIds.queue) },
  ];
}

const registerStatement = {
  Sid: 'Register',
  Effect: 'Allow',
  Action: 'sqs:SendMessage',
  Resource: arnOf(logicalIds.queue),
};

function queues(config: StageConfig, name: string): Record<string, Json> {
  const visibility = visibilityTimeouts(config);
  const redrive = (target: string, maxReceiveCount: number) => ({
    deadLetterTargetArn: arnOf(target),
    maxReceiveCount,
  });
  return {
    [logicalIds.deadLetterQueue]: {
      Type: 'AWS::SQS::Queue',
      Properties: { QueueName: `${name}-dead-letter`, MessageRetentionPeriod: 1_209_600 },
    },
    [logicalIds.zoneDeadLetterQueue]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: `${name}-zone-dead-letter.fifo`,
        FifoQueue: true,
        MessageRetentionPeriod: 1_209_600,
      },
    },
    [logicalIds.queue]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: `${name}-registrations`,
        VisibilityTimeout: visibility.registrations,
        MessageRetentionPeriod: 345_600,
        RedrivePolicy: redrive(logicalIds.deadLetterQueue, 5),
      },
    },
    [logicalIds.eventsQueue]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: `${name}-events`,
        VisibilityTimeout: visibility.registrations,
        MessageRetentionPeriod: 345_600,
        RedrivePolicy: redrive(logicalIds.deadLetterQueue, 5),
      },
    },
    [logicalIds.zoneQueue]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: `${name}-zones.fifo`,
        FifoQueue: true,
        VisibilityTimeout: visibility.zone,
        MessageRetentionPeriod: 345_600,
        // the planner dead-letters a message with its reason after maxAttempts receives; SQS's own redrive,
        // a few receives later, only catches a planner that keeps crashing
        RedrivePolicy: redrive(logicalIds.zoneDeadLetterQueue, config.planner.maxAttempts + 3),
      },
    },
  };
}

/**
 * Only the stack's EventBridge rules may write the events queue; only the batcher (deltas) and the planner (a round's
 * carry-over) may write the zone queue.
 */
function queuePolicies(): Record<string, Json> {
  const rules = [arnOf(logicalIds.instanceStateRule), arnOf(logicalIds.sweepRule)];
  return {
    EventsQueuePolicy: {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [ref(logicalIds.eventsQueue)],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'EventBridgeRules',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: arnOf(logicalIds.eventsQueue),
              Condition: { ArnEquals: { 'aws:SourceArn': rules } },
            },
            {
              Sid: 'NobodyElse',
              Effect: 'Deny',
              Principal: '*',
              Action: 'sqs:SendMessage',
              Resource: arnOf(logicalIds.eventsQueue),
              Condition: { ArnNotEquals: { 'aws:SourceArn': rules } },
            },
          ],
        },
      },
    },
    ZoneQueuePolicy: {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [ref(logicalIds.zoneQueue)],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'OnlyTheBatcherAndThePlanner',
              Effect: 'Deny',
              Principal: '*',
              Action: 'sqs:SendMessage',
              Resource: arnOf(logicalIds.zoneQueue),
              Condition: {
                ArnNotEquals: {
                  'aws:PrincipalArn': [arnOf(logicalIds.batcherRole), arnOf(logicalIds.plannerRole)],
                },
              },
            },
          ],
        },
      },
    },
  };
}

function rules(config: StageConfig): Record<string, Json> {
  return {
    [logicalIds.instanceStateRule]: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: 'r53dyn: an instance that stops or terminates leaves every record it owns',
        EventPattern: {
          source: [EC2_EVENT_SOURCE],
          'detail-type': [EC2_STATE_CHANGE],
          detail: { state: [...EC2_GONE_STATES] },
        },
        Targets: [{ Id: 'events', Arn: arnOf(logicalIds.eventsQueue) }],
      },
    },
    [logicalIds.sweepRule]: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: 'r53dyn: drop expired leases and old tombstones',
        ScheduleExpression: config.sweepSchedule,
        Targets: [{ Id: 'events', Arn: arnOf(logicalIds.eventsQueue), Input: JSON.stringify(SWEEP_BODY) }],
      },
    },
  };
}

function identities(config: StageConfig, service: string): Record<string, Json> {
  const machines: Record<string, Json> = {
    [logicalIds.instancePolicy]: {
      Type: 'AWS::IAM::ManagedPolicy',
      Properties: {
        Description: 'r53dyn: attach to instance profiles and task roles; lets a machine register itself',
        PolicyDocument: { Version: '2012-10-17', Statement: [registerStatement] },
      },
    },
  };
  if (config.instanceRole.create) {
    machines[logicalIds.instanceRole] = role('', [registerStatement], 'register', {
      Service: ['ec2.amazonaws.com', 'ecs-tasks.amazonaws.com'],
    });
    machines[logicalIds.instanceProfile] = {
      Type: 'AWS::IAM::InstanceProfile',
      Properties: { Roles: [ref(logicalIds.instanceRole)] },
    };
  }
  return {
    ...machines,
    [logicalIds.workflowRole]: role(
      'states.amazonaws.com',
      workflowStatements(config, service),
      'apply-zone-change',
    ),
    [logicalIds.batcherRole]: role('lambda.amazonaws.com', batcherStatements(config, service), 'batcher'),
    [logicalIds.plannerRole]: role('lambda.amazonaws.com', plannerStatements(config, service), 'planner'),
    // operators of this account who may assume it (their own policy must allow sts:AssumeRole on it)
    [logicalIds.redriveRole]: role('', redriveStatements(), 'redrive', {
      AWS: sub(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:root`),
    }),
  };
}

export function buildResources(config: StageConfig, service: string): { Resources: Json; Outputs: Json } {
  const prefix = allowlistParameterPrefix(service, config.stage);
  const rulePrefix = zoneRuleParameterPrefix(service, config.stage);
  const parameter = (name: string, value: string, description: string) => ({
    Type: 'AWS::SSM::Parameter',
    Properties: { Name: name, Type: 'String', Value: value, Description: description },
  });
  const parameters = Object.fromEntries(
    config.allowlist.zones.flatMap((zone) => [
      [
        `ZoneAllowlist${zone.hostedZoneId}`,
        parameter(
          `${prefix}/${zone.hostedZoneId}`,
          zoneParameterValue(zone),
          `r53dyn ${config.stage}: what a record in ${zone.suffix} may be`,
        ),
      ],
      [
        `ZoneRule${zone.hostedZoneId}`,
        parameter(
          `${rulePrefix}/${zone.hostedZoneId}`,
          JSON.stringify(zone),
          `r53dyn ${config.stage}: the allowlist rule of ${zone.suffix}, for operators`,
        ),
      ],
    ]),
  );
  return {
    Resources: {
      ...queues(config, `${service}-${config.stage}`),
      ...queuePolicies(),
      ...rules(config),
      ...parameters,
      ...identities(config, service),
      ...observability(config, `${service}-${config.stage}`),
    },
    Outputs: outputs(config, prefix, rulePrefix),
  };
}

function outputs(config: StageConfig, prefix: string, rulePrefix: string): Json {
  const value = (v: Json) => ({ Value: v });
  return {
    RegistrationsQueueUrl: value(ref(logicalIds.queue)),
    EventsQueueUrl: value(ref(logicalIds.eventsQueue)),
    ZoneQueueUrl: value(ref(logicalIds.zoneQueue)),
    DeadLetterQueueUrl: value(ref(logicalIds.deadLetterQueue)),
    ZoneDeadLetterQueueUrl: value(ref(logicalIds.zoneDeadLetterQueue)),
    StateMachineArn: value(ref(logicalIds.stateMachine)),
    InstancePolicyArn: value(ref(logicalIds.instancePolicy)),
    ...(config.instanceRole.create ? { InstanceProfileArn: value(arnOf(logicalIds.instanceProfile)) } : {}),
    RedriveRoleArn: value(arnOf(logicalIds.redriveRole)),
    RedriveRoleId: value(getAtt(logicalIds.redriveRole, 'RoleId')),
    // the roles that write dead letters: a dead letter is believed to be the stack's own when one of them sent it
    BatcherRoleId: value(getAtt(logicalIds.batcherRole, 'RoleId')),
    PlannerRoleId: value(getAtt(logicalIds.plannerRole, 'RoleId')),
    AllowlistParameterPrefix: value(prefix),
    ZoneRuleParameterPrefix: value(rulePrefix),
    OwnerId: value(config.ownerId),
  };
}

/** The functions' environments, by the names handlers/settings.ts reads. */
export function functionEnvironments(config: StageConfig, service: string) {
  const instanceRoleIds = [
    ...(config.instanceRole.create ? [getAtt(logicalIds.instanceRole, 'RoleId')] : []),
    ...config.instanceRole.existing.map((r) => r.roleId),
  ];
  const allowlist = JSON.stringify(config.allowlist);
  return {
    batcher: {
      [ENVIRONMENT.allowlist]: allowlist,
      [ENVIRONMENT.senderBinding]: String(config.senderBinding),
      [ENVIRONMENT.instanceRoleIds]: { 'Fn::Join': [',', instanceRoleIds] },
      [ENVIRONMENT.relayRoleIds]: getAtt(logicalIds.redriveRole, 'RoleId'),
      [ENVIRONMENT.eventsQueueArn]: arnOf(logicalIds.eventsQueue),
      [ENVIRONMENT.zoneQueueUrl]: ref(logicalIds.zoneQueue),
      [ENVIRONMENT.deadLetterQueueUrl]: ref(logicalIds.deadLetterQueue),
    },
    planner: {
      [ENVIRONMENT.allowlist]: allowlist,
      [ENVIRONMENT.ownerId]: config.ownerId,
      [ENVIRONMENT.stateMachineArn]: ref(logicalIds.stateMachine),
      [ENVIRONMENT.zoneQueueUrl]: ref(logicalIds.zoneQueue),
      [ENVIRONMENT.deadLetterQueueUrl]: ref(logicalIds.deadLetterQueue),
      [ENVIRONMENT.maxAttempts]: String(config.planner.maxAttempts),
      [ENVIRONMENT.retryBaseSeconds]: String(config.planner.retryBaseSeconds),
      [ENVIRONMENT.retryCapSeconds]: String(config.planner.retryCapSeconds),
    },
    service,
  };
}
