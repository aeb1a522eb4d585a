// The real batcher handler, configured exactly as packaged, wired to LocalStack through the local event source.
import { readFileSync } from 'node:fs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { localAwsEnv, localClientConfig } from './connection';
import type { LocalStack } from './deploy';
import { stackFile } from './deploy';
import type { EventSourceOptions } from './event-source';

export function readLocalStack(): LocalStack {
  try {
    return JSON.parse(readFileSync(stackFile, 'utf8'));
  } catch {
    throw new Error(`${stackFile} is missing: deploy first (npx tsx infra/local/deploy.ts)`);
  }
}

export async function localEventSource(stack: LocalStack = readLocalStack()): Promise<EventSourceOptions> {
  Object.assign(process.env, localAwsEnv, stack.batcher.environment, {
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  });
  const { handler } = await import('../../handlers/batcher');
  const queueUrl = stack.outputs.RegistrationsQueueUrl ?? '';
  const queueName = queueUrl.split('/').pop() ?? '';
  return {
    sqs: new SQSClient(localClientConfig),
    queueUrl,
    queueArn: `arn:aws:sqs:us-east-1:000000000000:${queueName}`,
    batchSize: stack.batcher.batchSize,
    batchWindowSeconds: stack.batcher.batchWindowSeconds,
    handler,
  };
}
