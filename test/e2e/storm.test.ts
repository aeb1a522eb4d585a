// A boot storm ends exact (docs/design.md §4.4, §10.1): hundreds of machines over tens of names register at once,
// then half of them leave while as many new ones arrive, then every live machine heartbeats. With one poller
// (K = 1) and with five batchers at once (K = 5), every name ends serving exactly its live machines, every
// registry holds exactly their entries and the tombstones of those that left, and nothing is dead-lettered.
import { ATTRIBUTES } from '../../handlers/core/contract';
import type { BatchOutcome } from '../../infra/local/event-source';
import { body, exactProblems, fleet, type Machine, sendAll } from '../helpers/fleet';
import { sqs } from '../helpers/localstack';
import {
  type DeployedStack,
  deployedStack,
  type Execution,
  executionArns,
  receiveAll,
  settle,
} from '../helpers/stack';

const run = Date.now().toString(36);
const SUFFIX = 'dyn.example.test';
const MACHINES = 400;
const NAMES = 20; // 20 machines a name, then 10 leave and 10 arrive: within the zone's limit of 40 in any order
const OWNER = 'r53dyn-local';

interface Phase {
  executions: Execution[];
  batches: BatchOutcome[];
  seconds: number;
}

async function phase(deployed: DeployedStack, bodies: string[]): Promise<Phase> {
  const before = await executionArns(deployed);
  const started = Date.now();
  await sendAll(sqs, deployed.queueUrl, bodies);
  const { executions, batches } = await settle(deployed, before);
  return { executions, batches, seconds: (Date.now() - started) / 1000 };
}

/** Rounds whose head delta came back (a retry) show in the execution name's receive count. */
const retries = (executions: Execution[]) => executions.filter((e) => !/-r1$/.test(e.name)).length;

describe.each([1, 5])('with K = %i concurrent batchers', (k) => {
  let deployed: DeployedStack;
  const prefix = `storm${k}-${run}`;
  const firstWave = fleet(prefix, SUFFIX, MACHINES, NAMES);
  const leaving = firstWave.filter((_, i) => i % 2 === 0);
  const staying = firstWave.filter((_, i) => i % 2 === 1);
  const secondWave = fleet(prefix, SUFFIX, MACHINES / 2, NAMES, MACHINES);
  const report: string[] = [];

  beforeAll(async () => {
    deployed = await deployedStack({ batcherConcurrency: k });
  });

  afterAll(async () => {
    await deployed.pipeline.stop();
    process.stdout.write(`storm K=${k}: ${report.join('; ')}\n`);
  });

  const expectExact = async (live: Machine[], gone: Machine[]) => {
    expect(await exactProblems(deployed.zoneId(SUFFIX), OWNER, live, gone)).toEqual([]);
  };
  const expectNoDeadLetters = async () => {
    const letters = await receiveAll(deployed.deadLetterQueueUrl);
    const ours = letters.filter((m) => m.Body?.includes(prefix));
    expect(ours.map((m) => m.MessageAttributes?.[ATTRIBUTES.reason]?.StringValue)).toEqual([]);
  };
  /** Every execution succeeded, on the first receive of its head delta, in few rounds; the figures go to the report. */
  const expectFewCleanRounds = (what: string, done: Phase) => {
    expect(done.executions.every((e) => e.status === 'SUCCEEDED')).toBe(true);
    // K batches of up to 100 messages make at most a few deltas each; the planner merges up to 10 a round
    expect(done.executions.length).toBeLessThanOrEqual(Math.ceil(MACHINES / 100) + k);
    expect(retries(done.executions)).toBe(0);
    report.push(
      `${what} ${done.executions.length} executions, ${retries(done.executions)} retries, ${done.seconds} s`,
    );
  };

  test('a boot storm: every machine served, nothing dead-lettered', async () => {
    // Act
    const storm = await phase(
      deployed,
      firstWave.map((m) => body('register', m)),
    );

    // Assert
    await expectExact(firstWave, []);
    await expectNoDeadLetters();
    expectFewCleanRounds('storm', storm);
  });

  test('a rolling replacement: half leave while as many arrive; the names end exact', async () => {
    // Act
    const rolling = await phase(deployed, [
      ...leaving.map((m) => body('deregister', m)),
      ...secondWave.map((m) => body('register', m)),
    ]);

    // Assert
    await expectExact([...staying, ...secondWave], leaving);
    await expectNoDeadLetters();
    expectFewCleanRounds('rolling', rolling);
  });

  test('a heartbeat round changes nothing served and writes nothing', async () => {
    // Act
    const live = [...staying, ...secondWave];
    const heartbeats = await phase(
      deployed,
      live.map((m) => body('heartbeat', m)),
    );

    // Assert
    await expectExact(live, leaving);
    await expectNoDeadLetters();
    expect(heartbeats.executions).toEqual([]);
    report.push(`heartbeats ${heartbeats.executions.length} executions, ${heartbeats.seconds} s`);
  });
});
