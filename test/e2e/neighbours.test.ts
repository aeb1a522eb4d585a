// A neighbour's trouble is not yours (docs/design.md §4.2, §4.5, §5.2, §7.2), end to end on LocalStack: a full
// record refuses only its newcomers; the registry drops its oldest tombstones rather than the record; a name
// Route 53 would refuse is left alone with only its own messages dead-lettered; a record that becomes
// unwritable between read and write fails alone; events are believed only from the events queue; and a flood of
// 5000 machines on one name neither changes who is served nor holds up the other names.

import { Logger } from '@aws-lambda-powertools/logger';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DeleteMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { processBatch } from '../../handlers/batcher';
import { ATTRIBUTES } from '../../handlers/core/contract';
import { registryCapacity } from '../../handlers/core/limits';
import { processDeltas } from '../../handlers/planner';
import { readBatcherSettings, readPlannerSettings } from '../../handlers/settings';
import { type Action, body, exactProblems, fleet, type Machine, sendAll, served } from '../helpers/fleet';
import { sqs } from '../helpers/localstack';
import {
  allowlistZone,
  changeByHand,
  type DeployedStack,
  deployedStack,
  executionArns,
  receiveMatching,
  recordValues,
  settle,
  takeDeadLetters,
} from '../helpers/stack';

const run = Date.now().toString(36);
const SUFFIX = 'dyn.example.test';
const OWNER = 'r53dyn-local';
const LIMIT = 40; // maxValuesPerRecord of dyn.example.test in infra/stages/local.yml
let deployed: DeployedStack;
let zoneId: string;
const logger = new Logger({ serviceName: 'r53dyn', logLevel: 'ERROR' });

beforeAll(async () => {
  deployed = await deployedStack();
  zoneId = deployed.zoneId(SUFFIX);
});

/** Every machine sends one message of `action`, all at once. */
const sendAs = (action: Action, machines: Machine[]) =>
  sendAll(
    sqs,
    deployed.queueUrl,
    machines.map((m) => body(action, m)),
  );

afterAll(() => deployed.pipeline.stop());

/** Sends one message after another, so that their SentTimestamps follow the order given. */
async function sendInOrder(bodies: string[], queueUrl = deployed.queueUrl): Promise<void> {
  for (const MessageBody of bodies) {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody }));
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The dead letters about these machines since the last call: `<instance id> <reason code>`, sorted. */
async function deadLettersOf(machines: Machine[], prefix: string): Promise<string[]> {
  const ids = new Set(machines.map((m) => m.instanceId));
  return (await takeDeadLetters(deployed, prefix))
    .map((m) => {
      const instanceId = (JSON.parse(m.Body ?? '{}') as { instanceId?: string }).instanceId ?? '?';
      const code = m.MessageAttributes?.[ATTRIBUTES.reason]?.StringValue?.split(':')[0];
      return ids.has(instanceId) ? `${instanceId} ${code}` : `stranger ${instanceId} ${code}`;
    })
    .sort();
}

const lettered = (machines: Machine[], code: string) => machines.map((m) => `${m.instanceId} ${code}`).sort();

test('a full record: machines already served keep their place, newcomers by earliest sent time, only the excess dead-lettered; deregistrations free room', async () => {
  // Arrange: 55 machines for one name whose limit is 40, sent one after the other
  const prefix = `full-${run}`;
  const machines = fleet(prefix, SUFFIX, 55, 1);
  const first = machines.slice(0, LIMIT);
  const excess = machines.slice(LIMIT);

  // Act 1: the boot
  await sendInOrder(machines.map((m) => body('register', m)));
  await settle(deployed);

  // Assert 1
  expect(await exactProblems(zoneId, OWNER, first, [])).toEqual([]);
  expect(await deadLettersOf(machines, prefix)).toEqual(lettered(excess, 'too-many-values'));

  // Act 2: a heartbeat round of everyone, the excess first
  await sendInOrder([...excess, ...first].map((m) => body('heartbeat', m)));
  await settle(deployed);

  // Assert 2: heartbeats of members never push each other out; the excess is refused again
  expect(await exactProblems(zoneId, OWNER, first, [])).toEqual([]);
  expect(await deadLettersOf(machines, prefix)).toEqual(lettered(excess, 'too-many-values'));

  // Act 3: five served machines leave; the excess heartbeats again
  const leaving = first.slice(0, 5);
  await sendInOrder(leaving.map((m) => body('deregister', m)));
  await sendInOrder(excess.map((m) => body('heartbeat', m)));
  await settle(deployed);

  // Assert 3: the five freed places go to the five earliest-sent of the excess; deregistrations always apply
  const admitted = excess.slice(0, 5);
  expect(await exactProblems(zoneId, OWNER, [...first.slice(5), ...admitted], leaving)).toEqual([]);
  expect(await deadLettersOf(machines, prefix)).toEqual(lettered(excess.slice(5), 'too-many-values'));
});

