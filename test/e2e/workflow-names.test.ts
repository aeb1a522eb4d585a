// One contract (docs/design.md §8.2): the workflow's name checks, written in JSONPath, against
// normaliseRecordName (handlers/core/names.ts), which the batcher applies to every message. Many relative names,
// generated (fast-check, fixed seed) and hand-picked, valid and hostile, go through the real workflow on
// LocalStack, many records per execution; the workflow must accept exactly the names that are already
// canonical (normaliseRecordName accepts `<name>.<suffix>` and changes nothing), except for what JSONPath
// cannot measure: a label over 63 octets, a name over the registry's length. Those, and only those, the
// workflow lets through (Route 53 refuses them itself).
//
// Per-record checks give a verdict per record in one execution (the ValidateRecords Map's output). The rules
// over all names at once (empty name, empty label, hyphen at a label edge, reserved first label with
// addresses) give one verdict per execution: names that pass the per-record checks run in one batch if
// names.ts expects them accepted (split in halves until each refusal is found, if not), and alone otherwise.
import fc from 'fast-check';
import { normaliseRecordName } from '../../handlers/core/names';
import {
  createWorkflowFixture,
  inBatches,
  planTestRound,
  registration,
  runExecution,
  statesEntered,
  type WorkflowFixture,
} from '../helpers/workflow';

jest.setTimeout(300_000);

const SEED = 20_261_129;
const RECORDS_PER_EXECUTION = 100;

const handPicked = [
  // valid
  ...['web', 'a', '0', 'a-b', 'a--b', 'a_b', '_a', 'a_', '_', 'a.b.c', 'xn--bcher-kva', '_r53dy', 'r53dyn'],
  ...['x._r53dyn', 'x._r53dyn-gone', 'a'.repeat(63), `${'b'.repeat(63)}.c`],
  // the name rules
  ...['', '.', '..', 'a..b', '.a', 'a.', '-', '-a', 'a-', 'a.-b', 'a-.b', 'xn--', '_r53dyn', '_r53dyn-gone'],
  ...['_r53dynx', '_r53dyn.a', '_R53DYN'],
  // characters
  ...['A', 'aB', '*', '*.a', 'a*', '\\', '\\052', 'a b', ' a', 'a\t', 'a\n', '\u0000', '\u007f', 'é', 'ü.a'],
  ...[
    'a\u200b',
    '"',
    "'",
    '{}',
    '{}.{}',
    '$',
    '$.a',
    '@',
    '/',
    'a/b',
    ':',
    '%41',
    'a+b',
    ',',
    ';',
    'a\u0085',
  ],
  // lengths only
  ...['a'.repeat(64), `x.${'y'.repeat(70)}`, Array.from({ length: 4 }, () => 'n'.repeat(60)).join('.')],
  Array.from({ length: 30 }, () => 'abcdefg').join('.'),
  // lengths and something else
  ...[`${'a'.repeat(64)}-`, `A${'a'.repeat(70)}`, `${'a'.repeat(64)}.-b`, `*${'n'.repeat(250)}`],
];

// Most names are valid or refused for a character (a verdict per record, many per execution); fewer break only
// a rule over all names (an empty label, a hyphen at an edge: an execution each).
const label = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[a-z0-9_]([a-z0-9_-]{0,14}[a-z0-9_])?$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9_-]{0,6}$/) },
  {
    weight: 4,
    arbitrary: fc.string({
      unit: fc.constantFrom(...'aZ09_-*\\é "{}\'\u0000\n/@ÿ'),
      minLength: 1,
      maxLength: 6,
    }),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9]{60,70}$/) },
);
const generated = fc.sample(
  fc.array(label, { minLength: 1, maxLength: 5 }).map((labels) => labels.join('.')),
  { numRuns: 200, seed: SEED },
);
const names = [...new Set([...handPicked, ...generated])];

let fixture: WorkflowFixture;

/** A round for these names, one machine each, in a zone of its own; true if the workflow went on to write it. */
async function checked(names: string[]) {
  const zone = await fixture.createZone();
  const messages = names.map((name, n) =>
    registration(zone, name, n + 1, { ipv4: `52.94.${n >> 8}.${n & 255}` }),
  );
  const round = await planTestRound(fixture, zone, messages);
  const execution = await runExecution(fixture, round.input);
  return { zone, execution, accepted: statesEntered(execution.history).includes('ApplyParts') };
}

/**
 * One execution's verdicts: per record, whether it passed its checks (the ValidateRecords Map's output), and
 * whether the workflow accepted the whole batch (it went on to write it).
 */
async function recordChecks(batch: string[]) {
  const { zone, execution, accepted } = await checked(batch);
  const exited = execution.history.find(
    (e) => e.type === 'MapStateExited' && e.stateExitedEventDetails?.name === 'ValidateRecords',
  );
  const verdicts = JSON.parse(exited?.stateExitedEventDetails?.output ?? '{}').validation?.verdicts as
    | { name: string; bad: boolean }[]
    | undefined;
  if (verdicts?.length !== batch.length)
    throw new Error(`no verdict per record: ${execution.error} ${execution.cause}`);
  return verdicts.map((v) => ({ name: v.name, passed: !v.bad, suffix: zone.suffix, accepted }));
}

