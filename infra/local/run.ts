// `npm start`: the whole system on LocalStack. Deploys the stack, then runs the pipeline (the batcher and the
// planner behind local event sources) in the foreground and reports each batch and each workflow execution as it
// ends. Ctrl-C stops it.
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { localClientConfig, localEndpoint } from './connection';
import { deployLocal } from './deploy';
import { localPipeline } from './pipeline';

const say = (text: string) => process.stdout.write(`${text}\n`);
const sfn = new SFNClient(localClientConfig);

interface Summary {
  records?: { record: string; added: string[]; removed: string[] }[];
  changeIds?: string[];
  messages?: number;
  polls?: number;
  secondsWaited?: number;
}

function describeOutput(output: string | undefined): string {
  const summary: Summary = output ? JSON.parse(output) : {};
  const records = (summary.records ?? [])
    .map(
      (r) =>
        `${r.record} ${[...r.added.map((v) => `+${v}`), ...r.removed.map((v) => `-${v}`)].join(' ') || '(registry only)'}`,
    )
    .join('; ');
  const changes = summary.changeIds ?? [];
  return `${records} [${summary.messages ?? 0} message(s), ${changes.length} change(s) ${changes.join(' ')}, ${summary.polls ?? 0} poll(s), ${summary.secondsWaited ?? 0} s]`;
}

/** Follows one execution to its end, saying every 10 s that it is still waiting. */
async function follow(executionArn: string, name: string): Promise<void> {
  const started = Date.now();
  let lastNote = started;
  for (;;) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') {
      say(
        d.status === 'SUCCEEDED'
          ? `execution ${name}: SUCCEEDED ${describeOutput(d.output)}`
          : `execution ${name}: ${d.status} ${d.error ?? ''} ${d.cause ?? ''}`,
      );
      return;
    }
    if (Date.now() - lastNote > 10_000) {
      lastNote = Date.now();
      say(`execution ${name}: still running after ${Math.round((lastNote - started) / 1000)} s`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  const stack = await deployLocal();
  const stateMachineArn = stack.outputs.StateMachineArn ?? '';
  const known = new Set(
    ((await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000 }))).executions ?? []).map(
      (e) => e.executionArn,
    ),
  );
  const pipeline = await localPipeline(stack, {
    onBatch: (outcome) => {
      say(
        `${outcome.source}: batch of ${outcome.received} message(s), ${outcome.failed.length} kept or failed`,
      );
      void newExecutions(stateMachineArn, known);
    },
  });
  const queue = stack.outputs.RegistrationsQueueUrl;
  const registrations = pipeline.sources.find((s) => s.queueUrl === queue);
  say(`
r53dyn is running on LocalStack (${localEndpoint}).
  registrations queue   ${queue}
  dead-letter queue     ${stack.outputs.DeadLetterQueueUrl}
  state machine         ${stateMachineArn}
  zones                 ${Object.entries(stack.zones)
    .map(([name, id]) => `${name} (${id})`)
    .join(', ')}

In another shell, register a machine with the real AWS CLI (installed in .local/tools-venv/bin):
  export PATH=$PWD/.local/tools-venv/bin:$PATH AWS_ENDPOINT_URL=${localEndpoint} AWS_DEFAULT_REGION=us-east-1 \\
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  aws sqs send-message --endpoint-url ${localEndpoint} --queue-url ${queue} \\
    --message-body '{"v":1,"action":"register","record":"web.dyn.example.test","instanceId":"i-0123456789abcdef0","ipv4":"52.95.110.1"}'
(AWS CLI v1 ignores AWS_ENDPOINT_URL for SQS, hence --endpoint-url), then look at the record:
  aws route53 list-resource-record-sets --hosted-zone-id ${stack.zones['dyn.example.test']}

Waiting for messages (batch size ${registrations?.batchSize}, batching window ${registrations?.batchWindowSeconds} s, \
${pipeline.sources.length} event source(s)). Ctrl-C stops.
`);
  pipeline.start();
  process.on('SIGINT', () => {
    say('stopping');
    void pipeline.stop().then(() => process.exit(0));
  });
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    await newExecutions(stateMachineArn, known);
  }
}

async function newExecutions(stateMachineArn: string, known: Set<string | undefined>): Promise<void> {
  const executions =
    (await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 100 }))).executions ?? [];
  for (const e of executions) {
    if (!e.executionArn || known.has(e.executionArn)) continue;
    known.add(e.executionArn);
    say(`execution ${e.name}: started`);
    void follow(e.executionArn, e.name ?? '');
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
