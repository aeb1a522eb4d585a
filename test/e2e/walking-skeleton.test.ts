// One machine boots, its name resolves: the boot script (real AWS CLI, fake IMDS on loopback) sends a
// registration, the local pipeline runs the real batcher and planner, the real workflow writes Route 53.

import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { zoneEntry } from '../../handlers/core/allowlist';
import { ATTRIBUTES } from '../../handlers/core/contract';
import type { WorkflowInput } from '../../handlers/core/workflow-input';
import { awsCliBinDir, runBootScript, startFakeImds } from '../helpers/fake-metadata';
import { cliEnv, sfn } from '../helpers/localstack';
import {
  allowlistZone,
  type DeployedStack,
  deployedStack,
  receiveAll,
  recordValues,
  settle,
  zoneSnapshot,
} from '../helpers/stack';

// LocalStack keeps its state for the whole run, and the local run may have used these names before
const run = Date.now().toString(36);
const skeleton = `skeleton-${run}.dyn.example.test`;
const outside = `web-${run}.evildyn.example.test`;

let deployed: DeployedStack;
let zoneId: string;

beforeAll(async () => {
  deployed = await deployedStack();
  zoneId = deployed.zoneId('dyn.example.test');
});

afterAll(() => deployed.pipeline.stop());

/** The boot script registers `record` with the real AWS CLI against the fake IMDS; the pipeline runs its course. */
async function bootAndSettle(imdsEndpoint: string, record: string) {
  const boot = await runBootScript('register', {
    ...cliEnv,
    PATH: `${awsCliBinDir()}:${process.env.PATH}`,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsEndpoint,
    R53DYN_QUEUE_URL: deployed.queueUrl,
    R53DYN_RECORD: record,
  });
  expect(boot.status).toBe(0);
  return settle(deployed);
}

test('a booting instance becomes an A record with its registry entry, through a SUCCEEDED execution', async () => {
  // Arrange
  const imds = await startFakeImds({
    instanceId: 'i-0a1b2c3d4e5f60718',
    publicIpv4: '54.210.7.31',
    region: 'us-east-1',
  });
  try {
    // Act
    const { executions } = await bootAndSettle(imds.endpoint, skeleton);

    // Assert
    expect(await recordValues(zoneId, `${skeleton}.`, 'A')).toEqual(['54.210.7.31']);
    const registry = await recordValues(zoneId, `_r53dyn.${skeleton}.`, 'TXT');
    expect(registry).toHaveLength(1);
    expect(registry?.[0]).toMatch(
      /^"r53dyn=1;o=r53dyn-local;i=i-0a1b2c3d4e5f60718;4=54\.210\.7\.31;t=\d{13};s=up"$/,
    );
    const mine = executions.filter((e) => JSON.stringify(e.output ?? {}).includes(`${skeleton}.`));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      status: 'SUCCEEDED',
      output: {
        hostedZoneId: zoneId,
        status: 'INSYNC',
        records: [{ record: `${skeleton}.`, added: ['54.210.7.31'], removed: [] }],
      },
    });
    expect(mine[0]?.name).toMatch(new RegExp(`^${zoneId}-[0-9a-f-]+-r1$`));
  } finally {
    await imds.close();
  }
});

test('a registration for a name outside the allowlist never reaches Route 53 and is dead-lettered with its reason', async () => {
  // Arrange
  const imds = await startFakeImds({ instanceId: 'i-0a1b2c3d4e5f60719', publicIpv4: '54.210.7.32' });
  try {
    // Act
    const { executions } = await bootAndSettle(imds.endpoint, outside);

    // Assert
    expect(executions.filter((e) => JSON.stringify(e.output ?? {}).includes(outside))).toEqual([]);
    const letters = await receiveAll(deployed.deadLetterQueueUrl);
    const mine = letters.filter((m) => m.Body?.includes(outside));
    expect(mine).toHaveLength(1);
    expect(mine[0]?.MessageAttributes?.[ATTRIBUTES.reason]?.StringValue).toMatch(/^record-not-allowed: /);
  } finally {
    await imds.close();
  }
});

test('an execution started directly on the deployed state machine with a name outside the allowlist fails RecordNotAllowed', async () => {
  // Arrange: what a caller bypassing the planner would send: the zone's real entry, a record whose A slot
  // names a record that only ends like the suffix
  const zone = allowlistZone(deployed, 'dyn.example.test');
  const name = `web-${run}.evildyn.example.test.`;
  const create = {
    Action: 'CREATE',
    ResourceRecordSet: { Name: name, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '54.210.7.33' }] },
  };
  const input: WorkflowInput = {
    hostedZoneId: zoneId,
    zone: zoneEntry(zone),
    parts: [{ records: [{ name: `web-${run}`, slots: [[], [create as never], [], [], [], []] }] }],
    release: { delete: [], later: [] },
    summary: {
      round: 'hostile',
      messages: 1,
      applied: 1,
      secondsSentToPlan: 0,
      records: [{ record: name, added: ['54.210.7.33'], removed: [] }],
    },
  };
  const before = await zoneSnapshot(zoneId);

  // Act
  const started = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: deployed.stateMachineArn,
      name: `hostile-${run}`,
      input: JSON.stringify(input),
    }),
  );
  let described = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
  while (described.status === 'RUNNING') {
    await new Promise((r) => setTimeout(r, 250));
    described = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
  }

  // Assert
  expect(described.status).toBe('FAILED');
  expect(described.error).toBe('RecordNotAllowed');
  expect(JSON.parse(described.cause ?? '{}')).toEqual({ records: [`web-${run}`] });
  expect(await zoneSnapshot(zoneId)).toEqual(before);
});
