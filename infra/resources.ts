// CloudFormation resources that depend on the stage's allowlist: one SSM parameter per zone (what the workflow
// validates against), the workflow's role with Route 53 condition keys derived from the allowlist, the queues,
// the EventBridge rules that feed them, and the policy an instance needs (sqs:SendMessage, nothing else).
import type { ZoneRule } from '../handlers/core/model';
import type { StageConfig } from './stage-config';

type Json = unknown;

export const logicalIds = {
  queue: 'RegistrationsQueue',
  deadLetterQueue: 'DeadLetterQueue',
  stateMachine: 'ApplyZoneChange',
  workflowRole: 'ApplyZoneChangeRole',
  instancePolicy: 'InstanceRegistrationPolicy',
  batcherRole: 'BatcherRole',
} as const;

export const zoneArn = (zone: ZoneRule) => `arn:aws:route53:::hostedzone/${zone.hostedZoneId}`;
export const allowlistParameterPrefix = (service: string, stage: string) => `/${service}/${stage}/zones`;

const getAtt = (id: string, attr: string) => ({ 'Fn::GetAtt': [id, attr] });
const ref = (id: string) => ({ Ref: id });

/** The value the workflow reads for a zone: what a record in it may be. */
export const zoneParameterValue = (zone: ZoneRule) =>
  JSON.stringify({ suffix: zone.suffix, types: zone.types });

/**
 * ChangeResourceRecordSets on one zone, limited to that zone's names, types and the two actions r53dyn uses.
 * Normalized record names are lower case without the trailing dot; `*.suffix` only matches below the suffix
 * on a label boundary, and covers the `_r53dyn.` registry names too.
 */
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

export function buildResources(config: StageConfig, service: string): { Resources: Json; Outputs: Json } {
  const prefix = allowlistParameterPrefix(service, config.stage);
  const name = `${service}-${config.stage}`;
  const zones = config.allowlist.zones;

  const parameters = Object.fromEntries(
    zones.map((zone) => [
      `ZoneAllowlist${zone.hostedZoneId}`,
      {
        Type: 'AWS::SSM::Parameter',
        Properties: {
          Name: `${prefix}/${zone.hostedZoneId}`,
          Type: 'String',
          Value: zoneParameterValue(zone),
          Description: `r53dyn ${config.stage}: records allowed in ${zone.suffix}`,
        },
      },
    ]),
  );

  const workflowStatements: Json[] = [
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
            Resource: zones.map((zone) => ({
              'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${prefix}/${zone.hostedZoneId}`,
            })),
          },
        ]
      : []),
    {
      Sid: 'RequeueOrDeadLetter',
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: [getAtt(logicalIds.queue, 'Arn'), getAtt(logicalIds.deadLetterQueue, 'Arn')],
    },
  ];

  const ec2StateRule = {
    Type: 'AWS::Events::Rule',
    Properties: {
      Description: 'r53dyn: an instance that stops or terminates leaves every record it owns',
      EventPattern: {
        source: ['aws.ec2'],
        'detail-type': ['EC2 Instance State-change Notification'],
        detail: { state: ['stopping', 'stopped', 'shutting-down', 'terminated'] },
      },
      Targets: [{ Id: 'registrations', Arn: getAtt(logicalIds.queue, 'Arn') }],
    },
  };
  const sweepRule = {
    Type: 'AWS::Events::Rule',
    Properties: {
      Description: 'r53dyn: drop expired leases and old tombstones',
      ScheduleExpression: config.sweepSchedule,
      Targets: [
        {
          Id: 'registrations',
          Arn: getAtt(logicalIds.queue, 'Arn'),
          Input: JSON.stringify({ v: 1, action: 'sweep' }),
        },
      ],
    },
  };

  return {
    Resources: {
      [logicalIds.deadLetterQueue]: {
        Type: 'AWS::SQS::Queue',
        Properties: { QueueName: `${name}-dead-letter`, MessageRetentionPeriod: 1209600 },
      },
      [logicalIds.queue]: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          QueueName: `${name}-registrations`,
          // six times the batcher's timeout, as Lambda's SQS event source recommends
          VisibilityTimeout: 360,
          MessageRetentionPeriod: 345600,
          RedrivePolicy: {
            deadLetterTargetArn: getAtt(logicalIds.deadLetterQueue, 'Arn'),
            maxReceiveCount: 5,
          },
        },
      },
      RegistrationsQueuePolicy: {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [ref(logicalIds.queue)],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'EventBridgeRules',
                Effect: 'Allow',
                Principal: { Service: 'events.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: getAtt(logicalIds.queue, 'Arn'),
                Condition: {
                  ArnEquals: {
                    'aws:SourceArn': [getAtt('InstanceStateRule', 'Arn'), getAtt('SweepRule', 'Arn')],
                  },
                },
              },
            ],
          },
        },
      },
      InstanceStateRule: ec2StateRule,
      SweepRule: sweepRule,
      ...parameters,
      [logicalIds.workflowRole]: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' },
            ],
          },
          Policies: [
            {
              PolicyName: 'apply-zone-change',
              PolicyDocument: { Version: '2012-10-17', Statement: workflowStatements },
            },
          ],
        },
      },
      [logicalIds.batcherRole]: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
            ],
          },
          Policies: [
            {
              PolicyName: 'batcher',
              PolicyDocument: { Version: '2012-10-17', Statement: batcherStatements(config, service) },
            },
          ],
        },
      },
      [logicalIds.instancePolicy]: {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: {
          Description: 'r53dyn: attach to instance profiles and task roles; lets a machine register itself',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'Register',
                Effect: 'Allow',
                Action: 'sqs:SendMessage',
                Resource: getAtt(logicalIds.queue, 'Arn'),
              },
            ],
          },
        },
      },
    },
    Outputs: {
      RegistrationsQueueUrl: { Value: ref(logicalIds.queue) },
      DeadLetterQueueUrl: { Value: ref(logicalIds.deadLetterQueue) },
      StateMachineArn: { Value: ref(logicalIds.stateMachine) },
      InstancePolicyArn: { Value: ref(logicalIds.instancePolicy) },
      WorkflowRoleId: { Value: getAtt(logicalIds.workflowRole, 'RoleId') },
      AllowlistParameterPrefix: { Value: prefix },
    },
  };
}

/**
 * What the batcher may do: read the allowlisted zones, start the one workflow, dead-letter bad messages; and
 * what its SQS event source and its own log group need. Its own role, rather than the framework's default one,
 * so that every statement names its resource (the default grants logs on a name prefix).
 */
export function batcherStatements(config: StageConfig, service: string): Json[] {
  const zones = config.allowlist.zones;
  const logGroup = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${service}-${config.stage}-batcher`;
  return [
    {
      Effect: 'Allow',
      Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
      Resource: getAtt(logicalIds.queue, 'Arn'),
    },
    // Lambda names the streams at run time, inside the one log group the stack creates
    { Effect: 'Allow', Action: 'logs:CreateLogStream', Resource: { 'Fn::Sub': `${logGroup}:*` } },
    { Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: { 'Fn::Sub': `${logGroup}:*:*` } },
    ...(zones.length > 0
      ? [{ Effect: 'Allow', Action: 'route53:ListResourceRecordSets', Resource: zones.map(zoneArn) }]
      : []),
    { Effect: 'Allow', Action: 'states:StartExecution', Resource: ref(logicalIds.stateMachine) },
    { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: getAtt(logicalIds.deadLetterQueue, 'Arn') },
  ];
}
