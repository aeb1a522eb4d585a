// The batcher (docs/design.md §4.1): one SQS batch from the registrations and events queues -> dead letters for
// what cannot be accepted, and the accepted messages, normalised, onto the FIFO zone queue (one message group per
// hosted zone). A delivery is acknowledged only once its message is in the dead-letter queue or on the zone queue.
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { sendDeadLetters, sendDeltas } from './adapters/sqs';
import { SDK_MAX_ATTEMPTS } from './core/contract';
import { intake, receivedFromSqs } from './core/intake';
import { type BatcherSettings, readBatcherSettings } from './settings';

export interface BatcherDeps {
  settings: BatcherSettings;
  sqs: SQSClient;
  logger: Logger;
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
let deps: BatcherDeps | undefined;

function coldStart(): BatcherDeps {
  deps ??= {
    settings: readBatcherSettings(process.env),
    sqs: new SQSClient({ maxAttempts: SDK_MAX_ATTEMPTS }),
    logger,
    now: Date.now,
  };
  return deps;
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .handler((event) => processBatch(event, coldStart()));