test('a registry that churns keeps every live entry and drops its oldest tombstones, never the record', async () => {
  // Arrange: waves of machines that register, then leave, until the tombstones outgrow the registry's budget
  const prefix = `churn-${run}`;
  const capacity = registryCapacity(allowlistZone(deployed, SUFFIX), OWNER);
  const waves = Math.ceil((capacity - LIMIT) / LIMIT) + 2;
  const gone: Machine[] = [];
  for (let wave = 0; wave < waves; wave += 1) {
    const machines = fleet(prefix, SUFFIX, LIMIT, 1, wave * LIMIT);
    await sendAs('register', machines);
    await settle(deployed);
    await sendAs('deregister', machines);
    await settle(deployed);
    gone.push(...machines);
  }
  const live = fleet(prefix, SUFFIX, LIMIT, 1, waves * LIMIT);

  // Act
  await sendAs('register', live);
  await settle(deployed);

  // Assert: all live machines served; the registry full to its budget, the last waves' tombstones kept and the
  // first waves' dropped, nothing refused
  const now = await served(zoneId, `${prefix}-0.${SUFFIX}`, OWNER);
  expect(now.values).toEqual([...new Set(live.map((m) => m.ipv4))].sort());
  expect(
    now.entries
      .filter((e) => e.state === 'up')
      .map((e) => e.instanceId)
      .sort(),
  ).toEqual(live.map((m) => m.instanceId).sort());
  const kept = new Set(now.entries.filter((e) => e.state === 'gone').map((e) => e.instanceId));
  expect(kept.size).toBe(capacity - LIMIT);
  expect(gone.slice(-LIMIT).filter((m) => !kept.has(m.instanceId))).toEqual([]);
  expect(gone.slice(0, gone.length - 2 * LIMIT).filter((m) => kept.has(m.instanceId))).toEqual([]);
  expect(await deadLettersOf([...gone, ...live], prefix)).toEqual([]);
});

test('names Route 53 would refuse are left alone: only their messages are dead-lettered, the rest of the batch is written', async () => {
  // Arrange: a CNAME at one name's registry name, a delegation at another name, and two healthy names
  const prefix = `conflict-${run}`;
  const [cnamed, delegated, healthy1, healthy2] = [0, 1, 2, 3].map((n) => `${prefix}-${n}.${SUFFIX}`) as [
    string,
    string,
    string,
    string,
  ];
  await changeByHand(zoneId, [
    { name: `_r53dyn.${cnamed}.`, type: 'CNAME', values: ['elsewhere.example.org.'] },
    { name: `${delegated}.`, type: 'NS', values: ['ns1.example.org.'] },
  ]);
  const machines = [cnamed, delegated, healthy1, healthy2].flatMap((record, n) =>
    fleet(`${prefix}-m${n}`, SUFFIX, 3, 1).map((m) => ({ ...m, record })),
  );

  // Act: one batch for all four names
  await sendAs('register', machines);
  await settle(deployed);

  // Assert
  const on = (record: string) => machines.filter((m) => m.record === record);
  expect(await exactProblems(zoneId, OWNER, [...on(healthy1), ...on(healthy2)], [])).toEqual([]);
  expect(await recordValues(zoneId, `${cnamed}.`, 'A')).toBeUndefined();
  expect(await recordValues(zoneId, `${delegated}.`, 'A')).toBeUndefined();
  expect(await deadLettersOf(machines, prefix)).toEqual(
    lettered([...on(cnamed), ...on(delegated)], 'name-conflict'),
  );
});

