// The r53dyn CLI against the stack deployed in LocalStack, run as a child process the way an operator runs it,
// on real dead letters and executions made by the local pipeline. Assertions read `--json` and exit codes.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand, SendMessageCommand, type Message as SqsMessage } from '@aws-sdk/client-sqs';
import { sendDeltas } from '../../handlers/adapters/sqs';
import { ATTRIBUTES, TOMBSTONE_MS } from '../../handlers/core/contract';
import { encodeOwnerEntry } from '../../handlers/core/registry';
import type { ExecutionSummary } from '../../infra/cli/executions';
import type { DeadLetterReport } from '../../infra/cli/inspect';
import type { PlanReport } from '../../infra/cli/plan';
import { release } from '../../infra/cli/queues';
import type { RedriveReport } from '../../infra/cli/redrive';
import type { StatusReport } from '../../infra/cli/status';
import { type CliRun, jsonOf, runCli } from '../helpers/cli';
import { endpoint, sfn, sqs } from '../helpers/localstack';
import { registration } from '../helpers/messages';
import {
  changeByHand,
  type DeployedStack,
  deployedStack,
  type Execution,
  type HandRecord,
  purge,
  receiveAll,
  recordValues,
  settle,
} from '../helpers/stack';

const run = Date.now().toString(36);
const web = `web-${run}.dyn.example.test`;
const app = `app-${run}.leased.example.test`;
const hand = `hand-${run}.dyn.example.test`;
/** The A record a person made by hand at `hand`: r53dyn must leave it alone. */
const handRecord: HandRecord = { name: `${hand}.`, type: 'A', values: ['192.0.2.10'] };
const outside = `x-${run}.evil.example.test`;
// instance ids are new on every run: a zone's gone list remembers instances for an hour (docs/design.md §3.4)
const instance = () => `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
const [stays, leaves, terminated, leased, handMachine] = [
  instance(),
  instance(),
  instance(),
  instance(),
  instance(),
];

let deployed: DeployedStack;
let zoneId: string;
let zoneDlqUrl: string;
const files = mkdtempSync(join(tmpdir(), 'r53dyn-cli-'));

/** What the boot script sends, sent the way it sends it. */
async function send(
  body: unknown,
  queueUrl = deployed.queueUrl,
  attributes?: Record<string, string>,
): Promise<string> {
  const out = await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
      ...(attributes === undefined
        ? {}
        : {
            MessageAttributes: Object.fromEntries(
              Object.entries(attributes).map(([k, v]) => [k, { DataType: 'Number', StringValue: v }]),
            ),
          }),
    }),
  );
  return out.MessageId ?? '';
}

const register = (record: string, instanceId: string, ipv4: string) =>
  registration({ record, instanceId, ipv4 });

function ec2Terminated(instanceId: string) {
  return {
    version: '0',
    id: randomBytes(8).toString('hex'),
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: { 'instance-id': instanceId, state: 'terminated' },
  };
}

async function settleAndStop(): Promise<Execution[]> {
  const { executions } = await settle(deployed);
  await deployed.pipeline.stop();
  return executions;
}

/**
 * Receives a queue's message again and again without deleting it, as a consumer that keeps crashing would, until
 * SQS moves it to the dead-letter queue (past maxReceiveCount) and a receive comes back empty.
 */
async function receiveUntilMoved(queueUrl: string): Promise<void> {
  for (let receives = 0; receives < 20; receives += 1) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0, WaitTimeSeconds: 1 }),
    );
    if ((out.Messages ?? []).length === 0) return;
  }
  throw new Error(`${queueUrl} kept delivering its message past 20 receives`);
}

const ids = (messages: SqsMessage[]) =>
  messages.map((m) => m.MessageAttributes?.[ATTRIBUTES.messageId]?.StringValue ?? m.MessageId ?? '');

function expectOneLineError(result: CliRun, status: number, message: string): void {
  expect({ status: result.status, stderr: result.stderr, stdout: result.stdout }).toEqual({
    status,
    stderr: `r53dyn: ${message}\n`,
    stdout: '',
  });
}

type Written = { record: string; added: string[]; removed: string[] };

/** What an execution's output says it wrote to a record (docs/design.md §8). */
const writtenIn = (execution: Execution | undefined, record: string): Written | undefined =>
  ((execution?.output as { records?: Written[] } | undefined)?.records ?? []).find(
    (r) => r.record === `${record}.`,
  );

const changesOf = (executions: Execution[], record: string) =>
  executions.filter((e) => writtenIn(e, record) !== undefined);

const sent: Record<string, string> = {};
let firstRound: Execution[] = [];
let secondRound: Execution[] = [];
const sentWindow = { from: 0, to: 0 };

beforeAll(async () => {
  deployed = await deployedStack();
  zoneId = deployed.zoneId('dyn.example.test');
  zoneDlqUrl = deployed.deployment.outputs.ZoneDeadLetterQueueUrl ?? '';
  await purgeAll();

  await bootFleet();
  firstRound = await settleAndStop();
  await leaveAndRefuse();
  secondRound = await settleAndStop();
  await deadLettersOfSqs();
});

/** Three machines on web, one on a leased name. */
async function bootFleet(): Promise<void> {
  sentWindow.from = Date.now();
  await send(register(web, stays, '54.210.1.1'));
  await send(register(web, leaves, '54.210.1.2'));
  await send(register(web, terminated, '54.210.1.3'));
  await send(register(app, leased, '54.210.2.1'));
  sentWindow.to = Date.now();
}

/** One machine deregisters, one is terminated (a tombstone and a gone-list entry); bad messages are refused. */
async function leaveAndRefuse(): Promise<void> {
  await send({ v: 1, action: 'deregister', record: web, instanceId: leaves });
  await send(ec2Terminated(terminated), deployed.eventsQueueUrl);
  // dead letters of the batcher and the planner
  await changeByHand(zoneId, [handRecord]);
  sent.notAllowed = await send(register(outside, instance(), '54.210.3.1'));
  sent.notJson = await send('{"v":1,"action":');
  sent.private = await send(register(web, instance(), '10.1.2.3'));
  sent.notManaged = await send(register(hand, handMachine, '54.210.4.1'));
  sent.stale = await send(register(web, instance(), '54.210.5.1'), deployed.queueUrl, {
    [ATTRIBUTES.sentAt]: String(Date.now() - 2 * TOMBSTONE_MS),
  });
}

/** SQS's own dead letters: a registration and a zone-queue delta received past maxReceiveCount. */
async function deadLettersOfSqs(): Promise<void> {
  sent.receiveLimit = await send({ v: 1, action: 'deregister', record: web, instanceId: instance() });
  await receiveUntilMoved(deployed.queueUrl);
  sent.deltaDeregister = `delta-${run}-1`;
  sent.deltaRegister = `delta-${run}-2`;
  const deltaSentAt = Date.now();
  await sendDeltas(sqs, deployed.zoneQueueUrl, [
    {
      v: 1,
      hostedZoneId: zoneId,
      messages: [
        {
          kind: 'deregister',
          messageId: sent.deltaDeregister,
          sentAt: deltaSentAt,
          senderId: '000000000000',
          record: `${web}.`,
          hostedZoneId: zoneId,
          instanceId: leaves,
        },
        {
          kind: 'register',
          messageId: sent.deltaRegister,
          sentAt: deltaSentAt,
          senderId: '000000000000',
          record: `${app}.`,
          hostedZoneId: deployed.zoneId('leased.example.test'),
          instanceId: instance(),
          ipv4: '54.210.6.1',
        },
      ],
    },
  ]);
  await receiveUntilMoved(deployed.zoneQueueUrl);
}

afterAll(async () => {
  await deployed.pipeline.stop();
  // what this file sent back or left over is of no use to the next test file
  await purgeAll();
});

/** Every queue of the stack emptied: nothing left by an earlier run can show up here. */
async function purgeAll(): Promise<void> {
  const { outputs } = deployed.deployment;
  const urls = [
    deployed.queueUrl,
    deployed.eventsQueueUrl,
    deployed.zoneQueueUrl,
    deployed.deadLetterQueueUrl,
  ];
  await Promise.all([...urls, outputs.ZoneDeadLetterQueueUrl ?? ''].map(purge));
}

/** Every message of a queue, left where it was (received and made visible again at once). */
async function peekAll(queueUrl: string): Promise<SqsMessage[]> {
  const messages = await receiveAll(queueUrl);
  await releaseAll(queueUrl, messages);
  return messages;
}

describe('status', () => {
  test('lists each managed record with its values, owners, tombstones and last change, and the gone list', async () => {
    // Act
    const result = await runCli(['--json', 'status']);

    // Assert
    expect(result.status).toBe(0);
    const report = jsonOf<StatusReport>(result);
    const dyn = report.zones.find((z) => z.suffix === 'dyn.example.test');
    const record = dyn?.records.find((r) => r.record === `${web}.`);
    expect(record?.values).toEqual({ A: ['54.210.1.1'], AAAA: [] });
    expect(record?.owners.map((o) => [o.instanceId, o.ipv4, o.leaseExpiresAt, o.leaseExpired])).toEqual([
      [stays, '54.210.1.1', undefined, false],
    ]);
    expect(record?.owners[0]?.sentAt).toBeGreaterThanOrEqual(sentWindow.from);
    expect(record?.owners[0]?.sentAt).toBeLessThanOrEqual(sentWindow.to);
    expect(record?.tombstones.map((t) => t.instanceId).sort()).toEqual([leaves, terminated].sort());
    for (const t of record?.tombstones ?? []) expect(t.droppedAt - t.goneAt).toBe(TOMBSTONE_MS);
    expect(dyn?.goneList.filter((g) => g.instanceId === terminated)).toHaveLength(1);
    const writers = changesOf(secondRound, web);
    expect(writers.map((e) => e.name)).toContain(record?.lastChange?.execution);
    const written = writtenIn(
      writers.find((e) => e.name === record?.lastChange?.execution),
      web,
    );
    expect(record?.lastChange).toMatchObject({ added: written?.added, removed: written?.removed });
    expect(record?.lastChange?.insyncAt).toEqual(expect.any(Number));
    expect(report.lookedBack.executions).toBeGreaterThan(0);
  });

  test('one record, with its lease from the zone rule in SSM', async () => {
    // Act
    const result = await runCli(['--json', 'status', app]);

    // Assert
    expect(result.status).toBe(0);
    const report = jsonOf<StatusReport>(result);
    expect(report.zones.map((z) => [z.suffix, z.leaseSeconds, z.records.map((r) => r.record)])).toEqual([
      ['leased.example.test', 20, [`${app}.`]],
    ]);
    const [owner] = report.zones[0]?.records[0]?.owners ?? [];
    expect(owner?.instanceId).toBe(leased);
    expect((owner?.leaseExpiresAt ?? 0) - (owner?.sentAt ?? 0)).toBe(20_000);
    expect(owner?.leaseExpired).toBe((owner?.leaseExpiresAt ?? 0) <= report.now);
    expect(report.zones[0]?.records[0]?.lastChange?.execution).toBe(changesOf(firstRound, app)[0]?.name);
  });

  test('a table on a terminal, naming the record', async () => {
    // Act
    const result = await runCli(['status', web]);

    // Assert
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`${web}  54.210.1.1\n  owner      ${stays}  54.210.1.1  sent `);
    expect(result.stdout).toContain('last changes: looked through the latest');
  });

  test('an unknown record name, or one outside every zone, is a one-line error', async () => {
    // Act
    const unknown = await runCli(['status', `nothing-${run}.dyn.example.test`]);
    const elsewhere = await runCli(['status', 'www.example.org']);

    // Assert
    expectOneLineError(
      unknown,
      1,
      `no record nothing-${run}.dyn.example.test is managed by stack r53dyn-local (owner r53dyn-local)`,
    );
    expectOneLineError(
      elsewhere,
      1,
      `www.example.org is not below a zone of stack r53dyn-local (zones: ${Object.keys(deployed.deployment.zones).sort().join(', ')})`,
    );
  });
});

describe('dlq', () => {
  test('groups the dead letters by reason code, with sender, record and age, and releases them', async () => {
    // Act
    const first = await runCli(['--json', 'dlq']);
    const again = await runCli(['--json', 'dlq']);

    // Assert
    expect(first.status).toBe(0);
    const report = jsonOf<DeadLetterReport>(first);
    const byReason = Object.fromEntries(
      report.groups.map((g) => [g.reason, g.messages.map((m) => m.messageId).sort()]),
    );
    expect(byReason).toEqual({
      'record-not-allowed': [sent.notAllowed],
      'not-json': [sent.notJson],
      'non-public-address': [sent.private],
      'not-managed': [sent.notManaged],
      stale: [sent.stale],
      'receive-limit': [sent.deltaDeregister, sent.deltaRegister, sent.receiveLimit].sort(),
    });
    const rows = report.groups.flatMap((g) => g.messages);
    const notManaged = rows.find((m) => m.messageId === sent.notManaged);
    expect(notManaged).toMatchObject({
      queue: 'dead-letter',
      action: 'register',
      record: `${hand}.`,
      instanceId: handMachine,
      // LocalStack reports the account id as every SenderId, so no dead letter shows one of the stack's roles
      sender: '000000000000',
      claimedSender: '000000000000',
      senderKept: false,
      writtenBy: '000000000000',
    });
    expect(rows.find((m) => m.messageId === sent.receiveLimit)).toMatchObject({
      queue: 'dead-letter',
      detail: 'moved by SQS from r53dyn-local-registrations after maxReceiveCount receives',
      senderKept: true,
      writtenBy: 'sqs',
    });
    expect(rows.filter((m) => m.queue === 'zone-dead-letter').map((m) => [m.messageId, m.action])).toEqual([
      [sent.deltaDeregister, 'deregister'],
      [sent.deltaRegister, 'register'],
    ]);
    expect(rows.every((m) => m.ageMs >= 0)).toBe(true);
    expect(report.seen).toBe(7);
    expect(report.approximate).toMatch(/^approximate: SQS has no peek/);
    expect(jsonOf<DeadLetterReport>(again).groups).toEqual(
      report.groups.map((g) => ({
        ...g,
        messages: g.messages.map((m) => ({ ...m, ageMs: expect.any(Number) })),
      })),
    );
  });

  test('--reason and --limit narrow the listing; the table says it is approximate', async () => {
    // Act
    const onlyStale = await runCli(['--json', 'dlq', '--reason', 'stale']);
    const limited = await runCli(['--json', 'dlq', '--limit', '2']);
    const table = await runCli(['dlq', '--reason', 'not-managed']);

    // Assert
    expect(jsonOf<DeadLetterReport>(onlyStale).groups.map((g) => [g.reason, g.count])).toEqual([
      ['stale', 1],
    ]);
    expect(jsonOf<DeadLetterReport>(limited).seen).toBe(2);
    expect(table.status).toBe(0);
    expect(table.stdout).toContain(
      `not-managed (1 message): ${'the record exists without this stack’s registry'}`,
    );
    expect(table.stdout).toContain('(approximate: SQS has no peek');
  });

  test('an unknown reason code or a bad limit is a usage error', async () => {
    // Act
    const reason = await runCli(['dlq', '--reason', 'nope']);
    const limit = await runCli(['dlq', '--limit', '0']);

    // Assert
    expect([reason.status, reason.stderr.split('\n').length]).toEqual([2, 2]);
    expect(reason.stderr).toMatch(/^r53dyn: option '--reason <code>' argument 'nope' is invalid/);
    expect([limit.status, limit.stderr.split('\n').length]).toEqual([2, 2]);
  });
});

describe('plan', () => {
  async function plan(body: unknown, ...args: string[]): Promise<{ result: CliRun; report: PlanReport }> {
    const file = join(files, `${randomBytes(4).toString('hex')}.json`);
    writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
    const result = await runCli(['--json', 'plan', file, ...args]);
    return { result, report: jsonOf<PlanReport>(result) };
  }

  test('prints the ChangeBatch a new machine would cause, compare-and-swap against the zone as it is', async () => {
    // Arrange
    const newcomer = instance();
    const sentAt = Date.now();
    const registry = (await recordValues(zoneId, `_r53dyn.${web}.`, 'TXT')) ?? [];

    // Act
    const { result, report } = await plan(register(web, newcomer, '54.210.9.9'), '--sent-at', String(sentAt));

    // Assert
    expect(result.status).toBe(0);
    expect(report.deadLetter).toBeUndefined();
    expect(report.records).toEqual([{ record: `${web}.`, added: ['54.210.9.9'], removed: [] }]);
    const changes = report.changeBatches.flatMap((b) => b.Changes);
    const txt = (action: string) =>
      changes
        .find((c) => c.Action === action && c.ResourceRecordSet.Type === 'TXT')
        ?.ResourceRecordSet.ResourceRecords?.map((r) => r.Value)
        .sort();
    expect(changes.filter((c) => c.ResourceRecordSet.Type === 'A')).toEqual([
      {
        Action: 'DELETE',
        ResourceRecordSet: {
          Name: `${web}.`,
          Type: 'A',
          TTL: 60,
          ResourceRecords: [{ Value: '54.210.1.1' }],
        },
      },
      {
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: `${web}.`,
          Type: 'A',
          TTL: 60,
          ResourceRecords: [{ Value: '54.210.1.1' }, { Value: '54.210.9.9' }],
        },
      },
    ]);
    expect(txt('DELETE')).toEqual(registry);
    const added = encodeOwnerEntry('r53dyn-local', {
      instanceId: newcomer,
      ipv4: '54.210.9.9',
      t: sentAt,
      state: 'up',
    });
    expect(txt('CREATE')).toEqual([...registry, added].sort());
    expect(await recordValues(zoneId, `${web}.`, 'A')).toEqual(['54.210.1.1']);
  });

  test('a heartbeat that changes nothing plans no write', async () => {
    // Act
    const { result, report } = await plan({ ...register(web, stays, '54.210.1.1'), action: 'heartbeat' });

    // Assert
    expect([result.status, report.changeBatches, report.deadLetter]).toEqual([0, [], undefined]);
  });

  test('says what a refused message would be dead-lettered with, and exits 1', async () => {
    // Act
    const notAllowed = await plan(register(outside, instance(), '54.210.3.1'));
    const notManaged = await plan(register(hand, instance(), '54.210.4.2'));
    const stale = await plan(
      register(web, instance(), '54.210.5.2'),
      '--sent-at',
      new Date(Date.now() - 2 * TOMBSTONE_MS).toISOString(),
    );
    const notJson = await plan('{"v":1,');

    // Assert
    expect(
      [notAllowed, notManaged, stale, notJson].map(({ result, report }) => [
        result.status,
        report.deadLetter?.code,
      ]),
    ).toEqual([
      [1, 'record-not-allowed'],
      [1, 'not-managed'],
      [1, 'stale'],
      [1, 'not-json'],
    ]);
    expect(notManaged.report.deadLetter?.reason).toBe(
      `not-managed: ${hand}. has an A record and no r53dyn registry`,
    );
  });

  test('a message file that cannot be read is a usage error', async () => {
    // Act
    const result = await runCli(['plan', join(files, 'missing.json')]);

    // Assert
    expectOneLineError(result, 2, `cannot read message file ${join(files, 'missing.json')}: no such file`);
  });
});

describe('executions', () => {
  test('lists recent executions newest first with their outcome', async () => {
    // Act
    const result = await runCli(['--json', 'executions', '--limit', '50']);

    // Assert
    expect(result.status).toBe(0);
    const listed = jsonOf<ExecutionSummary[]>(result);
    const starts = listed.map((e) => e.startedAt);
    expect(starts).toEqual([...starts].sort((a, b) => b - a));
    const mine = changesOf(firstRound, app)[0];
    const shown = listed.find((e) => e.name === mine?.name);
    expect(shown?.status).toBe('SUCCEEDED');
    expect(shown?.outcome).toMatch(
      new RegExp(`^INSYNC, \\d+ changes?: .*${app.replace(/\./g, '\\.')} \\+54\\.210\\.2\\.1`),
    );
  });

  test('--failed shows a failed execution with its error and cause', async () => {
    // Arrange: a round for a zone that has no allowlist entry in SSM fails SettingsUnavailable (docs/design.md §8.3)
    const started = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deployed.stateMachineArn,
        name: `cli-${run}`,
        input: JSON.stringify({
          hostedZoneId: 'NOSUCHZONE',
          zone: {
            hostedZoneId: 'NOSUCHZONE',
            suffix: 'nowhere.test',
            ttl: 60,
            maxValuesPerRecord: 1,
            slotTypes: { A: ['A'], AAAA: [] },
          },
          parts: [],
          release: { delete: [], later: [] },
          summary: { round: 'cli test', messages: 0, applied: 0, secondsSentToPlan: 0, records: [] },
        }),
      }),
    );
    for (;;) {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
      if (d.status !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 500));
    }

    // Act
    const result = await runCli(['--json', 'executions', '--failed', '--limit', '1']);

    // Assert
    expect(result.status).toBe(0);
    const [failed] = jsonOf<ExecutionSummary[]>(result);
    expect([failed?.name, failed?.status]).toEqual([`cli-${run}`, 'FAILED']);
    expect(failed?.error).toBe('SettingsUnavailable');
    expect(failed?.outcome).toBe(`${failed?.error}: ${(failed?.cause ?? '').replace(/\s+/g, ' ')}`);
    expect(failed?.cause).toContain('/r53dyn/local/zones/NOSUCHZONE');
  });
});

describe('redrive', () => {
  test('without --yes it only says what would go back', async () => {
    // Act
    const result = await runCli(['--json', 'redrive', '--reason', 'record-not-allowed']);

    // Assert
    expect(result.status).toBe(0);
    const report = jsonOf<RedriveReport>(result);
    expect([report.dryRun, report.redriven.map((m) => m.messageId), report.notRedriven]).toEqual([
      true,
      [sent.notAllowed],
      [],
    ]);
    expect(ids(await peekAll(deployed.deadLetterQueueUrl))).toContain(sent.notAllowed);
  });

  test('once the cause is fixed, sends a dead letter back with its envelope, and the pipeline applies it', async () => {
    // Arrange: the hand-made record goes, so the name is free for r53dyn
    await changeByHand(zoneId, [handRecord], 'DELETE');
    const listed = jsonOf<DeadLetterReport>(await runCli(['--json', 'dlq', '--reason', 'not-managed']));
    const original = listed.groups[0]?.messages[0];

    // Act
    const result = await runCli(['--json', 'redrive', '--reason', 'not-managed', '--yes']);

    // Assert
    expect(result.status).toBe(0);
    const report = jsonOf<RedriveReport>(result);
    expect(report.redriven).toEqual([
      {
        messageId: sent.notManaged,
        queue: 'dead-letter',
        action: 'register',
        record: `${hand}.`,
        senderKept: false,
        writtenBy: '000000000000',
      },
    ]);
    expect(result.stderr).toContain('redrive: sent 1/1');
    const copies = await receiveAll(deployed.queueUrl);
    expect(copies.map((m) => [m.Body, m.MessageAttributes])).toEqual([
      [
        JSON.stringify(register(`${hand}.`, handMachine, '54.210.4.1')),
        {
          [ATTRIBUTES.messageId]: { DataType: 'String', StringValue: sent.notManaged },
          [ATTRIBUTES.sentAt]: { DataType: 'Number', StringValue: String(original?.sentAt) },
          [ATTRIBUTES.senderId]: { DataType: 'String', StringValue: '000000000000' },
        },
      ],
    ]);
    expect(ids(await peekAll(deployed.deadLetterQueueUrl))).not.toContain(sent.notManaged);
    await releaseAll(deployed.queueUrl, copies);
    await settleAndStop();
    expect(await recordValues(zoneId, `${hand}.`, 'A')).toEqual(['54.210.4.1']);
  });

  test('a registration older than the tombstone horizon stays, with why', async () => {
    // Act
    const result = await runCli(['--json', 'redrive', '--reason', 'stale', '--yes']);

    // Assert
    expect(result.status).toBe(0);
    const report = jsonOf<RedriveReport>(result);
    expect([report.redriven, report.notRedriven]).toEqual([
      [],
      [
        {
          messageId: sent.stale,
          queue: 'dead-letter',
          why: "sent before the tombstone horizon: not redriven; the machine's next heartbeat restores it",
        },
      ],
    ]);
    expect(ids(await peekAll(deployed.deadLetterQueueUrl))).toContain(sent.stale);
  });

  test("SQS's own dead letters go back with their original envelope, deltas as their registrations", async () => {
    // Act
    const result = await runCli(['--json', 'redrive', '--reason', 'receive-limit', '--yes']);

    // Assert
    expect(result.status).toBe(0);
    const report = jsonOf<RedriveReport>(result);
    expect(report.redriven.map((m) => [m.messageId, m.queue, m.senderKept, m.writtenBy])).toEqual([
      [sent.receiveLimit, 'dead-letter', true, 'sqs'],
      [sent.deltaDeregister, 'zone-dead-letter', true, 'sqs'],
      [sent.deltaRegister, 'zone-dead-letter', true, 'sqs'],
    ]);
    const copies = await receiveAll(deployed.queueUrl);
    expect(ids(copies).sort()).toEqual([sent.receiveLimit, sent.deltaDeregister, sent.deltaRegister].sort());
    expect(copies.find((m) => ids([m])[0] === sent.deltaDeregister)?.Body).toBe(
      JSON.stringify({ v: 1, action: 'deregister', record: `${web}.`, instanceId: leaves }),
    );
    expect(await peekAll(zoneDlqUrl)).toEqual([]);
    await releaseAll(deployed.queueUrl, copies);
    await settleAndStop();
  });

  test('interrupted midway, nothing is lost: every message is in the dead-letter queue or sent back', async () => {
    // Arrange: six dead letters of one kind
    const names = Array.from({ length: 6 }, (_, n) => `y${n}-${run}.evil.example.test`);
    const mine = await Promise.all(names.map((name) => send(register(name, instance(), '54.210.7.1'))));
    await settleAndStop();

    // Act: the process dies right after its third copy is sent, before that dead letter is deleted
    const killed = await runCli(['--json', 'redrive', '--id', ...mine, '--yes'], {
      env: { R53DYN_CLI_CRASH_AFTER_SENDS: '3' },
    });

    // Assert
    expect([killed.status, killed.signal]).toEqual([null, 'SIGKILL']);
    const sentBack = ids(await receiveAll(deployed.queueUrl));
    const left = await waitForDeadLetters(mine, 4);
    expect(sentBack).toHaveLength(3);
    expect(left).toHaveLength(4);
    expect(new Set([...sentBack, ...left])).toEqual(new Set(mine));
    expect(sentBack.filter((id) => left.includes(id))).toHaveLength(1);

    // Act: run again to the end
    const finished = await runCli(['--json', 'redrive', '--id', ...mine, '--yes']);

    // Assert
    expect(finished.status).toBe(0);
    expect(
      jsonOf<RedriveReport>(finished)
        .redriven.map((m) => m.messageId)
        .sort(),
    ).toEqual([...left].sort());
    expect(ids(await peekAll(deployed.deadLetterQueueUrl)).filter((id) => mine.includes(id))).toEqual([]);
  });
});

describe('errors and help', () => {
  test('a stage without a stack, and missing credentials, are one-line errors', async () => {
    // Act
    const noStack = await runCli(
      ['--endpoint-url', endpoint, '--region', 'us-east-1', '--stage', 'nope', 'status'],
      {
        stack: false,
      },
    );
    const noCredentials = await runCli(['--profile', 'nope', 'dlq'], {
      env: { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
    });

    // Assert
    expectOneLineError(
      noStack,
      1,
      'no r53dyn stack for stage nope in region us-east-1: deploy it or pass --stage',
    );
    expect([noCredentials.status, noCredentials.stdout, noCredentials.stderr.split('\n').length]).toEqual([
      1,
      '',
      2,
    ]);
    expect(noCredentials.stderr).toMatch(
      /^r53dyn: no AWS credentials \(profile nope\): .*; pass --profile or set AWS_PROFILE\n$/,
    );
  });

  test('--help documents the commands and exit codes; an unknown command is a usage error', async () => {
    // Act
    const help = await runCli(['--help'], { stack: false });
    const redriveHelp = await runCli(['redrive', '--help'], { stack: false });
    const unknown = await runCli(['frobnicate'], { stack: false });

    // Assert
    expect(help.status).toBe(0);
    for (const command of ['status', 'dlq', 'redrive', 'plan', 'executions'])
      expect(help.stdout).toContain(`  ${command} `);
    expect(help.stdout).toContain('Exit codes:\n  0  ok\n  1  failed');
    expect(redriveHelp.stdout).toContain('--yes');
    expect(redriveHelp.stdout).toContain('approximate');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe("r53dyn: unknown command 'frobnicate' (see r53dyn --help)\n");
  });
});

async function releaseAll(queueUrl: string, messages: SqsMessage[]): Promise<void> {
  await release(
    sqs,
    queueUrl,
    messages.map((m) => m.ReceiptHandle ?? ''),
  );
}

/** The dead letters among `wanted` once `expected` of them are visible again (a killed redrive held them). */
async function waitForDeadLetters(wanted: string[], expected: number): Promise<string[]> {
  for (let waited = 0; waited < 90; waited += 1) {
    const messages = await peekAll(deployed.deadLetterQueueUrl);
    const found = ids(messages).filter((id) => wanted.includes(id));
    if (found.length >= expected) return found;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return [];
}
