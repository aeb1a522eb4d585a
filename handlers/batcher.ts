// The batcher: one SQS batch -> dead letters for what cannot be applied, one workflow execution per zone part.
// Everything it decides is in core/batch.ts; this file only reads, writes and reports.
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { readRecords, readZone } from './adapters/route53';
import { startExecution } from './adapters/sfn';
import { sendToDeadLetterQueue } from './adapters/sqs';
import { planBatch, readsFor, receivedFromSqs, sortMessages } from './core/batch';
import type { RecordSet } from './core/model';
import { type BatcherSettings, readSettings } from './settings';

export interface BatcherDeps {
  settings: BatcherSettings;
  route53: Route53Client;
  sfn: SFNClient;
  sqs: SQSClient;
  logger: Logger;
  now: () => number;
}

export async function processBatch(event: SQSEvent, deps: BatcherDeps): Promise<SQSBatchResponse> {
  const { settings, logger } = deps;
  const now = deps.now();
  const received = event.Records.map(receivedFromSqs);
  const sorted = sortMessages(received, { ...settings, now });
  const reads = readsFor(sorted.messages, settings.allowlist);

  const rrsets = new Map<string, RecordSet[]>();
  await Promise.all(
    reads.map(async (read) => {
      const zoneId = read.zone.hostedZoneId;
      try {
        rrsets.set(
          zoneId,
          read.wholeZone
            ? await readZone(deps.route53, zoneId)
            : await readRecords(deps.route53, zoneId, read.names),
        );
      } catch (error) {
        logger.error('could not read the zone; its messages will be delivered again', { zoneId, error });
      }
    }),
  );

  const plan = planBatch({ received, sorted, reads, rrsets, ownerId: settings.ownerId, now });
  const failed = new Set(plan.retry);

  for (const letter of plan.deadLetters) {
    logger.warn('message rejected', { messageId: letter.messageId, reason: letter.reason });
  }
  const unsent = await sendToDeadLetterQueue(deps.sqs, settings.deadLetterQueueUrl, plan.deadLetters);
  for (const id of unsent) failed.add(id);

  await Promise.all(
    plan.starts.map(async (start) => {
      try {
        const { executionArn, alreadyStarted } = await startExecution(
          deps.sfn,
          settings.stateMachineArn,
          start.name,
          start.input,
        );
        logger.info(alreadyStarted ? 'execution already started for this batch' : 'execution started', {
          executionArn,
          summary: start.input.summary,
        });
      } catch (error) {
        logger.error('could not start the execution; its messages will be delivered again', {
          name: start.name,
          error,
        });
        for (const id of start.messageIds) failed.add(id);
      }
    }),
  );

  const inBatch = new Set(received.map((r) => r.messageId));
  return {
    batchItemFailures: [...failed]
      .filter((id) => inBatch.has(id))
      .map((itemIdentifier) => ({ itemIdentifier })),
  };
}

const logger = new Logger({ serviceName: 'r53dyn' });
let deps: BatcherDeps | undefined;

function coldStart(): BatcherDeps {
  deps ??= {
    settings: readSettings(process.env),
    route53: new Route53Client({}),
    sfn: new SFNClient({}),
    sqs: new SQSClient({}),
    logger,
    now: Date.now,
  };
  return deps;
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .handler((event) => processBatch(event, coldStart()));
