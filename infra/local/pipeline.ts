// The whole r53dyn pipeline on LocalStack: the real batcher and planner handlers, configured exactly as packaged,
// fed by local event sources (infra/local/event-source.ts) with as many concurrent pollers as Lambda would run.
// `npm start`, the end-to-end tests and the benchmark all run it.
import { readFileSync } from 'node:fs';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localAwsEnv, localClientConfig } from './connection';
import { type LocalDeployment, stackFileOf } from './deploy';
import { type BatchHandler, type BatchOutcome, type EventSourceOptions, pollOnce } from './event-source';

export function readDeployment(stage = 'local'): LocalDeployment {
  const file = stackFileOf(stage);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new Error(`${file} is missing: deploy first (npx tsx infra/local/deploy.ts ${stage})`);
  }
}

export interface PipelineOptions {
  /** concurrent pollers of the registrations queue (Lambda's maximumConcurrency); the stage's by default */
  batcherConcurrency?: number;
  /** how long one long poll waits for a first message; short in tests, so that stop() is quick */
  waitSeconds?: number;
  /** after a failure Lambda waits out the visibility timeout; locally the batcher's retries come back sooner */
  retryAfterSeconds?: number;
  onBatch?: (outcome: BatchOutcome) => void;
  /**
   * Applied to the clients that only watch the pipeline (settle() and backlog()), never to those of the event
   * sources: a benchmark marks them so that its counters leave them out (test/helpers/call-counter.ts).
   */
  observe?: <C extends SQSClient | SFNClient>(client: C) => C;
  /** handlers to run instead of the packaged ones (the crash tests wrap them); the packaged ones by default */
  handlers?: Partial<Record<'batcher' | 'planner', BatchHandler>>;
}

interface Poller {
  source: EventSourceOptions;
  count: number;
}

export class LocalPipeline {
  readonly outcomes: BatchOutcome[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private busy = 0;
  private readonly sqs: SQSClient;
  private readonly sfn: SFNClient;

  constructor(
    readonly deployment: LocalDeployment,
    private readonly pollers: Poller[],
    private readonly options: PipelineOptions,
  ) {
    const observe = options.observe ?? (<C>(client: C) => client);
    this.sqs = observe(new SQSClient(localClientConfig));
    this.sfn = observe(new SFNClient(localClientConfig));
  }

  get sources(): EventSourceOptions[] {
    return this.pollers.map((p) => p.source);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const { source, count } of this.pollers) {
      for (let i = 0; i < count; i += 1) this.loops.push(this.loop(source));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async loop(source: EventSourceOptions): Promise<void> {
    while (this.running) {
      this.busy += 1;
      try {
        const outcome = await pollOnce(source, this.options.waitSeconds ?? 20);
        if (outcome) {
          this.outcomes.push(outcome);
          this.options.onBatch?.(outcome);
        }
      } catch (error) {
        process.stderr.write(`[pipeline] ${source.name}: ${String(error)}\n`);
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        this.busy -= 1;
      }
    }
  }

  /** Messages queued or in flight on the pipeline's queues, and executions still running. */
  async backlog(): Promise<{ queued: number; inFlight: number; running: number }> {
    let queued = 0;
    let inFlight = 0;
    for (const url of new Set(this.sources.map((s) => s.queueUrl))) {
      const attrs =
        (
          await this.sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: url,
              AttributeNames: [
                'ApproximateNumberOfMessages',
                'ApproximateNumberOfMessagesNotVisible',
                'ApproximateNumberOfMessagesDelayed',
              ],
            }),
          )
        ).Attributes ?? {};
      queued +=
        Number(attrs.ApproximateNumberOfMessages ?? 0) +
        Number(attrs.ApproximateNumberOfMessagesDelayed ?? 0);
      inFlight += Number(attrs.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
    const stateMachineArn = this.deployment.outputs.StateMachineArn ?? '';
    const running = (
      await this.sfn.send(
        new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 1000 }),
      )
    ).executions?.length;
    return { queued, inFlight, running: running ?? 0 };
  }

  /**
   * Waits until every queue is empty, nothing is in flight and no execution runs, twice in a row; says every
   * 10 s what it is waiting for. Starts the pollers if they are not running.
   */
  async settle(timeoutSeconds = 600, say: (line: string) => void = () => undefined): Promise<void> {
    this.start();
    const started = Date.now();
    let quiet = 0;
    let lastNote = started;
    while (quiet < 2) {
      const backlog = await this.backlog();
      const idle = backlog.queued + backlog.inFlight + backlog.running === 0;
      quiet = idle ? quiet + 1 : 0;
      if (Date.now() - lastNote >= 10_000) {
        lastNote = Date.now();
        say(
          `waiting: ${backlog.queued} queued, ${backlog.inFlight} in flight, ${backlog.running} execution(s) running`,
        );
      }
      if (Date.now() - started > timeoutSeconds * 1000) {
        throw new Error(`the pipeline did not settle within ${timeoutSeconds} s: ${JSON.stringify(backlog)}`);
      }
      await new Promise((r) => setTimeout(r, idle ? 1000 : 500));
    }
  }
}

/**
 * The pipeline of a deployment: the handlers load with their packaged environments (both read the variables
 * of handlers/settings.ts; the names they share carry the same values).
 */
export async function localPipeline(
  deployment: LocalDeployment = readDeployment(),
  options: PipelineOptions = {},
): Promise<LocalPipeline> {
  Object.assign(
    process.env,
    localAwsEnv,
    deployment.functions.batcher.environment,
    deployment.functions.planner.environment,
    {
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      // the embedded-metric lines Lambda would ship to CloudWatch: off locally unless asked for (the benchmark
      // and the metrics test read them)
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    },
  );
  const handlers: Record<'batcher' | 'planner', BatchHandler> = {
    batcher: options.handlers?.batcher ?? (await import('../../handlers/batcher')).handler,
    planner: options.handlers?.planner ?? (await import('../../handlers/planner')).handler,
  };
  const sqs = new SQSClient(localClientConfig);
  const zones = Object.keys(deployment.zones).length;
  const pollers = deployment.eventSources.map((es): Poller => {
    const isRegistrations = es.queueUrl === deployment.outputs.RegistrationsQueueUrl;
    const source: EventSourceOptions = {
      name: `${es.function}:${es.queueUrl.split('/').pop() ?? ''}`,
      sqs,
      queueUrl: es.queueUrl,
      queueArn: es.queueArn,
      batchSize: es.batchSize,
      batchWindowSeconds: es.windowSeconds,
      fifo: es.fifo,
      handler: handlers[es.function],
    };
    if (es.function === 'batcher') source.retryAfterSeconds = options.retryAfterSeconds ?? 2;
    // Lambda runs a FIFO source at most once per message group at a time: one poller per zone is as many
    const count = es.fifo
      ? zones
      : isRegistrations
        ? (options.batcherConcurrency ?? deployment.batcherConcurrency)
        : 1;
    return { source, count };
  });
  return new LocalPipeline(deployment, pollers, options);
}
