// Deploys the packaged stack of a stage into LocalStack: creates the stage's hosted zones (every zone of
// infra/stages/<stage>.yml whose hostedZoneId is `${env:NAME}` gets a hosted zone named after its suffix, and NAME
// carries its id), runs `osls package --stage <stage>` with their ids, and creates (or updates) the
// CloudFormation stack `r53dyn-<stage>` from the packaged template. LocalStack cannot run Lambda functions
// without Docker, so the template goes in without them; infra/local/event-source.ts plays the SQS event source
// mapping and calls the real handler with the function's packaged settings.
//
//   npx tsx infra/local/deploy.ts [stage]   (default local; LocalStack must be running: infra/local/localstack.sh start)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  type Stack,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateHostedZoneCommand,
  ListHostedZonesByNameCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { loadStageConfig } from '../stage-config';
import { localClientConfig, localEndpoint } from './connection';

const root = join(__dirname, '..', '..');
/** Where a stage's deployment is described for the local pipeline, the tests and the benchmark. */
export const stackFileOf = (stage: string) => join(root, '.local', `stack-${stage}.json`);
const stackNameOf = (stage: string) => `r53dyn-${stage}`;

/**
 * The zones a stage file leaves to the local deploy: each `hostedZoneId: ${env:NAME}` with its suffix (the
 * hosted zone's name). Read from the file's text, since the file cannot be parsed before NAME is set.
 */
export function stageZones(text: string): { name: string; env: string }[] {
  const zones: { name: string; env: string }[] = [];
  const items = text.split(/^\s*-\s+(?=hostedZoneId:)/m).slice(1);
  for (const item of items) {
    const env = /^hostedZoneId:\s*\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/.exec(item)?.[1];
    const name = /^\s*suffix:\s*([a-z0-9.-]+)/m.exec(item)?.[1];
    if (env && name) zones.push({ name, env });
  }
  return zones;
}

/** What runs locally in place of a Lambda function: its packaged environment. */
export interface LocalFunction {
  environment: Record<string, string>;
}

/** A packaged SQS event source mapping, played by infra/local/event-source.ts. */
export interface LocalEventSource {
  function: 'batcher' | 'planner';
  queueUrl: string;
  queueArn: string;
  batchSize: number;
  windowSeconds: number;
  fifo: boolean;
}

/** Everything the local event sources and the tests need to know about the stack deployed in LocalStack. */
export interface LocalDeployment {
  stackName: string;
  zones: Record<string, string>;
  outputs: Record<string, string>;
  functions: Record<LocalEventSource['function'], LocalFunction>;
  eventSources: LocalEventSource[];
  /** the stage's batcher concurrency: how many local pollers the registrations queue gets */
  batcherConcurrency: number;
}

type Template = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown }>;
  Outputs?: Record<string, unknown>;
};

const log = (message: string) => process.stderr.write(`[deploy] ${message}\n`);

async function ensureZone(route53: Route53Client, name: string): Promise<string> {
  const found = await route53.send(new ListHostedZonesByNameCommand({ DNSName: name, MaxItems: 1 }));
  const zone = found.HostedZones?.find((z) => z.Name === `${name}.`);
  const id =
    zone?.Id ??
    (await route53.send(new CreateHostedZoneCommand({ Name: name, CallerReference: `r53dyn-local-${name}` })))
      .HostedZone?.Id;
  if (!id) throw new Error(`could not create the hosted zone ${name}`);
  return id.replace('/hostedzone/', '');
}

