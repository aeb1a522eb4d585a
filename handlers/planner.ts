// The planner (docs/design.md §4.2-4.5): one batch from the FIFO zone queue. SQS hands out a zone's deltas one
// batch at a time, and the planner keeps them in flight (reports them failed) while the round's execution
// writes the zone; the workflow deletes them once written. So each zone has one writer at a time, and every
// message stays on the queue until it is written, dead-lettered, or found to be in effect already.
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { NoSuchHostedZone, Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { readForRound } from './adapters/route53';
import { describeExecution, startExecution } from './adapters/sfn';
import { changeVisibility, sendDeadLetters, sendDeltas } from './adapters/sqs';
import { reason, SDK_MAX_ATTEMPTS } from './core/contract';
import { type DeadLetter, deadLetterOf } from './core/dead-letter';
import { CorruptDelta, decodeDelta, packDeltas } from './core/delta';
import { executionName } from './core/execution-name';
import type { ZoneRule } from './core/model';
import { type Verdict, verdictsOf } from './core/outcome';
import { planRound, type RoundPlan, readsFor, retryDelaySeconds, type ZoneDelta } from './core/round';
import { count, countDeadLetters, countThrottling, METRIC, newMetrics, seconds } from './metrics';
import { type PlannerSettings, readPlannerSettings } from './settings';

export interface PlannerDeps {
  settings: PlannerSettings;
  route53: Route53Client;
  sfn: SFNClient;
  sqs: SQSClient;
  logger: Logger;
  /** the handler's metrics; a caller without them (a test, the CLI's dry run) leaves them out */
  metrics?: Metrics;
  now: () => number;
}

/** What becomes of a zone's deltas in this batch: deleted (all done) or kept in flight. */
type Disposition = 'delete' | 'keep';

export async function processDeltas(event: SQSEvent, deps: PlannerDeps): Promise<SQSBatchResponse> {
  const byZone = new Map<string, SQSRecord[]>();
  for (const record of event.Records) {
    const zone = record.attributes.MessageGroupId ?? '';
    byZone.set(zone, [...(byZone.get(zone) ?? []), record]);
  }
  const kept = await Promise.all(
    [...byZone].map(async ([zoneId, records]) =>
      (await planZone(zoneId, records, deps).catch((error) => {
        deps.logger.error('zone round failed; its deltas will be delivered again', { zoneId, error });
        return 'keep' as const;
      })) === 'keep'
        ? records
        : [],
    ),
  );
  return { batchItemFailures: kept.flat().map((r) => ({ itemIdentifier: r.messageId })) };
}

async function planZone(zoneId: string, records: SQSRecord[], deps: PlannerDeps): Promise<Disposition> {
  const { settings, logger } = deps;
  const { deltas, letters } = decodeDeltas(records, deps.now());
  const zone = settings.allowlist.zones.find((z) => z.hostedZoneId === zoneId);
  const messages = deltas.flatMap((d) => d.messages);
  if (!zone) {
    const why = reason('record-not-allowed', `hosted zone ${zoneId} is no longer in the allowlist`);
    return finish(deps, [...letters, ...messages.map((m) => deadLetterOf(m, why))]);
  }
  const head = deltas[0];
  if (!head) return finish(deps, letters);
  count(deps.metrics, METRIC.rounds, 1);
  if (head.receiveCount > 1) count(deps.metrics, METRIC.retriedRounds, 1);

  const verdicts = await previousVerdicts(zone, head, deps);
  if (verdicts === 'running') {
    logger.warn('the previous execution for these deltas is still running; they stay on the queue', {
      zoneId,
    });
    return 'keep';
  }
  let read: Awaited<ReturnType<typeof readForRound>>;
  try {
    read = await readForRound(deps.route53, zoneId, zone.suffix, readsFor(messages));
  } catch (error) {
    const refusal = readRefusal(error, zoneId);
    if (refusal) return finish(deps, [...letters, ...messages.map((m) => deadLetterOf(m, refusal))]);
    logger.error('could not read the zone; its deltas come back after a backoff', { zoneId, error });
    await retryLater(deps, zone, deltas);
    return 'keep';
  }
  const plan = planRound({
    zone,
    ownerId: settings.ownerId,
    now: deps.now(),
    deltas,
    rrsets: read.rrsets,
    verdicts,
    maxAttempts: settings.maxAttempts,
    retryBackoff: settings.retryBackoff,
    random: Math.random(),
  });
  if (verdicts.some((v) => v.kind === 'retry' && v.reason.startsWith('write-conflict'))) {
    count(deps.metrics, METRIC.conflicts, 1);
  }
  logger.info('round', {
    zoneId,
    deltas: deltas.length,
    receive: head.receiveCount,
    messages: plan.messages,
    writes: plan.execution?.writes.length ?? 0,
    parts: plan.execution?.input.parts.length ?? 0,
    deferred: plan.deferred,
    reads: read.calls,
    wholeZone: read.wholeZone,
  });
  return writeRound(zone, deltas, [...letters, ...plan.deadLetters], plan, deps);
}

/** The zone-queue records as deltas; one that does not decode is a dead letter of its own (kept raw). */
function decodeDeltas(records: SQSRecord[], now: number): { deltas: ZoneDelta[]; letters: DeadLetter[] } {
  const deltas: ZoneDelta[] = [];
  const letters: DeadLetter[] = [];
  for (const record of records) {
    try {
      deltas.push({
        messageId: record.messageId,
        receiptHandle: record.receiptHandle,
        receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
        messages: decodeDelta(record.body).messages,
      });
    } catch (error) {
      if (!(error instanceof CorruptDelta)) throw error;
      const why = reason('workflow-error', `${error.message}; the raw zone-queue message is kept here`);
      letters.push({ messageId: record.messageId, body: record.body, reason: why, sentAt: now });
    }
  }
  return { deltas, letters };
}

/**
 * Carries the round out, in an order that loses nothing if the planner dies between two steps: dead letters
 * first, then the carry-over of what the budget left out, then the execution that writes the rest and deletes
 * the deltas. Any step failing leaves the deltas to come back; the steps before it are then repeated, which
 * SQS deduplicates (the carry-over) or the dead-letter queue shows twice under one message id.
 */
async function writeRound(
  zone: ZoneRule,
  deltas: ZoneDelta[],
  letters: DeadLetter[],
  plan: RoundPlan,
  deps: PlannerDeps,
): Promise<Disposition> {
  const { settings, logger } = deps;
  const zoneId = zone.hostedZoneId;
  const unsent = await sendDeadLetters(deps.sqs, settings.deadLetterQueueUrl, letters);
  countDeadLetters(
    deps.metrics,
    letters.filter((l) => !unsent.includes(l.messageId)).map((l) => l.reason),
  );
  if (unsent.length > 0) {
    logger.error('could not dead-letter every message; the round is tried again', { zoneId, unsent });
    await retryLater(deps, zone, deltas);
    return 'keep';
  }
  if (!plan.execution) {
    count(deps.metrics, METRIC.applied, plan.messages - plan.deadLetters.length);
    return 'delete';
  }
  if (plan.carryOver.length > 0) {
    const carried = packDeltas(zoneId, plan.carryOver);
    const notSent = await sendDeltas(deps.sqs, settings.zoneQueueUrl, carried, plan.execution.name);
    if (notSent.length > 0) {
      logger.error('could not carry the records left over to the next round; the round is tried again', {
        zoneId,
      });
      await retryLater(deps, zone, deltas);
      return 'keep';
    }
    count(deps.metrics, METRIC.requeued, plan.carryOver.length);
  }
  try {
    const started = await startExecution(
      deps.sfn,
      settings.stateMachineArn,
      plan.execution.name,
      plan.execution.input,
    );
    count(deps.metrics, METRIC.executions, started.alreadyStarted ? 0 : 1);
    count(deps.metrics, METRIC.recordsChanged, plan.execution.writes.length);
    seconds(
      deps.metrics,
      METRIC.sentToPlan,
      (deps.now() - Math.min(...deltas.flatMap((d) => d.messages.map((m) => m.sentAt)))) / 1000,
    );
    logger.info(started.alreadyStarted ? 'execution already started' : 'execution started', {
      executionArn: started.executionArn,
    });
  } catch (error) {
    logger.error('could not start the execution; the round is tried again', { zoneId, error });
    await retryLater(deps, zone, deltas);
  }
  return 'keep';
}

async function finish(deps: PlannerDeps, letters: DeadLetter[]): Promise<Disposition> {
  const unsent = await sendDeadLetters(deps.sqs, deps.settings.deadLetterQueueUrl, letters);
  countDeadLetters(
    deps.metrics,
    letters.filter((l) => !unsent.includes(l.messageId)).map((l) => l.reason),
  );
  return unsent.length === 0 ? 'delete' : 'keep';
}

/**
 * What the latest execution of these deltas left to do. A receive that found its predecessor still running, or
 * could not start one, started none: the latest execution is then further back, and while it runs it holds the
 * zone (docs/design.md §4.4).
 */
async function previousVerdicts(
  zone: ZoneRule,
  head: ZoneDelta,
  deps: PlannerDeps,
): Promise<Verdict[] | 'running'> {
  // A receive that started nothing (the previous execution was still running, the zone could not be read) leaves
  // no execution of its name: the last one that ran is further back.
  for (let receive = head.receiveCount - 1; receive >= 1; receive -= 1) {
    const name = executionName(zone.hostedZoneId, head.messageId, receive);
    const previous = await describeExecution(deps.sfn, deps.settings.stateMachineArn, name);
    if (!previous) continue;
    if (previous.status === 'RUNNING') return 'running';
    const verdicts = verdictsOf(previous, zone.suffix);
    if (verdicts.length > 0)
      deps.logger.warn('the previous execution failed', { ...previous, verdicts: verdicts.length });
    return verdicts;
  }
  return [];
}

/** Errors reading the zone that no retry will mend: the zone is gone, or the role may not read it. */
function readRefusal(error: unknown, zoneId: string): string | undefined {
  if (error instanceof NoSuchHostedZone) {
    return reason('zone-missing', `hosted zone ${zoneId} does not exist (NoSuchHostedZone)`);
  }
  const name = error instanceof Error ? error.name : '';
  if (/AccessDenied/.test(name)) {
    return reason('access-denied', `the planner may not read hosted zone ${zoneId}: ${String(error)}`);
  }
  return undefined;
}

/** The deltas come back after a jittered backoff that grows with their receive count. */
async function retryLater(deps: PlannerDeps, zone: ZoneRule, deltas: ZoneDelta[]): Promise<void> {
  const attempt = (deltas[0]?.receiveCount ?? 1) - 1;
  const seconds = retryDelaySeconds(deps.settings.retryBackoff, attempt, Math.random());
  count(
    deps.metrics,
    METRIC.requeued,
    deltas.reduce((n, d) => n + d.messages.length, 0),
  );
  await changeVisibility(
    deps.sqs,
    deps.settings.zoneQueueUrl,
    deltas.map((d) => d.receiptHandle),
    seconds,
  ).catch((error) =>
    deps.logger.warn('could not shorten the deltas’ visibility; they come back at its end', {
      zoneId: zone.hostedZoneId,
      error,
    }),
  );
}

const logger = new Logger({ serviceName: 'r53dyn' });
const metrics = newMetrics();
let deps: PlannerDeps | undefined;

function coldStart(): PlannerDeps {
  if (deps) return deps;
  const clients = {
    route53: new Route53Client({ maxAttempts: SDK_MAX_ATTEMPTS }),
    sfn: new SFNClient({ maxAttempts: SDK_MAX_ATTEMPTS }),
    sqs: new SQSClient({ maxAttempts: SDK_MAX_ATTEMPTS }),
  };
  countThrottling(clients.route53, metrics);
  countThrottling(clients.sfn, metrics);
  countThrottling(clients.sqs, metrics);
  deps = { settings: readPlannerSettings(process.env), ...clients, logger, metrics, now: Date.now };
  return deps;
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler((event) => processDeltas(event, coldStart()));
