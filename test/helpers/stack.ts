// The deployed local stack (test/e2e/global-setup.ts deploys it once per run) and what tests check on it.
import { ListResourceRecordSetsCommand, type RRType } from '@aws-sdk/client-route-53';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { type Message, PurgeQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { localEventSource, readLocalStack } from '../../infra/local/batcher';
import type { LocalStack } from '../../infra/local/deploy';
import { type BatchOutcome, drain, type EventSourceOptions } from '../../infra/local/event-source';
import { route53, sfn, sqs } from './localstack';

export interface DeployedStack {
  stack: LocalStack;
  source: EventSourceOptions;
  zoneId: (suffix: string) => string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  stateMachineArn: string;
}

export async function deployedStack(): Promise<DeployedStack> {
  const stack = readLocalStack();
  const source = await localEventSource(stack);
  return {
    stack,
    source,
    zoneId: (suffix) => {
      const id = stack.zones[suffix];
      if (!id) throw new Error(`no local zone ${suffix}`);
      return id;
    },
    queueUrl: stack.outputs.RegistrationsQueueUrl ?? '',
    deadLetterQueueUrl: stack.outputs.DeadLetterQueueUrl ?? '',
    stateMachineArn: stack.outputs.StateMachineArn ?? '',
  };
}

/** Runs the local event source until the queue is empty, then waits for every execution it started to end. */
export async function settle(
  deployed: DeployedStack,
  since?: Set<string>,
): Promise<{ batches: BatchOutcome[]; executions: Execution[] }> {
  const before = since ?? (await executionArns(deployed));
  const batches: BatchOutcome[] = [];
  // requeued messages come back after the workflow ran, so poll until both the queue and the workflows are quiet
  for (let round = 0; round < 20; round++) {
    batches.push(...(await drain(deployed.source, 2)));
    const running = await waitForExecutions(deployed.stateMachineArn);
    if (running === 0) {
      const more = await drain(deployed.source, 2);
      batches.push(...more);
      if (more.length === 0) break;
    }
  }
  const arns = (await listExecutions(deployed.stateMachineArn))
    .map((e) => e.executionArn ?? '')
    .filter((arn) => arn && !before.has(arn));
  return { batches, executions: await Promise.all(arns.map(describe)) };
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

async function listExecutions(stateMachineArn: string) {
  const out = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000 }));
  return out.executions ?? [];
}

async function describe(executionArn: string): Promise<Execution> {
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

async function waitForExecutions(stateMachineArn: string, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = (await listExecutions(stateMachineArn)).filter((e) => e.status === 'RUNNING').length;
    if (running === 0 || Date.now() > deadline) return running;
    await new Promise((r) => setTimeout(r, 250));
  }
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

/** Receives (and deletes nothing of) everything in a queue: for dead-letter assertions. */
export async function receiveAll(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
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
    if (!out.Messages?.length) return all;
    all.push(...out.Messages);
  }
}

export async function purge(queueUrl: string): Promise<void> {
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
}
