// Least privilege, read off the packaged CloudFormation template (the e2e global setup packages it with osls):
// cfn-lint passes, no statement grants `*` or a whole service, every record write carries the Route 53 condition
// keys derived from the stage's allowlist, the instance policy only sends to the queue, each role holds exactly
// the rights of docs/design.md §7.4, only EventBridge's rules may write the events queue and only the batcher the
// zone queue (§7.2), and only EC2 and ECS may assume the instance role (§7.1). The checks themselves are shown
// to fail on hand-made bad policies.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  breadthProblems,
  grants,
  instancePolicyProblems,
  type PlacedPolicy,
  type PolicyDocument,
  policiesOf,
  type Template,
  zoneWriteGrants,
  zoneWriteProblems,
} from '../helpers/iam-policy';

const root = join(__dirname, '..', '..');
const templatePath = join(root, '.serverless', 'cloudformation-template-update-stack.json');
const template: Template = JSON.parse(readFileSync(templatePath, 'utf8'));
const policies = policiesOf(template);

interface StageZone {
  hostedZoneId: string;
  suffix: string;
  types: string[];
}

// Zone ids in local.yml are `${env:...}`; the deploy that packaged the template recorded which id each got.
const stack: { zones: Record<string, string> } = JSON.parse(
  readFileSync(join(root, '.local', 'stack-local.json'), 'utf8'),
);
const stageZones: StageZone[] = (
  parse(readFileSync(join(root, 'infra', 'stages', 'local.yml'), 'utf8')) as { zones: StageZone[] }
).zones.map((zone) => ({
  ...zone,
  hostedZoneId: stack.zones[zone.suffix] ?? `(no local zone ${zone.suffix})`,
}));

const policyAt = (where: string): PlacedPolicy => {
  const found = policies.find((p) => p.where === where);
  if (found === undefined)
    throw new Error(`no policy ${where} in ${policies.map((p) => p.where).join(', ')}`);
  return found;
};

const statementsOfPolicy = (where: string) => policyAt(where).document.Statement;

const allow = (statement: object): PlacedPolicy => ({
  where: 'Hand-made',
  document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', ...statement }] },
});

