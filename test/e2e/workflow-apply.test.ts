// Rounds the real planner plans, written by the workflow (docs/design.md §8): every record of the round exactly
// as its entries say (A, AAAA and the registry TXT of §3.3) across several ChangeBatches, compare-and-swap
// against what the previous round wrote, the round's deltas deleted once written (the zone is free again, §4.4)
// or made visible at once when the input budget left records for the next round, and a summary an operator can
// read in the console.
import type { Message, Registration } from '../../handlers/core/model';
import {
  createWorkflowFixture,
  deltaStates,
  type FinishedExecution,
  instanceGone,
  instanceId,
  type PlannedRound,
  planTestRound,
  publicIpv4s,
  recordsBelow,
  registration,
  registrations,
  runExecution,
  TEST_OWNER_ID,
  type TestZone,
  taskCalls,
  type WorkflowFixture,
} from '../helpers/workflow';

jest.setTimeout(300_000);

let fixture: WorkflowFixture;

beforeAll(async () => {
  fixture = await createWorkflowFixture('r53dyn-test-workflow-apply');
});

afterAll(() => fixture.cleanUp());

const names = (count: number) => Array.from({ length: count }, (_, n) => `r${String(n).padStart(2, '0')}`);

/** What Route 53 must hold for these registrations, written independently of the planner: docs/design.md §3.3. */
function expectedRecords(messages: Registration[], gone: Map<string, number> = new Map()) {
  const records: Record<string, string[]> = {};
  const add = (key: string, value: string) => {
    records[key] = [...(records[key] ?? []), value].sort();
  };
  for (const m of messages) {
    const t = gone.get(m.instanceId);
    const entry =
      t === undefined
        ? `i=${m.instanceId}${m.ipv4 ? `;4=${m.ipv4}` : ''}${m.ipv6 ? `;6=${m.ipv6}` : ''};t=${m.sentAt};s=up`
        : `i=${m.instanceId};t=${t};s=gone`;
    add(`_r53dyn.${m.record} TXT`, `"r53dyn=1;o=${TEST_OWNER_ID};${entry}"`);
    if (t !== undefined) continue;
    if (m.ipv4) add(`${m.record} A`, m.ipv4);
    if (m.ipv6) add(`${m.record} AAAA`, m.ipv6);
  }
  return records;
}

const CHANGE_ID = /^C[A-Z0-9]{13}$/;

describe('a round of 24 records over three ChangeBatches', () => {
  let zone: TestZone;
  let first: { round: PlannedRound; messages: Registration[]; execution: FinishedExecution };

  beforeAll(async () => {
    zone = await fixture.createZone();
    // 30 machines per record, every third with an IPv6 address too: 3 ChangeBatches by Route 53's limits
    const messages = names(24).flatMap((name, r) =>
      publicIpv4s(30, r * 30).map((ipv4, i) =>
        registration(
          zone,
          name,
          r * 30 + i + 1,
          i % 3 === 0 ? { ipv4, ipv6: `2600:1f18::${r}:${i}` } : { ipv4 },
        ),
      ),
    );
    const round = await planTestRound(fixture, zone, messages);
    first = { round, messages, execution: await runExecution(fixture, round.input) };
  });

  it('is planned as three parts, each sent to Route 53 as one ChangeBatch', () => {
    const { round, execution } = first;

    expect(round.input.parts.map((part) => part.records.length)).toEqual([10, 10, 4]);
    expect(taskCalls(execution.history, 'route53:changeResourceRecordSets')).toEqual(
      round.input.parts.map((part, n) => ({
        parameters: {
          HostedZoneId: zone.zoneId,
          ChangeBatch: { Comment: `r53dyn part ${n}`, Changes: part.records.flatMap((r) => r.slots.flat()) },
        },
        output: { ChangeInfo: expect.objectContaining({ Id: expect.stringMatching(/^\/change\/C/) }) },
      })),
    );
  });

  it('writes every record exactly: A, AAAA and the registry TXT, nothing else', async () => {
    expect(first.execution.status).toBe('SUCCEEDED');
    expect(await recordsBelow(zone)).toEqual(expectedRecords(first.messages));
  });

  it('deletes the round’s deltas, which frees the zone', async () => {
    const { round, execution } = first;

    expect(taskCalls(execution.history, 'sqs:deleteMessageBatch')).toEqual([
      {
        parameters: { QueueUrl: fixture.queueUrl, Entries: round.input.release.delete },
        output: { Successful: [{ Id: 'd0' }], Failed: [] },
      },
    ]);
    expect(await deltaStates(fixture, round)).toEqual(['deleted']);
  });

  it('ends with a summary an operator can read: what each record gained and lost, the changes, the polls', () => {
    const { round, messages, execution } = first;
    const output = execution.output as { changeIds: string[]; records: unknown[] };
    const added = (name: string) =>
      messages
        .filter((m) => m.record === `${name}.${zone.suffix}.`)
        .flatMap((m) => [m.ipv4 ?? [], m.ipv6 ?? []].flat())
        .sort();

    expect(output).toEqual({
      hostedZoneId: zone.zoneId,
      round: `receive 1 of 1 delta(s) from ${round.deltas[0]?.messageId}`,
      messages: 720,
      changeIds: [
        expect.stringMatching(CHANGE_ID),
        expect.stringMatching(CHANGE_ID),
        expect.stringMatching(CHANGE_ID),
      ],
      status: 'INSYNC',
      records: names(24).map((name) => ({
        record: `${name}.${zone.suffix}.`,
        added: added(name),
        removed: [],
      })),
      polls: 1,
      secondsWaited: 1,
    });
    expect(new Set(output.changeIds).size).toBe(3);
  });

  it('then rewrites only what changed, compare-and-swap, gone machines and the zone’s gone list included', async () => {
    // Arrange: in r00 machine 1 leaves and a newcomer joins; machine 31 of r01 stops (an EC2 event)
    const newcomer = registration(zone, 'r00', 9001, { ipv4: '52.95.9.1' });
    const leaving = registration(zone, 'r00', 1, {}, 'deregister');
    const stopped = instanceGone(31);
    const round = await planTestRound(fixture, zone, [newcomer, leaving, stopped] as Message[]);

    // Act
    const execution = await runExecution(fixture, round.input);

    // Assert
    expect(execution.status).toBe('SUCCEEDED');
    expect(round.input.parts.flatMap((p) => p.records.map((r) => r.name))).toEqual([
      '_r53dyn-gone',
      'r00',
      'r01',
    ]);
    const gone = new Map([
      [instanceId(1), leaving.sentAt],
      [instanceId(31), stopped.sentAt],
    ]);
    expect(await recordsBelow(zone)).toEqual({
      ...expectedRecords([...first.messages, newcomer], gone),
      [`_r53dyn._r53dyn-gone.${zone.suffix}. TXT`]: [
        `"r53dyn=1;o=${TEST_OWNER_ID};i=${instanceId(31)};t=${stopped.sentAt};s=gone"`,
      ],
    });
    expect((execution.output as { records: unknown[] }).records).toEqual([
      { record: `_r53dyn-gone.${zone.suffix}.`, added: [], removed: [] },
      { record: `r00.${zone.suffix}.`, added: ['52.95.9.1'], removed: ['2600:1f18::0:0', '52.94.0.1'] },
      { record: `r01.${zone.suffix}.`, added: [], removed: ['2600:1f18::1:0', '52.94.0.31'] },
    ]);
    expect(await deltaStates(fixture, round)).toEqual(['deleted']);
  });
});

