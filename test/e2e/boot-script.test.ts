// The boot script with the real AWS CLI against LocalStack SQS: what lands on the queue is exactly what
// the batcher will read.
import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import {
  awsCliBinDir,
  type FakeServer,
  runBootScript,
  startFakeCheckip,
  startFakeEcsMetadata,
  startFakeImds,
} from '../helpers/fake-metadata';
import { cliEnv, region, sqs } from '../helpers/localstack';

// The project-level testTimeout does not reach every Jest version; the CLI's start-up alone takes a second.
jest.setTimeout(120_000);

const instanceId = 'i-0a1b2c3d4e5f60718';
let queueUrl: string;
const servers: FakeServer[] = [];

beforeAll(async () => {
  const created = await sqs.send(
    new CreateQueueCommand({ QueueName: `r53dyn-boot-${Date.now()}-${process.pid}` }),
  );
  queueUrl = created.QueueUrl ?? '';
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  // Tolerant: a LocalStack restarted meanwhile has already forgotten the queue.
  if (queueUrl) await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
});

function run(action: string, env: Record<string, string>) {
  return runBootScript(action, {
    ...cliEnv,
    PATH: `${awsCliBinDir()}:${process.env.PATH}`,
    R53DYN_QUEUE_URL: queueUrl,
    R53DYN_RECORD: 'web.dyn.example.com',
    R53DYN_RETRY_BASE_SECONDS: '0.1',
    ...env,
  });
}

async function receiveOne() {
  const received = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 }),
  );
  expect(received.Messages).toHaveLength(1);
  // Deleting is not needed: each test reads one fresh message and the queue goes away afterwards,
  // but a leftover would show up as a second message in the next test.
  const message = received.Messages?.[0];
  return { body: message?.Body, messageId: message?.MessageId };
}

test('register from EC2 puts the exact registration on the queue', async () => {
  const imds = await startFakeImds({ instanceId, publicIpv4: '52.95.110.1', region });
  servers.push(imds);

  const result = await run('register', { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint });

  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const { body, messageId } = await receiveOne();
  expect(body).toBe(
    `{"v":1,"action":"register","record":"web.dyn.example.com","instanceId":"${instanceId}","ipv4":"52.95.110.1"}`,
  );
  expect(result.stdout).toBe(
    `r53dyn-register: register web.dyn.example.com for ${instanceId} sent, message id ${messageId}\n`,
  );
  expect(imds.rejected()).toBe(0);
});

test('deregister from a Fargate task puts a body without an address on the queue', async () => {
  const taskId = '9f8e7d6c5b4a39281706f5e4d3c2b1a0';
  const metadata = await startFakeEcsMetadata({
    taskArn: `arn:aws:ecs:${region}:000000000000:task/web/${taskId}`,
  });
  const checkip = await startFakeCheckip('52.95.110.2\n');
  servers.push(metadata, checkip);

  const result = await run('deregister', {
    ECS_CONTAINER_METADATA_URI_V4: metadata.endpoint,
    R53DYN_CHECKIP_URL: checkip.endpoint,
  });

  expect(result.status).toBe(0);
  const { body } = await receiveOne();
  expect(body).toBe(`{"v":1,"action":"deregister","record":"web.dyn.example.com","instanceId":"${taskId}"}`);
});

test('a queue that does not exist ends in exit 4 after the configured attempts', async () => {
  const imds = await startFakeImds({ instanceId, publicIpv4: '52.95.110.1', region });
  servers.push(imds);

  const result = await run('heartbeat', {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
    R53DYN_QUEUE_URL: `${queueUrl}-missing`,
    R53DYN_MAX_ATTEMPTS: '2',
  });

  expect(result.status).toBe(4);
  expect(result.stderr).toMatch(/NonExistentQueue|does not exist/);
  expect(result.stderr).toContain('attempt 1/2 failed');
  expect(result.stderr).toContain('after 2 attempts');
});