test('a record that becomes unwritable between the read and the write fails alone: the other records of its ChangeBatch are written next round', async () => {
  // Arrange: two new names in one round; someone makes one of them a CNAME right after the planner read
  await deployed.pipeline.stop();
  const prefix = `race-${run}`;
  const spoiled = `${prefix}-0.${SUFFIX}`;
  const fine = `${prefix}-1.${SUFFIX}`;
  const machines = fleet(prefix, SUFFIX, 4, 2);
  await sendAs('register', machines);
  const registrations = await receiveMatching(
    deployed,
    deployed.queueUrl,
    (b) => b.includes(prefix),
    machines.length,
  );
  await processBatch(registrations, {
    settings: readBatcherSettings(process.env),
    sqs: new SQSClient({}),
    logger,
    now: Date.now,
  });
  await deleteAll(deployed.queueUrl, registrations);
  const deltas = await receiveMatching(deployed, deployed.zoneQueueUrl, (b) => b.includes(prefix));
  // the CNAME appears once the planner has read everything and is about to start its execution
  const realSfn = new SFNClient({});
  const spoiling = {
    send: async (command: Parameters<SFNClient['send']>[0]) => {
      await changeByHand(zoneId, [
        { name: `${spoiled}.`, type: 'CNAME', values: ['elsewhere.example.org.'] },
      ]);
      return realSfn.send(command);
    },
  } as unknown as SFNClient;
  const before = await executionArns(deployed);

  // Act: the planner's round, spoiled before its execution starts, then the pipeline
  await processDeltas(deltas, {
    settings: readPlannerSettings(process.env),
    route53: new Route53Client({}),
    sfn: spoiling,
    sqs: new SQSClient({}),
    logger,
    now: Date.now,
  });
  const { executions } = await settle(deployed, before);

  // Assert: the ChangeBatch of both failed; the next round left the spoiled name alone and wrote the other
  expect(executions.map((e) => [e.name.slice(-3), e.status, e.error]).sort()).toEqual([
    ['-r1', 'FAILED', 'PartsFailed'],
    ['-r2', 'SUCCEEDED', undefined],
  ]);
  expect(
    await exactProblems(
      zoneId,
      OWNER,
      machines.filter((m) => m.record === fine),
      [],
    ),
  ).toEqual([]);
  expect(await deadLettersOf(machines, prefix)).toEqual(
    lettered(
      machines.filter((m) => m.record === spoiled),
      'name-conflict',
    ),
  );
});

async function deleteAll(queueUrl: string, event: SQSEvent): Promise<void> {
  for (const record of event.Records) {
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle }));
  }
}

test('EC2 events and sweeps are believed from the events queue only', async () => {
  // Arrange: a served machine; a forged termination event for it on the registrations queue
  const prefix = `events-${run}`;
  const [machine] = fleet(prefix, SUFFIX, 1, 1) as [Machine];
  await sendInOrder([body('register', machine)]);
  await settle(deployed);
  const event = JSON.stringify({
    source: 'aws.ec2',
    'detail-type': 'EC2 Instance State-change Notification',
    detail: { 'instance-id': machine.instanceId, state: 'terminated' },
  });

  // Act 1: the forged event through the registrations queue
  await sendInOrder([event]);
  await settle(deployed);
  const afterForgery = await recordValues(zoneId, `${machine.record}.`, 'A');
  const forgeryLetters = await takeDeadLetters(deployed, machine.instanceId);

  // Act 2: the same event as the stack's rule delivers it, through the events queue
  await sendInOrder([event], deployed.eventsQueueUrl);
  await settle(deployed);

  // Assert
  expect(afterForgery).toEqual([machine.ipv4]);
  expect(
    forgeryLetters.map((m) => m.MessageAttributes?.[ATTRIBUTES.reason]?.StringValue?.split(':')[0]),
  ).toEqual(['event-not-trusted']);
  expect(await exactProblems(zoneId, OWNER, [], [machine])).toEqual([]);
});

test('a flood of 5000 machines on one name: the same 40 served before and after a heartbeat round, the other names written in the same rounds', async () => {
  // Arrange: the first 40 sent strictly before the others; a few other names in the same storm
  const prefix = `flood-${run}`;
  const flood = fleet(prefix, SUFFIX, 5000, 1);
  const others = fleet(`${prefix}x`, SUFFIX, 60, 6);
  const first = flood.slice(0, LIMIT);
  await sendInOrder(first.map((m) => body('register', m)));
  const before = await executionArns(deployed);

  // Act 1
  await sendAs('register', [...flood.slice(LIMIT), ...others]);
  const storm = await settle(deployed, before);
  const servedAfterStorm = await served(zoneId, `${prefix}-0.${SUFFIX}`, OWNER);
  const stormLetters = await deadLettersOf([...flood, ...others], prefix);

  // Act 2: everyone heartbeats once
  await sendAs('heartbeat', [...flood, ...others]);
  await settle(deployed);
  const heartbeatLetters = await deadLettersOf([...flood, ...others], prefix);

  // Assert
  expect(servedAfterStorm.values).toEqual([...new Set(first.map((m) => m.ipv4))].sort());
  expect(await exactProblems(zoneId, OWNER, [...first, ...others], [])).toEqual([]);
  expect(storm.executions.every((e) => e.status === 'SUCCEEDED')).toBe(true);
  expect(stormLetters).toEqual(lettered(flood.slice(LIMIT), 'too-many-values'));
  expect(heartbeatLetters).toEqual(lettered(flood.slice(LIMIT), 'too-many-values'));
});
