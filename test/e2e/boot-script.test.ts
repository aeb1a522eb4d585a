// The boot script with the real AWS CLI against LocalStack SQS: what lands on the queue is exactly what
// the batcher will read.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import {
  awsCliBinDir,
  type FakeServer,
  runBootScript,
  startFakeCheckip,
  startFakeEcsMetadata,
  startFakeImds,
} from '../helpers/fake-metadata';
import { cliEnv, region, sqs } from '../helpers/localstack';
import { makeReadinessCheck, type ReadinessCheck, stateText } from '../helpers/readiness';

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

// The readiness gate, run after run: what each run put on the queue, read back and deleted after it.
describe('readiness gate', () => {
  let gateQueueUrl: string;
  let dir: string;
  let check: ReadinessCheck;
  let imdsEndpoint: string;
  const ip = '52.95.110.3';
  const bodyOf = {
    register: `{"v":1,"action":"register","record":"web.dyn.example.com","instanceId":"${instanceId}","ipv4":"${ip}"}`,
    heartbeat: `{"v":1,"action":"heartbeat","record":"web.dyn.example.com","instanceId":"${instanceId}","ipv4":"${ip}"}`,
    deregister: `{"v":1,"action":"deregister","record":"web.dyn.example.com","instanceId":"${instanceId}"}`,
  };

  beforeAll(async () => {
    const created = await sqs.send(
      new CreateQueueCommand({ QueueName: `r53dyn-boot-gate-${Date.now()}-${process.pid}` }),
    );
    gateQueueUrl = created.QueueUrl ?? '';
    const imds = await startFakeImds({ instanceId, publicIpv4: ip, region });
    servers.push(imds);
    imdsEndpoint = imds.endpoint;
  });

  afterAll(async () => {
    if (gateQueueUrl)
      await sqs.send(new DeleteQueueCommand({ QueueUrl: gateQueueUrl })).catch(() => undefined);
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'r53dyn-gate-'));
    check = makeReadinessCheck(dir);
  });

  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    expect(await drain()).toEqual([]);
  });

  /** Every message on the queue now (sending is synchronous, so a finished run's messages are there), deleted. */
  async function drain(): Promise<string[]> {
    const bodies: string[] = [];
    for (;;) {
      const received = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: gateQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      const messages = received.Messages ?? [];
      if (messages.length === 0) return bodies;
      for (const m of messages) {
        bodies.push(m.Body ?? '');
        await sqs.send(new DeleteMessageCommand({ QueueUrl: gateQueueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
    }
  }

  function gateEnv(env: Record<string, string> = {}) {
    return {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsEndpoint,
      R53DYN_QUEUE_URL: gateQueueUrl,
      R53DYN_READINESS_COMMAND: check.command,
      R53DYN_STATE_FILE: check.stateFile,
      ...env,
    };
  }

  /** One run and what it put on the queue. */
  async function gate(action: string, env: Record<string, string> = {}) {
    const result = await run(action, gateEnv(env));
    return { status: result.status, stderr: result.stderr, queued: await drain() };
  }

  test('a passing check registers', async () => {
    check.setHealthy(true);

    const result = await gate('register');

    expect(result.status).toBe(0);
    expect(result.queued).toEqual([bodyOf.register]);
    expect(check.state()).toBe(stateText('published', 0));
  });

  test('at boot, a failing check holds the registration back until it passes', async () => {
    check.passFrom(3);

    const result = await gate('register', { R53DYN_READINESS_WAIT_SECONDS: '30' });

    expect(result.status).toBe(0);
    expect(check.runs()).toBe(3);
    expect(result.queued).toEqual([bodyOf.register]);
    expect(result.stderr).toContain('readiness check 2 failed (exit 7: unhealthy (check 2)); next check in');
  });

  test('at boot, a check that never passes sends nothing (exit 5); a heartbeat registers when it does', async () => {
    const timedOut = await gate('register', { R53DYN_READINESS_WAIT_SECONDS: '1' });
    const stillDown = await gate('heartbeat');
    check.setHealthy(true);
    const recovered = await gate('heartbeat');

    expect([timedOut.status, stillDown.status, recovered.status]).toEqual([5, 5, 0]);
    expect([timedOut.queued, stillDown.queued, recovered.queued]).toEqual([[], [], [bodyOf.register]]);
    expect(timedOut.stderr).toContain(
      'web.dyn.example.com not registered; the heartbeat registers it once the check passes',
    );
  });

  test('N-1 failed heartbeats keep the machine, the Nth deregisters, a pass registers again', async () => {
    check.setHealthy(true);
    const registered = await gate('register');
    check.setHealthy(false);
    const runs = [];
    for (let i = 0; i < 4; i++) runs.push(await gate('heartbeat'));
    check.setHealthy(true);
    runs.push(await gate('heartbeat'));

    expect(registered.queued).toEqual([bodyOf.register]);
    expect(runs.map((r) => [r.status, r.queued])).toEqual([
      [5, [bodyOf.heartbeat]],
      [5, [bodyOf.heartbeat]],
      [5, [bodyOf.deregister]],
      [5, []],
      [0, [bodyOf.register]],
    ]);
  });

  test('a flapping check sends each deregistration once, and only after N failures in a row', async () => {
    check.writeState('published', 0);
    const healthy = [false, true, false, false, false, true, false, false];

    const queued: string[][] = [];
    for (const h of healthy) {
      check.setHealthy(h);
      queued.push((await gate('heartbeat', { R53DYN_READINESS_FAILURES: '2' })).queued);
    }

    const { register, heartbeat, deregister } = bodyOf;
    expect(queued).toEqual([
      [heartbeat],
      [heartbeat],
      [heartbeat],
      [deregister],
      [],
      [register],
      [heartbeat],
      [deregister],
    ]);
  });

  test('two timer runs at once put one deregistration on the queue', async () => {
    check.writeState('published', 2);
    check.delay(0.5);

    const results = await Promise.all([run('heartbeat', gateEnv()), run('heartbeat', gateEnv())]);

    expect(results.map((r) => r.status)).toEqual([5, 5]);
    expect(await drain()).toEqual([bodyOf.deregister]);
    expect(check.state()).toBe(stateText('unpublished', 4));
  });

  test.each([
    ['abc', 'R53DYN_READINESS_FAILURES must be 1 to 999 (failed checks in a row before deregistering): abc'],
    ['0', 'R53DYN_READINESS_FAILURES must be 1 to 999 (failed checks in a row before deregistering): 0'],
  ])('R53DYN_READINESS_FAILURES=%s exits 2 with a clear error and sends nothing', async (value, message) => {
    check.setHealthy(true);

    const result = await gate('register', { R53DYN_READINESS_FAILURES: value });

    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`r53dyn-register: ${message}\n`);
    expect(result.queued).toEqual([]);
    expect(check.runs()).toBe(0);
  });
});
