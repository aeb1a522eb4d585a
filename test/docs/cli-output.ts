// `npm run docs:cli`: the operator's guide shows the CLI's real output. This deploys the local stack, plays a
// small day of a fleet through the local pipeline (machines booting, one leaving, a bad message, a record made
// by hand), runs the CLI as an operator would, writes each run to docs/cli-output/<name>.txt and copies them
// into docs/operator-guide.md between its `<!-- cli-output:<name> -->` markers. It resets the two local zones
// first (LocalStack only).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Change,
  ChangeResourceRecordSetsCommand,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { deployLocal } from '../../infra/local/deploy';
import { runCli } from '../helpers/cli';
import { route53, sqs } from '../helpers/localstack';
import { registration } from '../helpers/messages';
import { type DeployedStack, deployedStack, purge, settle, zoneSnapshot } from '../helpers/stack';
import { includeOutputs } from './include';

const root = join(__dirname, '..', '..');
const outputDir = join(root, 'docs', 'cli-output');
const guide = join(root, 'docs', 'operator-guide.md');
const instance = () => `i-${randomBytes(9).toString('hex').slice(0, 17)}`;

async function resetZone(zoneId: string, apex: string): Promise<void> {
  const sets = (await zoneSnapshot(zoneId)) as ResourceRecordSet[];
  const changes: Change[] = sets
    .filter((s) => !(s.Name === `${apex}.` && (s.Type === 'SOA' || s.Type === 'NS')))
    .map((s) => ({ Action: 'DELETE', ResourceRecordSet: s }));
  // one change per batch: LocalStack's Route 53 can keep some rrsets of a batch that deletes many
  for (const change of changes) {
    await route53.send(
      new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: [change] } }),
    );
  }
}

async function send(deployed: DeployedStack, body: unknown): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: deployed.queueUrl, MessageBody: JSON.stringify(body) }));
}

const legacyA = (action: 'UPSERT' | 'DELETE'): Change => ({
  Action: action,
  ResourceRecordSet: {
    Name: 'legacy.dyn.example.test.',
    Type: 'A',
    TTL: 300,
    ResourceRecords: [{ Value: '192.0.2.80' }],
  },
});

async function fleetDay(deployed: DeployedStack): Promise<{ newcomer: string }> {
  const [web1, web2, api1] = [instance(), instance(), instance()];
  const register = (record: string, instanceId: string, ipv4: string) =>
    registration({ record, instanceId, ipv4 });
  await send(deployed, register('web.dyn.example.test', web1, '54.210.10.11'));
  await send(deployed, register('web.dyn.example.test', web2, '54.210.10.12'));
  await send(deployed, register('api.leased.example.test', api1, '54.210.20.21'));
  await settle(deployed);
  await send(deployed, { v: 1, action: 'deregister', record: 'web.dyn.example.test', instanceId: web2 });
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: deployed.zoneId('dyn.example.test'),
      ChangeBatch: { Changes: [legacyA('UPSERT')] },
    }),
  );
  await send(deployed, register('legacy.dyn.example.test', instance(), '54.210.30.31'));
  await send(deployed, register('web.dyn.example.org', instance(), '54.210.40.41'));
  await send(deployed, register('web.dyn.example.test', instance(), '10.0.3.7'));
  await settle(deployed);
  await deployed.pipeline.stop();
  return { newcomer: instance() };
}

interface Shown {
  name: string;
  args: string[];
}

async function show(shown: Shown): Promise<void> {
  const result = await runCli(shown.args);
  const exit = result.status === 0 ? '' : `(exit ${result.status})\n`;
  // progress (stderr) comes before the summary (stdout), as on a terminal
  const text = `$ npx r53dyn --stage local ${shown.args.join(' ')}\n${result.stderr}${result.stdout}${exit}`;
  writeFileSync(join(outputDir, `${shown.name}.txt`), text);
  process.stderr.write(`[docs] ${shown.name}: exit ${result.status}\n`);
}

async function main(): Promise<void> {
  await deployLocal();
  const deployed = await deployedStack();
  for (const url of [
    deployed.queueUrl,
    deployed.eventsQueueUrl,
    deployed.zoneQueueUrl,
    deployed.deadLetterQueueUrl,
  ]) {
    await purge(url);
  }
  await purge(deployed.deployment.outputs.ZoneDeadLetterQueueUrl ?? '');
  await resetZone(deployed.zoneId('dyn.example.test'), 'dyn.example.test');
  await resetZone(deployed.zoneId('leased.example.test'), 'leased.example.test');
  const { newcomer } = await fleetDay(deployed);
  mkdirSync(outputDir, { recursive: true });
  // example message files beside the outputs, named as the guide shows them (the CLI runs from the repo root)
  const message = 'docs/cli-output/web-newcomer.json';
  const legacy = 'docs/cli-output/legacy.json';
  const body = (record: string) =>
    `${JSON.stringify({ v: 1, action: 'register', record, instanceId: newcomer, ipv4: '54.210.10.13' })}\n`;
  writeFileSync(join(root, message), body('web.dyn.example.test'));
  writeFileSync(join(root, legacy), body('legacy.dyn.example.test'));

  await show({ name: 'help', args: ['--help'] });
  await show({ name: 'status', args: ['status'] });
  await show({ name: 'status-record', args: ['status', 'web.dyn.example.test'] });
  await show({ name: 'dlq', args: ['dlq'] });
  await show({ name: 'plan', args: ['plan', message] });
  await show({ name: 'plan-refused', args: ['plan', legacy] });
  await show({ name: 'redrive-dry-run', args: ['redrive', '--reason', 'not-managed'] });
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: deployed.zoneId('dyn.example.test'),
      ChangeBatch: { Changes: [legacyA('DELETE')] },
    }),
  );
  await show({ name: 'redrive', args: ['redrive', '--reason', 'not-managed', '--yes'] });
  await settle(deployed);
  await deployed.pipeline.stop();
  await show({ name: 'executions', args: ['executions', '--limit', '5'] });

  const read = (name: string) => readFileSync(join(outputDir, `${name}.txt`), 'utf8');
  writeFileSync(guide, includeOutputs(readFileSync(guide, 'utf8'), read));
  process.stderr.write(`[docs] wrote ${outputDir} and ${guide}\n`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`[docs] ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