function packageStack(stage: string, zoneIds: Record<string, string>): Template {
  log(`packaging with osls (stage ${stage})`);
  const result = spawnSync(join(root, 'node_modules', '.bin', 'osls'), ['package', '--stage', stage], {
    cwd: root,
    env: { ...process.env, ...zoneIds, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`osls package failed:\n${result.stdout}\n${result.stderr}`);
  }
  return JSON.parse(
    readFileSync(join(root, '.serverless', 'cloudformation-template-update-stack.json'), 'utf8'),
  );
}

function mentions(value: unknown, ids: Set<string>): boolean {
  const text = JSON.stringify(value);
  return [...ids].some((id) => text.includes(`"${id}"`) || text.includes(`"${id}.`));
}

/** The template without the Lambda function, and without whatever refers to it (its mapping, its outputs). */
export function withoutLambda(template: Template): Template {
  const removed = new Set(
    Object.entries(template.Resources)
      .filter(
        ([, r]) =>
          r.Type.startsWith('AWS::Lambda::') ||
          r.Type === 'AWS::S3::Bucket' ||
          r.Type === 'AWS::S3::BucketPolicy',
      )
      .map(([id]) => id),
  );
  for (let changed = true; changed; ) {
    changed = false;
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (!removed.has(id) && mentions(resource, removed)) {
        removed.add(id);
        changed = true;
      }
    }
  }
  const Resources = Object.fromEntries(Object.entries(template.Resources).filter(([id]) => !removed.has(id)));
  const Outputs = Object.fromEntries(
    Object.entries(template.Outputs ?? {}).filter(([, o]) => !mentions(o, removed)),
  );
  return { ...template, Resources, Outputs };
}

/** Physical ids and attributes of the deployed resources, to resolve the template's Ref / GetAtt / Join. */
async function resourceValues(cfn: CloudFormationClient, stackName: string): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  const iam = new IAMClient(localClientConfig);
  const sqs = new SQSClient(localClientConfig);
  const out = await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }));
  for (const r of out.StackResources ?? []) {
    const id = r.LogicalResourceId ?? '';
    const physical = r.PhysicalResourceId ?? '';
    values.set(id, physical);
    if (r.ResourceType === 'AWS::SQS::Queue') {
      const attrs = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: physical, AttributeNames: ['QueueArn'] }),
      );
      values.set(`${id}.Arn`, attrs.Attributes?.QueueArn ?? '');
    }
    if (r.ResourceType === 'AWS::IAM::Role') {
      const role = (await iam.send(new GetRoleCommand({ RoleName: physical }))).Role;
      values.set(`${id}.Arn`, role?.Arn ?? '');
      values.set(`${id}.RoleId`, role?.RoleId ?? '');
    }
  }
  return values;
}

function resolve(value: unknown, values: Map<string, string>): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  const v = value as { Ref?: string; 'Fn::GetAtt'?: string[]; 'Fn::Join'?: [string, unknown[]] };
  const key = v.Ref ?? v['Fn::GetAtt']?.join('.');
  if (key !== undefined) {
    const resolved = values.get(key);
    if (resolved === undefined) throw new Error(`cannot resolve ${JSON.stringify(value)} locally`);
    return resolved;
  }
  if (v['Fn::Join']) return v['Fn::Join'][1].map((part) => resolve(part, values)).join(v['Fn::Join'][0]);
  throw new Error(`cannot resolve ${JSON.stringify(value)} locally`);
}

function localFunctions(template: Template, values: Map<string, string>) {
  const functions = {} as LocalDeployment['functions'];
  const byLogicalId = new Map<string, LocalEventSource['function']>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const name = (['batcher', 'planner'] as const).find((n) => id.toLowerCase().startsWith(n));
    if (!name) continue;
    const variables =
      (resource.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {};
    functions[name] = {
      environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolve(v, values)])),
    };
    byLogicalId.set(id, name);
  }
  const eventSources: LocalEventSource[] = [];
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const p = resource.Properties ?? {};
    const fn = byLogicalId.get(String((p.FunctionName as { 'Fn::GetAtt'?: string[] })['Fn::GetAtt']?.[0]));
    const queueId = (p.EventSourceArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] ?? '';
    if (!fn) continue;
    eventSources.push({
      function: fn,
      queueUrl: values.get(queueId) ?? '',
      queueArn: values.get(`${queueId}.Arn`) ?? '',
      batchSize: Number(p.BatchSize ?? 10),
      windowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
      fifo: (values.get(queueId) ?? '').endsWith('.fifo'),
    });
  }
  return { functions, eventSources };
}

