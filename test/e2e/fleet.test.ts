// A fleet on LocalStack: 50 machines register for 3 names; 20 deregister, 5 are reported terminated by an EC2
// state-change event through EventBridge (into the events queue), 5 stop heartbeating past their lease and a
// sweep runs. Duplicates and late, older deliveries are mixed in. Each name must end with exactly the live
// machines, and the zone's gone list with the terminated ones (docs/design.md §3.4).

import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { ATTRIBUTES } from '../../handlers/core/contract';
import { decodeRegistry, goneListName } from '../../handlers/core/registry';
import { endpoint, sqs } from '../helpers/localstack';
import { type DeployedStack, deployedStack, recordValues, settle } from '../helpers/stack';

const run = Date.now().toString(36);
const names = [0, 1, 2].map((n) => `fleet${n}-${run}.leased.example.test.`);
const machines = Array.from({ length: 50 }, (_, i) => ({
  instanceId: `i-${(0x1f000000000000000n + BigInt(i)).toString(16).padStart(17, '0')}`,
  ipv4: `44.200.${Math.floor(i / 200)}.${(i % 200) + 1}`,
  name: names[i % 3] as string,
}));
const deregistered = machines.slice(0, 20);
const terminated = machines.slice(20, 25);
const silent = machines.slice(25, 30);
const alive = machines.slice(30);
const leaseSeconds = 20;

const events = new EventBridgeClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

let deployed: DeployedStack;
let zoneId: string;

beforeAll(async () => {
  deployed = await deployedStack();
  zoneId = deployed.zoneId('leased.example.test');
});

afterAll(() => deployed.pipeline.stop());

function body(action: string, m: (typeof machines)[number]): string {
  const message: Record<string, unknown> = { v: 1, action, record: m.name, instanceId: m.instanceId };
  if (action !== 'deregister') message.ipv4 = m.ipv4;
  return JSON.stringify(message);
}

/** Sends in batches of 10, in the given order; `sentAt` claims an earlier first-send time (a late delivery). */
async function send(
  messages: { body: string; sentAt?: number }[],
  queueUrl = deployed.queueUrl,
): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const entries: SendMessageBatchRequestEntry[] = messages.slice(i, i + 10).map((m, n) => ({
      Id: `m${n}`,
      MessageBody: m.body,
      ...(m.sentAt === undefined
        ? {}
        : {
            MessageAttributes: {
              [ATTRIBUTES.sentAt]: { DataType: 'Number', StringValue: String(m.sentAt) },
            },
          }),
    }));
    const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    expect(out.Failed ?? []).toEqual([]);
  }
}

/** A fixed shuffle, so a failure can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function registry(name: string) {
  const values = (await recordValues(zoneId, `_r53dyn.${name}`, 'TXT')) ?? [];
  const { entries, foreign } = decodeRegistry(values, 'r53dyn-local');
  return {
    foreign,
    up: entries
      .filter((e) => e.state === 'up')
      .map((e) => `${e.instanceId}=${e.ipv4}`)
      .sort(),
    gone: entries
      .filter((e) => e.state === 'gone')
      .map((e) => e.instanceId)
      .sort(),
  };
}

const of = (list: typeof machines, name: string) => list.filter((m) => m.name === name);
/** The sorted A values `list` puts at `name`. */
const addressesAt = (list: typeof machines, name: string) =>
  of(list, name)
    .map((m) => m.ipv4)
    .sort();
const expectAllSucceeded = (round: { executions: { status: string }[] }) =>
  expect(round.executions.filter((e) => e.status !== 'SUCCEEDED')).toEqual([]);

/** EC2's state-change events for `gone`, put on the bus; the rule delivers them to the events queue. */
async function terminate(gone: typeof machines): Promise<void> {
  const put = await events.send(
    new PutEventsCommand({
      Entries: gone.map((m) => ({
        Source: 'aws.ec2',
        DetailType: 'EC2 Instance State-change Notification',
        Detail: JSON.stringify({ 'instance-id': m.instanceId, state: 'terminated' }),
      })),
    }),
  );
  expect(put.FailedEntryCount).toBe(0);
  await waitForQueueDepth(deployed.eventsQueueUrl, gone.length);
}

test('50 machines, 3 names: deregistrations, terminations and expired leases leave exactly the live machines', async () => {
  // Round 1: everyone registers; ten registrations are delivered twice.
  const started = Date.now();
  await send(
    shuffled(
      [...machines, ...machines.slice(0, 10)].map((m) => ({ body: body('register', m) })),
      7,
    ),
  );
  const round1 = await settle(deployed);
  expectAllSucceeded(round1);
  for (const name of names) {
    expect(await recordValues(zoneId, name, 'A')).toEqual(addressesAt(machines, name));
  }

  // Round 2, within the lease (the pipeline stops meanwhile, so that the events can be seen arriving): 20 deregister (some twice), a late register older than each of the first five
  // deregistrations arrives after them, 5 are terminated, and the machines that stay alive heartbeat.
  await deployed.pipeline.stop();
  await send(
    shuffled(
      [
        ...deregistered.map((m) => ({ body: body('deregister', m) })),
        ...deregistered.slice(0, 5).map((m) => ({ body: body('deregister', m) })),
        ...alive.map((m) => ({ body: body('heartbeat', m) })),
      ],
      11,
    ),
  );
  await send(deregistered.slice(0, 5).map((m) => ({ body: body('register', m), sentAt: started - 1000 })));
  await terminate(terminated);
  const round2 = await settle(deployed);
  expectAllSucceeded(round2);

  // Round 3, past the lease of the silent five: the live machines heartbeat again and the schedule's sweep runs.
  const waitMs = started + (leaseSeconds + 2) * 1000 - Date.now();
  if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
  await send(alive.map((m) => ({ body: body('heartbeat', m) })));
  await send([{ body: JSON.stringify({ v: 1, action: 'sweep' }) }], deployed.eventsQueueUrl);
  const round3 = await settle(deployed);
  expectAllSucceeded(round3);

  // Assert: exactly the live machines, and a tombstone for every other one.
  for (const name of names) {
    expect(await recordValues(zoneId, name, 'A')).toEqual(addressesAt(alive, name));
    expect(await registry(name)).toEqual({
      foreign: [],
      up: of(alive, name)
        .map((m) => `${m.instanceId}=${m.ipv4}`)
        .sort(),
      gone: of([...deregistered, ...terminated, ...silent], name)
        .map((m) => m.instanceId)
        .sort(),
    });
  }
  const goneList = (await recordValues(zoneId, goneListName('leased.example.test'), 'TXT')) ?? [];
  const ours = new Set(machines.map((m) => m.instanceId));
  expect(
    decodeRegistry(goneList, 'r53dyn-local')
      .entries.filter((e) => ours.has(e.instanceId))
      .map((e) => `${e.instanceId}:${e.state}`)
      .sort(),
  ).toEqual(terminated.map((m) => `${m.instanceId}:gone`).sort());
});

/** EventBridge delivers to SQS asynchronously; wait until at least `count` messages are visible. */
async function waitForQueueDepth(queueUrl: string, count: number): Promise<void> {
  for (let waited = 0; waited < 60; waited++) {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    if (Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) >= count) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error('the EC2 state-change events did not reach the events queue within 60 s');
}
