// Waiting for INSYNC, unmocked (docs/design.md §8.4). LocalStack's Route 53 answers INSYNC at once; the start hook
// infra/local/hooks/route53-preconditions.py gives every change its own id and, in a zone named pending<N>.…,
// answers PENDING to its first N polls. So the real workflow runs its PENDING path end to end: the wait doubles
// up to its cap, the round ends NotInSync past its bound, and an execution's state transitions (what Step
// Functions bills, and what a boot storm multiplies) stay a fixed number plus one per record and per part, plus
// a few per poll, whatever the number of values.
import type { Message } from '../../handlers/core/model';
import {
  createWorkflowFixture,
  deltaStates,
  FAST_SETTINGS,
  type FinishedExecution,
  insyncWaits,
  type PlannedRound,
  planTestRound,
  publicIpv4s,
  recordsBelow,
  registrations,
  runExecution,
  statesEntered,
  type TestZone,
  taskCalls,
  transitions,
  type WorkflowFixture,
  type ZoneOptions,
} from '../helpers/workflow';

jest.setTimeout(300_000);

const CHANGE_ID = /^C[A-Z0-9]{13}$/;

let fixture: WorkflowFixture;
let timeout: WorkflowFixture;

interface Ran {
  zone: TestZone;
  round: PlannedRound;
  execution: FinishedExecution;
}

/** A zone of its own, a round the planner plans for `messages` in it, and its execution to the end. */
async function ranIn(
  f: WorkflowFixture,
  options: ZoneOptions,
  messages: (zone: TestZone) => Message[],
): Promise<Ran> {
  const zone = await f.createZone(options);
  const round = await planTestRound(f, zone, messages(zone));
  return { zone, round, execution: await runExecution(f, round.input) };
}

/** The fixed states of a round that writes; then one per record (its check), one per part, four per poll. */
const FIXED_STATES = 12;
const STATES_PER_POLL = 4;

const counting: [string, ZoneOptions, (zone: TestZone) => Message[]][] = [
  ['one record, one value', {}, (z) => registrations(z, 'web', ['52.95.3.1'])],
  [
    'one record, 300 values',
    { rule: { maxValuesPerRecord: 300, types: ['A'] } },
    (z) => registrations(z, 'web', publicIpv4s(300)),
  ],
  [
    '40 records of 20 values',
    {},
    (z) =>
      Array.from({ length: 40 }, (_, r) =>
        registrations(z, `r${r}`, publicIpv4s(20, r * 20), r * 20 + 1),
      ).flat(),
  ],
];

let pending: Ran;
let late: Ran;
let counted: Ran[];

beforeAll(async () => {
  // the first wait 1 s, doubled up to 2 s; 30 s before NotInSync, or 3 s for `timeout`
  fixture = await createWorkflowFixture('r53dyn-test-workflow-insync', FAST_SETTINGS);
  timeout = await createWorkflowFixture('r53dyn-test-workflow-insync-timeout', {
    ...FAST_SETTINGS,
    insyncTimeoutSeconds: 3,
  });
  // every round in a zone of its own, all at once: most of their time is spent waiting
  [pending, late, ...counted] = await Promise.all([
    ranIn(fixture, { label: 'pending2' }, (z) => registrations(z, 'web', ['52.95.2.1'])),
    ranIn(timeout, { label: 'pending9' }, (z) => registrations(z, 'web', ['52.95.2.2'])),
    ...counting.map(([, options, messages]) => ranIn(fixture, { label: 'pending2', ...options }, messages)),
  ]);
});

afterAll(() => Promise.all([fixture.cleanUp(), timeout.cleanUp()]));