/** The names of `batch` the whole workflow accepts, where all pass the per-record checks. */
async function acceptedOf(batch: string[]): Promise<string[]> {
  if (batch.length === 0) return [];
  if ((await checked(batch)).accepted) return batch;
  if (batch.length === 1) return [];
  const half = Math.ceil(batch.length / 2);
  return (await Promise.all([acceptedOf(batch.slice(0, half)), acceptedOf(batch.slice(half))])).flat();
}

const canonicalIn = (suffix: string) => (name: string) => {
  const result = normaliseRecordName(`${name}.${suffix}`);
  return result.ok && result.name === `${name}.${suffix}.`;
};

/** normaliseRecordName's verdict with the length rules left out: each label alone, a long one in pieces. */
const canonicalApartFromLengthsIn = (suffix: string) => (name: string) => {
  const canonical = canonicalIn(suffix);
  return name.split('.').every((part, i) => {
    const inPlace = (l: string) => canonical(i === 0 ? l : `x.${l}`);
    if (part.length <= 63) return inPlace(part);
    const pieces = part.slice(1, -1).match(/.{1,60}/gs) ?? [];
    return inPlace(part.slice(0, 31) + part.slice(-31)) && pieces.every((piece) => canonical(`a${piece}a`));
  });
};

interface Verdict {
  name: string;
  suffix: string;
  workflow: boolean;
  canonical: boolean;
  apartFromLengths: boolean;
  problem?: string;
}

let verdicts: Verdict[];

/** Names in executions of at most RECORDS_PER_EXECUTION. */
const batchesOf = (list: string[]) =>
  Array.from({ length: Math.ceil(list.length / RECORDS_PER_EXECUTION) }, (_, b) =>
    list.slice(b * RECORDS_PER_EXECUTION, (b + 1) * RECORDS_PER_EXECUTION),
  );

beforeAll(async () => {
  fixture = await createWorkflowFixture('r53dyn-test-workflow-names');
  // names.ts only shapes the batches: those it expects accepted together, the others apart
  const expected = canonicalApartFromLengthsIn('dyn.example.test');
  const batches = [...batchesOf(names.filter(expected)), ...batchesOf(names.filter((n) => !expected(n)))];
  const perRecord = (await inBatches(batches, 3, recordChecks)).flat();
  const passed = perRecord.filter((r) => r.passed);
  const undecided = passed.filter((r) => !r.accepted);
  const together = undecided.filter((r) => expected(r.name)).map((r) => r.name);
  const alone = undecided.filter((r) => !expected(r.name)).map((r) => [r.name]);
  const accepted = new Set([
    ...passed.filter((r) => r.accepted).map((r) => r.name),
    ...(await acceptedOf(together)),
    ...(await inBatches(alone, 6, acceptedOf)).flat(),
  ]);
  verdicts = perRecord.map(({ name, suffix }) => {
    const result = normaliseRecordName(`${name}.${suffix}`);
    return {
      name,
      suffix,
      workflow: accepted.has(name),
      canonical: canonicalIn(suffix)(name),
      apartFromLengths: canonicalApartFromLengthsIn(suffix)(name),
      ...(result.ok ? {} : { problem: result.problem.detail }),
    };
  });
  const count = (f: (v: Verdict) => boolean) => verdicts.filter(f).length;
  console.log(
    `names: ${verdicts.length} (${handPicked.length} hand-picked, ${generated.length} generated with seed ${SEED}); ` +
      `the workflow accepts ${count((v) => v.workflow)}, of which canonical ${count((v) => v.workflow && v.canonical)}; ` +
      `refused by the per-record checks ${perRecord.length - passed.length}, by the rules over all names ` +
      `${count((v) => !v.workflow) - (perRecord.length - passed.length)}; executions ${batches.length + alone.length}+`,
  );
});

afterAll(() => fixture.cleanUp());

describe('the workflow’s name checks and normaliseRecordName', () => {
  it('see every name: hand-picked and generated, valid and hostile', () => {
    expect(verdicts.map((v) => v.name).sort()).toEqual([...names].sort());
    expect(verdicts.filter((v) => v.workflow).length).toBeGreaterThan(50);
    expect(verdicts.filter((v) => !v.workflow).length).toBeGreaterThan(50);
  });

  it('agree on every rule JSONPath can express', () => {
    const disagreeing = verdicts.filter((v) => v.workflow !== v.apartFromLengths);

    expect(disagreeing.map((v) => [v.name, v.workflow, v.problem])).toEqual([]);
  });

  it('disagree exactly where a label or the name is too long, which the workflow lets Route 53 refuse', () => {
    const disagreeing = verdicts.filter((v) => v.workflow !== v.canonical);

    expect(disagreeing.map((v) => [v.name, v.workflow, v.problem])).toEqual(
      disagreeing.map((v) => [
        v.name,
        true,
        expect.stringMatching(/^(has a label longer than 63 octets|is longer than 245 octets)/),
      ]),
    );
    expect(disagreeing.filter((v) => /label longer/.test(v.problem ?? '')).length).toBeGreaterThan(0);
    expect(disagreeing.filter((v) => /is longer than 245/.test(v.problem ?? '')).length).toBeGreaterThan(0);
  });
});