describe('the packaged template', () => {
  test('passes cfn-lint', () => {
    // Act
    const lint = spawnSync(join(root, '.local', 'tools-venv', 'bin', 'cfn-lint'), [templatePath], {
      encoding: 'utf8',
    });

    // Assert
    expect({ status: lint.status, stdout: lint.stdout, stderr: lint.stderr }).toEqual({
      status: 0,
      stdout: '',
      stderr: '',
    });
  });

  test('holds the policies this test knows how to judge, and no other', () => {
    expect(policies.map((p) => p.where).sort()).toEqual([
      'ApplyZoneChangeRole/apply-zone-change',
      'BatcherRole/batcher',
      'EventsQueuePolicy',
      'InstanceRegistrationPolicy',
      'InstanceRole/register',
      'PlannerRole/planner',
      'RedriveRole/redrive',
      'ServerlessDeploymentBucketPolicy',
      'ZoneQueuePolicy',
    ]);
  });

  test('no Allow statement grants *, a whole service, or a resource it does not name', () => {
    expect(policies.flatMap(breadthProblems)).toEqual([]);
  });

  test('every record write is limited by the three condition keys, with values from the allowlist', () => {
    // Arrange: one write per allowlisted zone, to its names, its types plus the registry TXT, CREATE and DELETE
    const expected = stageZones.map((zone) => ({
      resource: `arn:aws:route53:::hostedzone/${zone.hostedZoneId}`,
      conditions: {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': {
          operator: 'ForAllValues:StringLike',
          values: [`*.${zone.suffix}`],
        },
        'route53:ChangeResourceRecordSetsRecordTypes': {
          operator: 'ForAllValues:StringEquals',
          values: [...zone.types, 'TXT'],
        },
        'route53:ChangeResourceRecordSetsActions': {
          operator: 'ForAllValues:StringEquals',
          values: ['CREATE', 'DELETE'],
        },
      },
    }));

    // Act
    const writes = policies.flatMap(zoneWriteGrants);
    const problems = policies.flatMap(zoneWriteProblems);

    // Assert
    expect(problems).toEqual([]);
    expect(writes).toEqual(expected);
  });

  test('the instance policy sends to the registrations queue and does nothing else', () => {
    // Arrange
    const instance = policyAt('InstanceRegistrationPolicy');

    // Act
    const problems = instancePolicyProblems(instance.document, '!GetAtt RegistrationsQueue.Arn');

    // Assert
    expect(problems).toEqual([]);
    expect(template.Resources.InstanceRegistrationPolicy?.Type).toBe('AWS::IAM::ManagedPolicy');
  });

  // an Fn::Sub string: the ${...} are CloudFormation's pseudo parameters, left for CloudFormation to fill
  const logs = (fn: string) => {
    const group = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/r53dyn-local-${fn}`;
    return [`logs:CreateLogStream ${group}:*`, `logs:PutLogEvents ${group}:*:*`];
  };

  /** `sqs:<verb> !GetAtt <queue>.Arn` for each verb. */
  const onQueue = (queue: string, ...verbs: string[]) =>
    verbs.map((verb) => `sqs:${verb} !GetAtt ${queue}.Arn`);
  const consumer = ['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'];

  test('the batcher reads its two queues and writes the zone queue and dead letters, nothing else', () => {
    expect(grants(policyAt('BatcherRole/batcher').document)).toEqual(
      [
        ...onQueue('RegistrationsQueue', ...consumer),
        ...onQueue('EventsQueue', ...consumer),
        ...onQueue('ZoneQueue', 'SendMessage'),
        ...onQueue('DeadLetterQueue', 'SendMessage'),
        ...logs('batcher'),
      ].sort(),
    );
  });

  test('the planner holds the zone queue, reads the allowlisted zones, starts and reads back its executions', () => {
    expect(grants(policyAt('PlannerRole/planner').document)).toEqual(
      [
        ...onQueue('ZoneQueue', ...consumer, 'ChangeMessageVisibility', 'SendMessage'),
        ...onQueue('DeadLetterQueue', 'SendMessage'),
        ...stageZones.map(
          (zone) => `route53:ListResourceRecordSets arn:aws:route53:::hostedzone/${zone.hostedZoneId}`,
        ),
        'states:StartExecution !Ref ApplyZoneChange',
        `states:DescribeExecution arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:r53dyn-local-apply-zone-change:*`,
        ...logs('planner'),
      ].sort(),
    );
  });

  test('the workflow writes its zones (conditioned), polls changes, reads its zone entries and frees the zone queue', () => {
    const prefix = `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/r53dyn/local/zones`;
    expect(grants(policyAt('ApplyZoneChangeRole/apply-zone-change').document)).toEqual(
      [
        ...stageZones.map(
          (zone) => `route53:ChangeResourceRecordSets arn:aws:route53:::hostedzone/${zone.hostedZoneId}`,
        ),
        'route53:GetChange arn:aws:route53:::change/*',
        ...stageZones.map((zone) => `ssm:GetParameter ${prefix}/${zone.hostedZoneId}`),
        ...onQueue('ZoneQueue', 'DeleteMessage', 'ChangeMessageVisibility'),
        'cloudwatch:PutMetricData *',
      ].sort(),
    );
  });

  test('the redrive role moves dead letters back to the registrations queue, nothing else', () => {
    const verbs = ['ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility', 'GetQueueAttributes'];
    expect(grants(policyAt('RedriveRole/redrive').document)).toEqual(
      [
        ...onQueue('DeadLetterQueue', ...verbs),
        ...onQueue('ZoneDeadLetterQueue', ...verbs),
        ...onQueue('RegistrationsQueue', 'SendMessage'),
      ].sort(),
    );
  });

  test('only EC2 instances and ECS tasks may assume the instance role, which may only register', () => {
    const trust = template.Resources.InstanceRole?.Properties?.AssumeRolePolicyDocument as PolicyDocument;
    expect(trust.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: ['ec2.amazonaws.com', 'ecs-tasks.amazonaws.com'] },
        Action: 'sts:AssumeRole',
      },
    ]);
    expect(
      instancePolicyProblems(policyAt('InstanceRole/register').document, '!GetAtt RegistrationsQueue.Arn'),
    ).toEqual([]);
  });

  test("only the stack's EventBridge rules may send to the events queue; everyone else is denied", () => {
    const rules = [{ 'Fn::GetAtt': ['InstanceStateRule', 'Arn'] }, { 'Fn::GetAtt': ['SweepRule', 'Arn'] }];
    expect(statementsOfPolicy('EventsQueuePolicy')).toEqual([
      {
        Sid: 'EventBridgeRules',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': ['EventsQueue', 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': rules } },
      },
      {
        Sid: 'NobodyElse',
        Effect: 'Deny',
        Principal: '*',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': ['EventsQueue', 'Arn'] },
        Condition: { ArnNotEquals: { 'aws:SourceArn': rules } },
      },
    ]);
    expect(template.Resources.InstanceStateRule?.Properties?.Targets).toEqual([
      { Id: 'events', Arn: { 'Fn::GetAtt': ['EventsQueue', 'Arn'] } },
    ]);
  });

  test('only the batcher and the planner may send to the zone queue, whose deltas skip validation', () => {
    expect(statementsOfPolicy('ZoneQueuePolicy')).toEqual([
      {
        Sid: 'OnlyTheBatcherAndThePlanner',
        Effect: 'Deny',
        Principal: '*',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': ['ZoneQueue', 'Arn'] },
        Condition: {
          ArnNotEquals: {
            'aws:PrincipalArn': [
              { 'Fn::GetAtt': ['BatcherRole', 'Arn'] },
              { 'Fn::GetAtt': ['PlannerRole', 'Arn'] },
            ],
          },
        },
      },
    ]);
  });
});

describe('infra/instance-policy.json, the policy users attach', () => {
  const document: PolicyDocument = JSON.parse(
    readFileSync(join(root, 'infra', 'instance-policy.json'), 'utf8'),
  );

  test('sends to the registrations queue and does nothing else', () => {
    expect(instancePolicyProblems(document, 'arn:aws:sqs:REGION:ACCOUNT:r53dyn-STAGE-registrations')).toEqual(
      [],
    );
    expect(breadthProblems({ where: 'instance-policy.json', document })).toEqual([]);
  });
});

describe('the checks catch what they are for', () => {
  test('a * resource, an account-wide ARN and a wildcard inside a name', () => {
    expect(breadthProblems(allow({ Sid: 'A', Action: 'sqs:SendMessage', Resource: '*' }))).toEqual([
      'Hand-made statement A: Resource "*"',
    ]);
    expect(
      breadthProblems(
        allow({ Sid: 'B', Action: 'sqs:SendMessage', Resource: 'arn:aws:sqs:us-east-1:123456789012:*' }),
      ),
    ).toEqual(['Hand-made statement B: Resource arn:aws:sqs:us-east-1:123456789012:* names no resource']);
    expect(
      breadthProblems(
        allow({
          Sid: 'C',
          Action: 'route53:ListResourceRecordSets',
          Resource: 'arn:aws:route53:::hostedzone/*',
        }),
      ),
    ).toEqual([
      'Hand-made statement C: Resource arn:aws:route53:::hostedzone/* has a wildcard in the resource name',
    ]);
  });

  test('the GetChange exception is for GetChange alone', () => {
    expect(
      breadthProblems(
        allow({ Sid: 'D', Action: 'route53:GetChange', Resource: 'arn:aws:route53:::change/*' }),
      ),
    ).toEqual([]);
    expect(
      breadthProblems(
        allow({
          Sid: 'E',
          Action: ['route53:GetChange', 'route53:ChangeResourceRecordSets'],
          Resource: 'arn:aws:route53:::change/*',
        }),
      ),
    ).toEqual([
      'Hand-made statement E: Resource arn:aws:route53:::change/* has a wildcard in the resource name',
    ]);
  });

  test('*, service-wide and partial wildcard actions, NotAction, NotResource and an open principal', () => {
    expect(
      breadthProblems(
        allow({
          Sid: 'F',
          Principal: { AWS: '*' },
          Action: ['*', 'route53:*', 'sqs:Send*'],
          Resource: { 'Fn::GetAtt': ['Queue', 'Arn'] },
        }),
      ),
    ).toEqual([
      'Hand-made statement F: Principal "*" lets anyone in',
      'Hand-made statement F: Action "*"',
      'Hand-made statement F: Action route53:* grants a whole service',
      'Hand-made statement F: Action sqs:Send* has a wildcard',
    ]);
    expect(
      breadthProblems(allow({ Sid: 'G', NotAction: 'iam:*', NotResource: 'arn:aws:iam::123456789012:root' })),
    ).toEqual([
      'Hand-made statement G: NotAction allows every other action',
      'Hand-made statement G: NotResource allows every other resource',
    ]);
  });

  test('a ChangeResourceRecordSets without conditions, or with ForAnyValue, or hidden in route53:*', () => {
    const zone = 'arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ';
    expect(zoneWriteProblems(allow({ Action: 'route53:ChangeResourceRecordSets', Resource: zone }))).toEqual([
      `Hand-made: ChangeResourceRecordSets on ${zone} without route53:ChangeResourceRecordSetsNormalizedRecordNames`,
      `Hand-made: ChangeResourceRecordSets on ${zone} without route53:ChangeResourceRecordSetsRecordTypes`,
      `Hand-made: ChangeResourceRecordSets on ${zone} without route53:ChangeResourceRecordSetsActions`,
    ]);
    expect(
      zoneWriteProblems(
        allow({
          Action: 'route53:ChangeResourceRecordSets',
          Resource: zone,
          Condition: {
            'ForAnyValue:StringLike': {
              'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['*.dyn.example.com'],
            },
            'ForAllValues:StringEquals': {
              'route53:ChangeResourceRecordSetsRecordTypes': ['A', 'TXT'],
              'route53:ChangeResourceRecordSetsActions': ['CREATE', 'DELETE'],
            },
          },
        }),
      ),
    ).toEqual([
      `Hand-made: route53:ChangeResourceRecordSetsNormalizedRecordNames on ${zone} under ForAnyValue:StringLike, not ForAllValues`,
    ]);
    expect(zoneWriteProblems(allow({ Action: 'route53:*', Resource: zone }))).toHaveLength(3);
  });

  test('an instance policy with route53:* or a second queue', () => {
    // Arrange
    const queue = '!GetAtt RegistrationsQueue.Arn';
    const document: PolicyDocument = {
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': ['RegistrationsQueue', 'Arn'] },
        },
        { Effect: 'Allow', Action: 'route53:*', Resource: '*' },
        {
          Effect: 'Allow',
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] },
        },
      ],
    };

    // Act
    const problems = instancePolicyProblems(document, queue);

    // Assert
    expect(problems).toEqual(['grants route53:* *', 'grants sqs:SendMessage !GetAtt DeadLetterQueue.Arn']);
    expect(instancePolicyProblems({ Statement: [] }, queue)).toEqual([
      `does not grant sqs:SendMessage ${queue}`,
    ]);
  });
});
