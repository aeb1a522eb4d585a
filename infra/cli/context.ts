// What every command starts from: AWS clients configured the way the AWS CLI is (--profile, --region,
// --endpoint-url, and the same environment variables), and the stack `r53dyn-<stage>`: its outputs
// (infra/resources.ts `outputs`) and each zone's allowlist rule from SSM (docs/design.md §6).
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { AllowlistError, parseAllowlist } from '../../handlers/core/allowlist';
import type { ZoneRule } from '../../handlers/core/model';
import { CliError } from './errors';

export interface GlobalOptions {
  profile?: string;
  region?: string;
  endpointUrl?: string;
  stage: string;
  json?: boolean;
}

/** The configuration every client of a run shares; `credentials` replaces the profile's (the redrive role). */
export interface ClientSettings {
  region: string;
  profile?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface Aws {
  settings: ClientSettings;
  cloudformation: CloudFormationClient;
  sqs: SQSClient;
  ssm: SSMClient;
  route53: Route53Client;
  sfn: SFNClient;
  sts: STSClient;
}

/** The region as the AWS CLI finds it: the option, AWS_REGION, AWS_DEFAULT_REGION, then the profile's. */
export async function resolveRegion(options: GlobalOptions, env = process.env): Promise<string> {
  const given = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (given) return given;
  const probe = new STSClient(options.profile === undefined ? {} : { profile: options.profile });
  try {
    const region = await probe.config.region();
    if (region) return region;
  } catch {
    // no region anywhere: said below
  }
  throw new CliError('no AWS region: pass --region, set AWS_REGION or give the profile a region');
}

export function awsClients(settings: ClientSettings): Aws {
  const config = {
    region: settings.region,
    ...(settings.profile === undefined ? {} : { profile: settings.profile }),
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
  };
  return {
    settings,
    cloudformation: new CloudFormationClient(config),
    sqs: new SQSClient(config),
    ssm: new SSMClient(config),
    route53: new Route53Client(config),
    sfn: new SFNClient(config),
    sts: new STSClient(config),
  };
}

export async function connect(options: GlobalOptions): Promise<Aws> {
  const settings: ClientSettings = { region: await resolveRegion(options) };
  if (options.profile !== undefined) settings.profile = options.profile;
  if (options.endpointUrl !== undefined) settings.endpoint = options.endpointUrl;
  return awsClients(settings);
}

/** The outputs the CLI reads (infra/resources.ts `outputs`). */
const REQUIRED_OUTPUTS = [
  'RegistrationsQueueUrl',
  'DeadLetterQueueUrl',
  'ZoneDeadLetterQueueUrl',
  'StateMachineArn',
  'RedriveRoleArn',
  'RedriveRoleId',
  'BatcherRoleId',
  'PlannerRoleId',
  'ZoneRuleParameterPrefix',
  'OwnerId',
] as const;

export type StackOutputs = Record<(typeof REQUIRED_OUTPUTS)[number], string>;

export interface Stack {
  name: string;
  stage: string;
  region: string;
  outputs: StackOutputs;
}

export const stackName = (stage: string) => `r53dyn-${stage}`;

export async function loadStack(aws: Aws, stage: string): Promise<Stack> {
  const name = stackName(stage);
  const region = aws.settings.region;
  let found: { Outputs?: { OutputKey?: string; OutputValue?: string }[]; StackStatus?: string } | undefined;
  try {
    found = (await aws.cloudformation.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
  } catch (error) {
    if (!(error instanceof Error && /does not exist/.test(error.message))) throw error;
  }
  if (found === undefined || found.StackStatus === 'DELETE_COMPLETE') {
    throw new CliError(`no r53dyn stack for stage ${stage} in region ${region}: deploy it or pass --stage`);
  }
  const values = Object.fromEntries(
    (found.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
  );
  const missing = REQUIRED_OUTPUTS.filter((key) => !values[key]);
  if (missing.length > 0) {
    throw new CliError(
      `stack ${name} in region ${region} has no output ${missing.join(', ')}: deploy this version of r53dyn to it`,
    );
  }
  return { name, stage, region, outputs: values as StackOutputs };
}

/** Every allowlisted zone's rule, from the stack's SSM parameters, in suffix order. */
export async function loadZoneRules(aws: Aws, stack: Stack): Promise<ZoneRule[]> {
  const path = stack.outputs.ZoneRuleParameterPrefix;
  const raw: unknown[] = [];
  let NextToken: string | undefined;
  do {
    const page = await aws.ssm.send(new GetParametersByPathCommand({ Path: path, NextToken }));
    for (const parameter of page.Parameters ?? []) raw.push(parseJson(parameter.Value ?? '', parameter.Name));
    NextToken = page.NextToken;
  } while (NextToken);
  try {
    return parseAllowlist({ zones: raw }).zones.sort((a, b) => (a.suffix < b.suffix ? -1 : 1));
  } catch (error) {
    if (error instanceof AllowlistError) throw new CliError(`the zone rules under ${path}: ${error.message}`);
    throw error;
  }
}

function parseJson(text: string, name: string | undefined): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`SSM parameter ${name} is not JSON`);
  }
}

/** The ids of the roles whose writes the stack believes (docs/design.md §7.3). */
export function stackRoleIds(stack: Stack): Record<'batcher' | 'planner' | 'redrive', string> {
  return {
    batcher: stack.outputs.BatcherRoleId,
    planner: stack.outputs.PlannerRoleId,
    redrive: stack.outputs.RedriveRoleId,
  };
}
