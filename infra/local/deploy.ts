// Deploys the packaged stack into LocalStack: creates the local hosted zones, runs `osls package --stage local`
// with their ids, and creates (or updates) the CloudFormation stack from the packaged template. LocalStack cannot
// run Lambda functions without Docker, so the template goes in without them; infra/local/event-source.ts plays
// the SQS event source mapping and calls the real handler with the function's packaged settings.
//
//   npx tsx infra/local/deploy.ts        (LocalStack must be running: infra/local/localstack.sh start)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  type Stack,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import {
  CreateHostedZoneCommand,
  ListHostedZonesByNameCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { localClientConfig } from './connection';

const root = join(__dirname, '..', '..');
export const stackFile = join(root, '.local', 'stack-local.json');
const stackName = 'r53dyn-local';

/** The zones of infra/stages/local.yml, and the environment variable that carries each one's id. */
export const localZones = [
  { name: 'dyn.example.test', env: 'R53DYN_LOCAL_ZONE_ID' },
  { name: 'leased.example.test', env: 'R53DYN_LOCAL_LEASED_ZONE_ID' },
] as const;

/** Everything the local event source and the tests need to know about the deployed stack. */
export interface LocalStack {
  stackName: string;
  zones: Record<string, string>;
  outputs: Record<string, string>;
  batcher: { environment: Record<string, string>; batchSize: number; batchWindowSeconds: number };
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

function packageStack(zoneIds: Record<string, string>): Template {
  log('packaging with osls (stage local)');
  const result = spawnSync(join(root, 'node_modules', '.bin', 'osls'), ['package', '--stage', 'local'], {
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

function resolveRefs(value: unknown, outputsByRef: Record<string, string>): string {
  if (typeof value === 'string') return value;
  const getAtt = (value as { 'Fn::GetAtt'?: string[] })['Fn::GetAtt'];
  const ref = getAtt ? getAtt.join('.') : (value as { Ref?: string }).Ref;
  const resolved = ref ? outputsByRef[ref] : undefined;
  if (resolved === undefined)
    throw new Error(`cannot resolve ${JSON.stringify(value)} for the local batcher`);
  return resolved;
}

async function waitForStack(cfn: CloudFormationClient): Promise<Stack> {
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

async function createOrUpdate(cfn: CloudFormationClient, body: string): Promise<Stack> {
  const exists = await cfn.send(new DescribeStacksCommand({ StackName: stackName })).then(
    (out) => (out.Stacks ?? []).some((s) => s.StackStatus !== 'DELETE_COMPLETE'),
    () => false,
  );
  const params = {
    StackName: stackName,
    TemplateBody: body,
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
  return waitForStack(cfn);
}

export async function deployLocal(): Promise<LocalStack> {
  const route53 = new Route53Client(localClientConfig);
  const cfn = new CloudFormationClient(localClientConfig);
  const zones: Record<string, string> = {};
  const zoneEnv: Record<string, string> = {};
  for (const z of localZones) {
    zones[z.name] = await ensureZone(route53, z.name);
    zoneEnv[z.env] = zones[z.name] as string;
  }
  const template = packageStack(zoneEnv);
  const local = withoutLambda(template);
  const stack = await createOrUpdate(cfn, JSON.stringify(local));
  const outputs = Object.fromEntries(
    (stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
  );

  const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
  const mapping = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
  const variables = ((fn?.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables ??
    {}) as Record<string, unknown>;
  const byRef: Record<string, string> = {
    ApplyZoneChange: outputs.StateMachineArn ?? '',
    DeadLetterQueue: outputs.DeadLetterQueueUrl ?? '',
    RegistrationsQueue: outputs.RegistrationsQueueUrl ?? '',
    'ApplyZoneChangeRole.RoleId': outputs.WorkflowRoleId ?? '',
  };
  const environment = Object.fromEntries(
    Object.entries(variables).map(([k, v]) => [k, resolveRefs(v, byRef)]),
  );
  const result: LocalStack = {
    stackName,
    zones,
    outputs,
    batcher: {
      environment,
      batchSize: Number(mapping?.Properties?.BatchSize ?? 10),
      batchWindowSeconds: Number(mapping?.Properties?.MaximumBatchingWindowInSeconds ?? 0),
    },
  };
  mkdirSync(join(root, '.local'), { recursive: true });
  writeFileSync(stackFile, JSON.stringify(result, null, 2));
  log(`stack ${stackName} ready: ${outputs.RegistrationsQueueUrl}`);
  return result;
}

if (require.main === module) {
  deployLocal().catch((error) => {
    log(String(error instanceof Error ? error.message : error));
    process.exit(1);
  });
}