async function waitForStack(cfn: CloudFormationClient, stackName: string): Promise<Stack> {
  for (let waited = 0; waited < 300; waited += 1) {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    const status = stack?.StackStatus ?? '';
    if (stack && /_COMPLETE$/.test(status) && !/ROLLBACK/.test(status)) return stack;
    if (/FAILED|ROLLBACK/.test(status))
      throw new Error(`stack ${stackName}: ${status} ${stack?.StackStatusReason ?? ''}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`stack ${stackName} did not finish within 300 s`);
}

/**
 * The template goes through S3, as `osls deploy` sends it on AWS: CloudFormation takes at most 51,200 bytes in
 * the request itself, and the packaged template (the workflow's definition, alarms, one allowlist entry and IAM
 * statement per zone) is larger.
 */
async function uploadTemplate(stackName: string, body: string): Promise<string> {
  const s3 = new S3Client({ ...localClientConfig, forcePathStyle: true });
  const bucket = `${stackName}-deployment`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: unknown) => {
    if (!/BucketAlready(Exists|OwnedByYou)/.test(String((error as Error).name))) throw error;
  });
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'template.json', Body: body }));
  return `${localEndpoint}/${bucket}/template.json`;
}

async function createOrUpdate(cfn: CloudFormationClient, stackName: string, body: string): Promise<Stack> {
  const exists = await cfn.send(new DescribeStacksCommand({ StackName: stackName })).then(
    (out) => (out.Stacks ?? []).some((s) => s.StackStatus !== 'DELETE_COMPLETE'),
    () => false,
  );
  const params = {
    StackName: stackName,
    TemplateURL: await uploadTemplate(stackName, body),
    Capabilities: ['CAPABILITY_IAM' as const, 'CAPABILITY_NAMED_IAM' as const],
  };
  if (!exists) {
    log(`creating stack ${stackName}`);
    await cfn.send(new CreateStackCommand(params));
  } else {
    log(`updating stack ${stackName}`);
    try {
      await cfn.send(new UpdateStackCommand(params));
    } catch (error) {
      if (!/No updates are to be performed/.test(String(error))) throw error;
    }
  }
  return waitForStack(cfn, stackName);
}

/** Deploys infra/stages/<stage>.yml as the stack `r53dyn-<stage>` and writes `.local/stack-<stage>.json`. */
export async function deployStage(stage: string): Promise<LocalDeployment> {
  const route53 = new Route53Client(localClientConfig);
  const cfn = new CloudFormationClient(localClientConfig);
  const stackName = stackNameOf(stage);
  const zones: Record<string, string> = {};
  const zoneEnv: Record<string, string> = {};
  for (const z of stageZones(readFileSync(join(root, 'infra', 'stages', `${stage}.yml`), 'utf8'))) {
    zones[z.name] = await ensureZone(route53, z.name);
    zoneEnv[z.env] = zones[z.name] as string;
  }
  const template = packageStack(stage, zoneEnv);
  const local = withoutLambda(template);
  const stack = await createOrUpdate(cfn, stackName, JSON.stringify(local));
  const outputs = Object.fromEntries(
    (stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
  );

  const { functions, eventSources } = localFunctions(template, await resourceValues(cfn, stackName));
  const result: LocalDeployment = {
    stackName,
    zones,
    outputs,
    functions,
    eventSources,
    batcherConcurrency: loadStageConfig(stage, { ...process.env, ...zoneEnv }).batcher.concurrency,
  };
  mkdirSync(join(root, '.local'), { recursive: true });
  writeFileSync(stackFileOf(stage), JSON.stringify(result, null, 2));
  log(`stack ${stackName} ready: ${outputs.RegistrationsQueueUrl}`);
  return result;
}

/** The stage `local` (infra/stages/local.yml): what `npm start` and the end-to-end tests run. */
export const deployLocal = (): Promise<LocalDeployment> => deployStage('local');

if (require.main === module) {
  deployStage(process.argv[2] ?? 'local').catch((error) => {
    log(String(error instanceof Error ? error.message : error));
    process.exit(1);
  });
}
