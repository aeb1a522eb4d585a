// The real batcher and planner handlers, run step by step against the in-memory AWS fakes, with the workflow
// stand-in ending executions: what Lambda's event source mappings, Step Functions and SQS's visibility timeouts
// do, as separate steps a test interleaves in any order (docs/design.md §2, §4.4).
//
// Each poller receives a batch in one step and runs its handler in a later one, so other pollers, executions,
// visibility expiries and a foreign writer can act in between. Lambda deletes the deliveries a handler did not
// report failed; the others stay in flight until their visibility runs out (or the workflow releases them).

import { DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { processBatch } from '../../handlers/batcher';
import { ATTRIBUTES } from '../../handlers/core/contract';
import type { ZoneRule } from '../../handlers/core/model';
import { processDeltas } from '../../handlers/planner';
import {
  batcherDeps,
  batcherSettings,
  DEAD_LETTER_QUEUE_URL,
  eventOf,
  type FakeAws,
  fakeAws,
  plannerDeps,
  plannerSettings,
  ZONE_QUEUE_URL,
} from './handler-deps';
import { REGISTRATIONS_QUEUE_ARN } from './messages';
import { runExecution } from './workflow-stand-in';

export const REGISTRATIONS_QUEUE_URL =
  'https://sqs.us-east-1.amazonaws.com/123456789012/r53dyn-test-registrations';

export interface PipelineOptions {
  zone: ZoneRule;
  /** how many times a foreign writer may rewrite one of the zone's A rrsets (its TTL), racing the executions */
  foreignWrites: number;
  batchers: number;
  planners: number;
  registrationsVisibilitySeconds: number;
  zoneVisibilitySeconds: number;
  maxAttempts: number;
}

export interface PipelineStats {
  batcherRuns: number;
  rounds: number;
  executions: number;
  failedExecutions: number;
  foreignWrites: number;
  expiries: number;
  /** the most executions running at once: the zone's lock holds while it is 1 */
  concurrentExecutions: number;
}

type Held = SQSRecord[] | undefined;

export class SimulatedPipeline {
  clock: number;
  readonly aws: FakeAws;
  readonly stats: PipelineStats = {
    batcherRuns: 0,
    rounds: 0,
    executions: 0,
    failedExecutions: 0,
    foreignWrites: 0,
    expiries: 0,
    concurrentExecutions: 0,
  };
  private readonly batchers: Held[];
  private readonly planners: Held[];
  /** registrations not sent yet, in the order they will be */
  private readonly outbox: { body: string; senderId: string }[] = [];
  private readonly sent: {
    kind: 'register' | 'heartbeat' | 'deregister';
    label: string;
    instanceId: string;
    sentAt: number;
  }[] = [];

  constructor(
    readonly options: PipelineOptions,
    start: number,
  ) {
    this.clock = start;
    this.aws = fakeAws(() => this.clock);
    this.aws.sqs.createQueue(ZONE_QUEUE_URL, {
      fifo: true,
      visibilityTimeoutSeconds: options.zoneVisibilitySeconds,
    });
    this.aws.sqs.createQueue(REGISTRATIONS_QUEUE_URL, {
      visibilityTimeoutSeconds: options.registrationsVisibilitySeconds,
      arn: REGISTRATIONS_QUEUE_ARN,
    });
    this.aws.route53.createZone(options.zone.hostedZoneId);
    this.batchers = Array.from({ length: options.batchers }, () => undefined);
    this.planners = Array.from({ length: options.planners }, () => undefined);
  }

  /** Machines will send these bodies, one per `send` step, stamped with the clock. */
  willSend(body: string, senderId: string): void {
    this.outbox.push({ body, senderId });
  }

  /** Nothing waits anywhere: nothing left to send, every queue is empty, no poller holds a batch, no execution runs. */
  get settled(): boolean {
    return (
      this.outbox.length === 0 &&
      this.aws.sqs.messages(REGISTRATIONS_QUEUE_URL).length === 0 &&
      this.aws.sqs.messages(ZONE_QUEUE_URL).length === 0 &&
      [...this.batchers, ...this.planners].every((held) => held === undefined) &&
      this.aws.sfn.running().length === 0
    );
  }

  /** The steps that can happen now, by name; `choice` picks among them in `step`. */
  steps(): string[] {
    const receivable = (url: string) => this.aws.sqs.receivable(url);
    const canWriteForeign =
      this.stats.foreignWrites < this.options.foreignWrites && this.addressRRsets().length > 0;
    return [
      ...(this.outbox.length > 0 ? ['send'] : []),
      ...this.batchers.flatMap((held, i) =>
        held ? [`batcher-run ${i}`] : receivable(REGISTRATIONS_QUEUE_URL) ? [`batcher-receive ${i}`] : [],
      ),
      ...this.planners.flatMap((held, i) =>
        held ? [`planner-run ${i}`] : receivable(ZONE_QUEUE_URL) ? [`planner-receive ${i}`] : [],
      ),
      ...this.aws.sfn.running().map((e) => `workflow ${e.name}`),
      ...(canWriteForeign ? ['foreign-write'] : []),
      ...(this.aws.sqs.nextVisibility() === undefined ? [] : ['expire']),
    ];
  }

  async step(name: string, choice: number): Promise<void> {
    const [what = '', which = ''] = name.split(' ');
    const index = Number(which);
    if (what === 'batcher-receive') this.batchers[index] = this.receive(REGISTRATIONS_QUEUE_URL, choice);
    if (what === 'planner-receive') this.planners[index] = this.receive(ZONE_QUEUE_URL, choice);
    if (what === 'batcher-run') await this.runBatcher(index);
    if (what === 'planner-run') await this.runPlanner(index);
    if (what === 'workflow') await this.completeExecution(which);
    if (what === 'expire') this.expire();
    if (what === 'send') this.send(choice);
    if (what === 'foreign-write') this.foreignWrite(choice);
  }

  /** The next machine's message goes onto the registrations queue, a few milliseconds (or none) later. */
  private send(choice: number): void {
    const next = this.outbox.shift();
    if (!next) return;
    this.clock += choice % 3;
    this.aws.sqs.enqueue(REGISTRATIONS_QUEUE_URL, next.body, { senderId: next.senderId });
    const body = JSON.parse(next.body) as { action: 'register'; record: string; instanceId: string };
    const label = body.record.slice(0, -this.options.zone.suffix.length - 2);
    this.sent.push({ kind: body.action, label, instanceId: body.instanceId, sentAt: this.clock });
  }

  /** Every registration sent, with the SentTimestamp SQS gave it. */
  sentRegistrations() {
    return [...this.sent];
  }

  /** How many deltas reached the zone queue (duplicates SQS dropped not counted). */
  deltasSent(): number {
    return this.aws.sqs.deleted(ZONE_QUEUE_URL).length + this.aws.sqs.messages(ZONE_QUEUE_URL).length;
  }

  private addressRRsets() {
    return this.aws.route53
      .rrsets(this.options.zone.hostedZoneId)
      .filter((r) => r.Type === 'A' || r.Type === 'AAAA');
  }

  /** Someone else rewrites an address rrset with another TTL: a plan made before no longer applies. */
  private foreignWrite(choice: number): void {
    const rrsets = this.addressRRsets();
    const target = rrsets[choice % rrsets.length];
    if (!target) return;
    const rewritten = { ...target, TTL: target.TTL === 300 ? 301 : 300 };
    this.aws.route53.change(this.options.zone.hostedZoneId, [
      { Action: 'DELETE', ResourceRecordSet: target },
      { Action: 'CREATE', ResourceRecordSet: rewritten },
    ]);
    this.stats.foreignWrites += 1;
  }

  /** Lambda's batch: up to 10 messages, in an order (and a number) the choice draws on a standard queue. */
  private receive(url: string, choice: number): SQSRecord[] | undefined {
    const records = this.aws.sqs.receive(url, 1 + (choice % 10), (visible) => rotate(visible, choice));
    return records.length > 0 ? records : undefined;
  }

  private async runBatcher(index: number): Promise<void> {
    const records = this.batchers[index] ?? [];
    this.batchers[index] = undefined;
    const deps = batcherDeps(
      this.aws,
      () => this.clock,
      batcherSettings({ senderBinding: false, allowlist: { zones: [this.options.zone] } }),
    );
    const response = await processBatch(eventOf(...records), deps);
    this.stats.batcherRuns += 1;
    await this.acknowledge(REGISTRATIONS_QUEUE_URL, records, response);
  }

  private async runPlanner(index: number): Promise<void> {
    const records = this.planners[index] ?? [];
    this.planners[index] = undefined;
    const settings = plannerSettings({
      allowlist: { zones: [this.options.zone] },
      maxAttempts: this.options.maxAttempts,
      retryBackoff: { baseSeconds: 1, capSeconds: 8 },
    });
    const started = this.aws.sfn.executions.size;
    const response = await processDeltas(
      eventOf(...records),
      plannerDeps(this.aws, () => this.clock, settings),
    );
    this.stats.rounds += 1;
    this.stats.executions += this.aws.sfn.executions.size - started;
    this.stats.concurrentExecutions = Math.max(
      this.stats.concurrentExecutions,
      this.aws.sfn.running().length,
    );
    await this.acknowledge(ZONE_QUEUE_URL, records, response);
  }

  private async completeExecution(name: string): Promise<void> {
    const execution = this.aws.sfn.executions.get(name);
    if (!execution) return;
    const world = { ...this.aws, zoneQueueUrl: ZONE_QUEUE_URL };
    if ((await runExecution(world, execution)).length > 0) this.stats.failedExecutions += 1;
  }

  /**
   * Time runs to the next visibility timeout's end: what was in flight and not released comes back. A planner still
   * holding a batch whose deltas came back has timed out: the zone queue's visibility timeout is the planner's
   * timeout plus the workflow's bound (docs/design.md §4.4), so Lambda ended that invocation first and it never
   * runs. A batcher may still run late (harmless: its deltas are deduplicated or folded again).
   */
  private expire(): void {
    const next = this.aws.sqs.nextVisibility();
    if (next === undefined) return;
    if (this.aws.sfn.running().length > 0) this.stats.expiries += 1;
    this.clock = next;
    const inFlight = new Set(
      this.aws.sqs
        .messages(ZONE_QUEUE_URL)
        .filter((m) => m.visibleAt > this.clock)
        .map((m) => m.receiptHandle),
    );
    this.planners.forEach((held, i) => {
      if (held?.some((r) => !inFlight.has(r.receiptHandle))) this.planners[i] = undefined;
    });
  }

  /** What Lambda does with a batch response: deletes every delivery not reported failed. */
  private async acknowledge(url: string, records: SQSRecord[], response: SQSBatchResponse): Promise<void> {
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const done = records.filter((r) => !failed.has(r.messageId));
    for (let i = 0; i < done.length; i += 10) {
      const Entries = done.slice(i, i + 10).map((r, n) => ({ Id: `a${n}`, ReceiptHandle: r.receiptHandle }));
      await this.aws.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries }));
    }
  }

  /** Dead letters on the dead-letter queue. */
  deadLetters(): string[] {
    return this.aws.sqs
      .messages(DEAD_LETTER_QUEUE_URL)
      .map((m) => m.messageAttributes[ATTRIBUTES.reason] ?? '');
  }
}

function rotate<T>(items: T[], by: number): T[] {
  if (items.length === 0) return items;
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
