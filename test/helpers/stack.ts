// The stack deployed in LocalStack (test/e2e/global-setup.ts deploys it once per run), the local pipeline that
// runs its handlers, and what tests check on it.
import {
  type ChangeAction,
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type RRType,
} from '@aws-sdk/client-route-53';
import { DescribeExecutionCommand, paginateListExecutions } from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { parseAllowlist } from '../../handlers/core/allowlist';
import type { ZoneRule } from '../../handlers/core/model';
import { ENVIRONMENT } from '../../handlers/settings';
import type { LocalDeployment } from '../../infra/local/deploy';
import { type BatchOutcome, toRecord } from '../../infra/local/event-source';
import {
  type LocalPipeline,
  localPipeline,
  type PipelineOptions,
  readDeployment,
} from '../../infra/local/pipeline';
import { route53, sfn, sqs } from './localstack';

export interface DeployedStack {
  deployment: LocalDeployment;
  pipeline: LocalPipeline;
  zoneId: (suffix: string) => string;
  queueUrl: string;
  eventsQueueUrl: string;
  zoneQueueUrl: string;
  deadLetterQueueUrl: string;
  stateMachineArn: string;
}

/** A record set as a test writes it by hand: one value per string, 60 s TTL unless told. */
export interface HandRecord {
  name: string;
  type: RRType;
  values: string[];
  ttl?: number;
}

/** Changes a zone directly, as a person or another tool would (CREATE unless told), in one ChangeBatch. */
export async function changeByHand(
  zoneId: string,
  records: HandRecord[],
  action: ChangeAction = 'CREATE',
): Promise<void> {
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: records.map((r) => ({
          Action: action,
          ResourceRecordSet: {
            Name: r.name,
            Type: r.type,
            TTL: r.ttl ?? 60,
            ResourceRecords: r.values.map((Value) => ({ Value })),
          },
        })),
      },
    }),
  );
}

/** The deployed stack and a pipeline over it (not started: settle() starts it). */
export async function deployedStack(options: PipelineOptions = {}): Promise<DeployedStack> {
  const deployment = readDeployment();
  const pipeline = await localPipeline(deployment, { waitSeconds: 1, ...options });
  return {
    deployment,
    pipeline,
    zoneId: (suffix) => {
      const id = deployment.zones[suffix];
      if (!id) throw new Error(`no local zone ${suffix}`);
      return id;
    },
    queueUrl: deployment.outputs.RegistrationsQueueUrl ?? '',
    eventsQueueUrl: deployment.outputs.EventsQueueUrl ?? '',
    zoneQueueUrl: deployment.outputs.ZoneQueueUrl ?? '',
    deadLetterQueueUrl: deployment.outputs.DeadLetterQueueUrl ?? '',
    stateMachineArn: deployment.outputs.StateMachineArn ?? '',
  };
}

/**
 * Runs the pipeline until every queue is empty and no execution runs; returns the batches it handled and the
 * executions that started meanwhile.
 */
export async function settle(
  deployed: DeployedStack,
  since?: Set<string>,
  timeoutSeconds = 600,
): Promise<{ batches: BatchOutcome[]; executions: Execution[] }> {
  const before = since ?? (await executionArns(deployed));
  const first = deployed.pipeline.outcomes.length;
  await deployed.pipeline.settle(timeoutSeconds, (line) => process.stderr.write(`[settle] ${line}\n`));
  const batches = deployed.pipeline.outcomes.slice(first);
  const arns = (await listExecutions(deployed.stateMachineArn))
    .map((e) => e.executionArn ?? '')
    .filter((arn) => arn && !before.has(arn));
  return { batches, executions: await Promise.all(arns.map(describe)) };
}

/** The deployed allowlist's rule for a zone suffix, as the handlers read it. */
export function allowlistZone(deployed: DeployedStack, suffix: string): ZoneRule {
  const allowlist = parseAllowlist(
    JSON.parse(deployed.deployment.functions.planner.environment[ENVIRONMENT.allowlist] ?? '{}'),
  );
  const zone = allowlist.zones.find((z) => z.suffix === suffix);
  if (!zone) throw new Error(`no allowlisted zone ${suffix}`);
  return zone;
}