describe('a round the input budget cuts short', () => {
  let zone: TestZone;
  let messages: Registration[];
  let first: { round: PlannedRound; execution: FinishedExecution; deltas: string[] };

  beforeAll(async () => {
    zone = await fixture.createZone();
    // 20 records of 100 machines: 5 parts of 3 fill the 256 KiB input budget (docs/design.md §5.3)
    messages = names(20).flatMap((name, r) =>
      registrations(zone, name, publicIpv4s(100, r * 100), r * 100 + 1),
    );
    const round = await planTestRound(fixture, zone, messages);
    const execution = await runExecution(fixture, round.input);
    first = { round, execution, deltas: await deltaStates(fixture, round) };
  });

  it('writes the parts it carries and deletes its deltas: the records it leaves out travel in a carry-over', async () => {
    const { round, execution, deltas } = first;
    const carried = names(15);

    expect(round.plan.deferred).toBe(5);
    expect(new Set(round.plan.carryOver.map((m) => (m as Registration).record))).toEqual(
      new Set(
        names(20)
          .slice(15)
          .map((name) => `${name}.${zone.suffix}.`),
      ),
    );
    expect(execution.status).toBe('SUCCEEDED');
    expect(taskCalls(execution.history, 'sqs:deleteMessageBatch')).toEqual([
      {
        parameters: { QueueUrl: fixture.queueUrl, Entries: round.input.release.delete },
        output: { Successful: round.deltas.map((_, n) => ({ Id: `d${n}` })), Failed: [] },
      },
    ]);
    expect(deltas).toEqual(round.deltas.map(() => 'deleted'));
    expect(await recordsBelow(zone)).toEqual(
      expectedRecords(messages.filter((m) => carried.some((name) => m.record === `${name}.${zone.suffix}.`))),
    );
  });

  it('leaves the rest to the round of its carry-over, which writes it', async () => {
    // Act: the planner sends the carry-over as deltas of their own; the next round receives and writes them
    const round = await planTestRound(fixture, zone, first.round.plan.carryOver);
    const execution = await runExecution(fixture, round.input);

    // Assert
    expect(round.deltas.map((d) => d.receiveCount)).toEqual(round.deltas.map(() => 1));
    expect(round.plan.carryOver).toEqual([]);
    expect(round.input.parts.flatMap((p) => p.records.map((r) => r.name))).toEqual(names(20).slice(15));
    expect(execution.status).toBe('SUCCEEDED');
    expect(await recordsBelow(zone)).toEqual(expectedRecords(messages));
    expect(await deltaStates(fixture, round)).toEqual(round.deltas.map(() => 'deleted'));
  });
});
