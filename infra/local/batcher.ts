// The real batcher handler, configured exactly as packaged, wired to LocalStack through the local event source.
import { readFileSync } from 'node:fs';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { LocalStack } from './deploy';
import { stackFile } from './deploy';
import type { EventSourceOptions } from './event-source';

export const localEndpoint = process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566';

/** Credentials and endpoint for LocalStack, for this process's SDK clients and for child processes. */
export const localAwsEnv = {
  AWS_ENDPOINT_URL: localEndpoint,
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};

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
    sqs: new SQSClient({
      endpoint: localEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
    queueUrl,
    queueArn: `arn:aws:sqs:us-east-1:000000000000:${queueName}`,
    batchSize: stack.batcher.batchSize,
    batchWindowSeconds: stack.batcher.batchWindowSeconds,
    handler,
  };
}