export interface Execution {
  executionArn: string;
  name: string;
  status: string;
  output?: unknown;
  error?: string;
  cause?: string;
}

/** The executions that exist now: pass to settle() to report only those started after this point. */
export async function executionArns(deployed: DeployedStack): Promise<Set<string>> {
  return new Set((await listExecutions(deployed.stateMachineArn)).map((e) => e.executionArn ?? ''));
}

/** Every execution of the state machine, all pages. */
export async function listExecutions(stateMachineArn: string) {
  const all = [];
  for await (const page of paginateListExecutions({ client: sfn, pageSize: 1000 }, { stateMachineArn })) {
    all.push(...(page.executions ?? []));
  }
  return all;
}

export async function describe(executionArn: string): Promise<Execution> {
  const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  return {
    executionArn,
    name: d.name ?? '',
    status: d.status ?? '',
    output: d.output ? JSON.parse(d.output) : undefined,
    error: d.error,
    cause: d.cause,
  };
}

/** The values of one rrset, sorted; undefined when it does not exist. */
export async function recordValues(
  zoneId: string,
  name: string,
  type: string,
): Promise<string[] | undefined> {
  const out = await route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      StartRecordName: name,
      StartRecordType: type as 'A',
      MaxItems: 1,
    }),
  );
  const set = (out.ResourceRecordSets ?? []).find((r) => r.Name === name && r.Type === type);
  return set ? (set.ResourceRecords ?? []).map((r) => r.Value ?? '').sort() : undefined;
}

/** Every rrset in a zone, for "nothing else changed" checks. */
export async function zoneSnapshot(zoneId: string): Promise<unknown[]> {
  const sets: unknown[] = [];
  let start: { StartRecordName?: string; StartRecordType?: RRType } = {};
  for (;;) {
    const out = await route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, MaxItems: 300, ...start }),
    );
    sets.push(...(out.ResourceRecordSets ?? []));
    if (!out.IsTruncated) return sets;
    start = { StartRecordName: out.NextRecordName, StartRecordType: out.NextRecordType };
  }
}

/** One receive of up to 10 messages with all their attributes, hidden for 5 minutes (nothing is deleted). */
export async function receiveSome(queueUrl: string): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      VisibilityTimeout: 300,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

/** Receives (and deletes nothing of) everything in a queue: for dead-letter assertions. */
export async function receiveAll(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const some = await receiveSome(queueUrl);
    if (some.length === 0) return all;
    all.push(...some);
  }
}

/**
 * Takes the dead letters whose body contains `marker` off the dead-letter queue (others are released at once),
 * so that each call returns those that arrived since the last.
 */
export async function takeDeadLetters(deployed: DeployedStack, marker: string): Promise<Message[]> {
  const all = await receiveAll(deployed.deadLetterQueueUrl);
  const ours = all.filter((m) => m.Body?.includes(marker));
  const others = all.filter((m) => !m.Body?.includes(marker));
  for (let i = 0; i < ours.length; i += 10) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: deployed.deadLetterQueueUrl,
        Entries: ours.slice(i, i + 10).map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  for (let i = 0; i < others.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: deployed.deadLetterQueueUrl,
        Entries: others
          .slice(i, i + 10)
          .map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
  return ours;
}

/**
 * Receives, as one SQS event, the messages of a queue whose body matches (others are released at once), as an
 * event source mapping would hand them to a handler: for tests that call a handler themselves.
 */
export async function receiveMatching(
  deployed: DeployedStack,
  queueUrl: string,
  wanted: (body: string) => boolean,
  count = 1,
): Promise<SQSEvent> {
  const queueArn = deployed.pipeline.sources.find((s) => s.queueUrl === queueUrl)?.queueArn ?? '';
  const records: SQSEvent['Records'] = [];
  for (let tries = 0; tries < 30 && records.length < count; tries++) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    for (const m of out.Messages ?? []) {
      if (wanted(m.Body ?? '') && records.length < count) records.push(toRecord(m, queueArn));
      else {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
    }
  }
  if (records.length < count)
    throw new Error(`only ${records.length} of ${count} message(s) received from ${queueUrl}`);
  return { Records: records };
}

export async function purge(queueUrl: string): Promise<void> {
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
}
