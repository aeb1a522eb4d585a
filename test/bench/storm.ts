// `npm run storm [-- <machines> <names> <K>]`: the local boot storm as a new user would try it, with figures.
// On the stack that `npm start` deploys (LocalStack, stage local): <machines> machines over <names> names send
// their registration at once, then half of them deregister; prints the seconds until every name is exact, the
// executions and retries it took, and the dead letters. A measurement to read, not a test: nothing is asserted.
import { SQSClient } from '@aws-sdk/client-sqs';
import { localClientConfig } from '../../infra/local/connection';
import { deployLocal } from '../../infra/local/deploy';
import { localPipeline } from '../../infra/local/pipeline';
import { body, exactProblems, fleet, type Machine, sendAll } from '../helpers/fleet';
import { listExecutions, receiveAll } from '../helpers/stack';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const machines = Number(process.argv[2] ?? 800);
  const names = Number(process.argv[3] ?? 25);
  const k = Number(process.argv[4] ?? 1);
  const deployment = await deployLocal();
  const sqs = new SQSClient(localClientConfig);
  const stateMachineArn = deployment.outputs.StateMachineArn ?? '';
  const zoneId = deployment.zones['dyn.example.test'] ?? '';
  const queueUrl = deployment.outputs.RegistrationsQueueUrl ?? '';
  const pipeline = await localPipeline(deployment, { batcherConcurrency: k, waitSeconds: 1 });
  const prefix = `storm-${Date.now().toString(36)}`;
  const all = fleet(prefix, 'dyn.example.test', machines, names);
  const leaving = all.filter((_, i) => i % 2 === 0);
  const staying = all.filter((_, i) => i % 2 === 1);
  const before = new Set((await listExecutions(stateMachineArn)).map((e) => e.executionArn));
  pipeline.start();

  const phase = async (label: string, bodies: string[], live: Machine[], gone: Machine[]) => {
    const started = Date.now();
    await sendAll(sqs, queueUrl, bodies);
    await pipeline.settle(1800, (line) => say(`  ${label}: ${line}`));
    const problems = await exactProblems(zoneId, deployment.outputs.OwnerId ?? '', live, gone);
    say(
      `${label}: ${bodies.length} messages, settled and checked in ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
        `${problems.length === 0 ? 'every name exact' : `${problems.length} problem(s): ${problems.slice(0, 5).join('; ')}`}`,
    );
  };

  say(`${machines} machines over ${names} names, K = ${k} batcher(s), stage local`);
  await phase(
    'boot storm',
    all.map((m) => body('register', m)),
    all,
    [],
  );
  await phase(
    'half deregister',
    leaving.map((m) => body('deregister', m)),
    staying,
    leaving,
  );
  await pipeline.stop();
  const executions = (await listExecutions(stateMachineArn)).filter((e) => !before.has(e.executionArn));
  const letters = (await receiveAll(deployment.outputs.DeadLetterQueueUrl ?? '')).filter((m) =>
    m.Body?.includes(prefix),
  );
  say(
    `executions ${executions.length} (${executions.filter((e) => e.status !== 'SUCCEEDED').length} not SUCCEEDED, ` +
      `${executions.filter((e) => !/-r1$/.test(e.name ?? '')).length} retries), dead letters ${letters.length}`,
  );
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