describe('a change Route 53 keeps PENDING for two polls', () => {
  it('is polled after 1 s, then 2 s (doubled), then 2 s (capped), and ends INSYNC', () => {
    const { execution } = pending;

    expect(insyncWaits(execution.history)).toEqual([1, 2, 2]);
    expect(taskCalls(execution.history, 'route53:getChange').map((c) => c.output)).toEqual([
      { ChangeInfo: expect.objectContaining({ Status: 'PENDING' }) },
      { ChangeInfo: expect.objectContaining({ Status: 'PENDING' }) },
      { ChangeInfo: expect.objectContaining({ Status: 'INSYNC' }) },
    ]);
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.output).toEqual(
      expect.objectContaining({
        status: 'INSYNC',
        polls: 3,
        secondsWaited: 5,
        changeIds: [expect.stringMatching(CHANGE_ID)],
      }),
    );
  });

  it('polls the change it wrote, after freeing the zone', async () => {
    const { round, execution } = pending;
    const [changeId] = (execution.output as { changeIds: string[] }).changeIds;
    const written = taskCalls(execution.history, 'route53:changeResourceRecordSets').map((c) => c.output);
    const entered = statesEntered(execution.history);

    expect(written).toEqual([{ ChangeInfo: expect.objectContaining({ Id: `/change/${changeId}` }) }]);
    expect(taskCalls(execution.history, 'route53:getChange').map((c) => c.parameters)).toEqual([
      { Id: changeId },
      { Id: changeId },
      { Id: changeId },
    ]);
    expect(entered.indexOf('DeleteDeltas')).toBeLessThan(entered.indexOf('WaitForInsync'));
    expect(await deltaStates(fixture, round)).toEqual(['deleted']);
  });
});

describe('a change still PENDING past insyncTimeoutSeconds', () => {
  it('ends NotInSync after the bound, saying which change is still propagating', () => {
    const { zone, execution } = late;
    const [changeId] = taskCalls(execution.history, 'route53:getChange').map(
      (c) => (c.parameters as { Id: string }).Id,
    );

    expect(insyncWaits(execution.history)).toEqual([1, 2]);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('NotInSync');
    expect(execution.cause).toBe(
      `change ${changeId} in hosted zone ${zone.zoneId} was still PENDING after 3 seconds (2 polls); it is written and will propagate`,
    );
  });

  it('has written the change and freed the zone before: nothing is left to redo', async () => {
    const { zone, round, execution } = late;

    expect(await recordsBelow(zone)).toEqual(
      expect.objectContaining({ [`web.${zone.suffix}. A`]: ['52.95.2.2'] }),
    );
    expect(await deltaStates(timeout, round)).toEqual(['deleted']);
    expect(statesEntered(execution.history)).not.toContain('ReleaseZone');
  });
});

interface Counted {
  title: string;
  records: number;
  parts: number;
  values: number;
  polls: number;
  capped: number;
  transitions: number;
}

function count(title: string, round: PlannedRound, execution: FinishedExecution): Counted {
  const entered = statesEntered(execution.history);
  return {
    title,
    records: round.input.parts.flatMap((p) => p.records).length,
    parts: round.input.parts.length,
    values: round.input.parts.flatMap((p) =>
      p.records.flatMap((r) => r.slots[1].flatMap((c) => c.ResourceRecordSet.ResourceRecords ?? [])),
    ).length,
    polls: entered.filter((name) => name === 'CheckChangeStatus').length,
    capped: entered.filter((name) => name === 'CapWait').length,
    transitions: transitions(execution.history),
  };
}

describe('state transitions of a round (issue "A boot storm ends exact")', () => {
  let counts: Counted[];

  beforeAll(() => {
    counts = counted.map((ran, n) => count(counting[n]?.[0] ?? '', ran.round, ran.execution));
    console.table(
      counts.map((c) => ({ ...c, bound: FIXED_STATES + 2 * c.records + (STATES_PER_POLL + 1) * c.polls })),
    );
  });

  it('are a fixed number, one per record, one per part and four or five per poll, whatever the values', () => {
    expect(counts.map((c) => [c.title, c.records, c.parts, c.values, c.polls, c.capped])).toEqual([
      ['one record, one value', 1, 1, 1, 3, 1],
      ['one record, 300 values', 1, 1, 300, 3, 1],
      ['40 records of 20 values', 40, 3, 800, 3, 1],
    ]);
    for (const c of counts) {
      expect([c.title, c.transitions]).toEqual([
        c.title,
        FIXED_STATES + c.records + c.parts + STATES_PER_POLL * c.polls + c.capped,
      ]);
    }
  });

  it('stay within fixed + 2 × records changed + 5 × polls', () => {
    for (const c of counts) {
      expect(c.transitions).toBeLessThanOrEqual(
        FIXED_STATES + 2 * c.records + (STATES_PER_POLL + 1) * c.polls,
      );
    }
    expect(counts[1]?.transitions).toBe(counts[0]?.transitions);
  });
});
