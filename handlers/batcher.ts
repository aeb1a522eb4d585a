// The batcher (docs/design.md §4.1): one SQS batch from the registrations and events queues -> dead letters for
// what cannot be accepted, and the accepted messages, normalised, onto the FIFO zone queue (one message group per
// hosted zone). A delivery is acknowledged only once its message is in the dead-letter queue or on the zone queue.
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { sendDeadLetters, sendDeltas } from './adapters/sqs';
import { SDK_MAX_ATTEMPTS } from './core/contract';
import { intake, receivedFromSqs } from './core/intake';
import { count, countDeadLetters, countThrottling, METRIC, newMetrics } from './metrics';
import { type BatcherSettings, readBatcherSettings } from './settings';

export interface BatcherDeps {
  settings: BatcherSettings;
  sqs: SQSClient;
  logger: Logger;
  /** the handler's metrics; a caller without them (a test, the CLI's dry run) leaves them out */
  metrics?: Metrics;
  now: () => number;
}

export async function processBatch(event: SQSEvent, deps: BatcherDeps): Promise<SQSBatchResponse> {
  const { settings, logger } = deps;
  const options = { ...settings, now: deps.now() };
  const received = event.Records.map((record) => receivedFromSqs(record, options));
  const { deltas, receiptIdsByDelta, deadLetters } = intake(received, options);
  const failed = new Set<string>();

  const unsentLetters = new Set(
    await sendDeadLetters(
      deps.sqs,
      settings.deadLetterQueueUrl,
      deadLetters.map((d) => d.letter),
    ),
  );
  for (const { receiptId, letter } of deadLetters) {
    if (unsentLetters.has(letter.messageId)) failed.add(receiptId);
  }
  for (const index of await sendDeltas(deps.sqs, settings.zoneQueueUrl, deltas)) {
    for (const receiptId of receiptIdsByDelta[index] ?? []) failed.add(receiptId);
  }

  count(deps.metrics, METRIC.received, received.length);
  count(deps.metrics, METRIC.deltas, deltas.length);
  count(deps.metrics, METRIC.requeued, failed.size);
  countDeadLetters(
    deps.metrics,
    deadLetters.filter((d) => !unsentLetters.has(d.letter.messageId)).map((d) => d.letter.reason),
  );
  logger.info('batch', {
    received: received.length,
    deadLettered: deadLetters.length - unsentLetters.size,
    deltas: deltas.length,
    zones: new Set(deltas.map((d) => d.hostedZoneId)).size,
    failed: failed.size,
    reasons: deadLetters.map((d) => d.letter.reason.split(':', 1)[0]),
  });
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
}

const logger = new Logger({ serviceName: 'r53dyn' });
const metrics = newMetrics();
let deps: BatcherDeps | undefined;

function coldStart(): BatcherDeps {
  if (deps) return deps;
  const sqs = new SQSClient({ maxAttempts: SDK_MAX_ATTEMPTS });
  countThrottling(sqs, metrics);
  deps = { settings: readBatcherSettings(process.env), sqs, logger, metrics, now: Date.now };
  return deps;
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler((event) => processBatch(event, coldStart()));
