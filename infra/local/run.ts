// `npm start`: the whole system on LocalStack. Deploys the stack, then plays the batcher's SQS event source in
// the foreground and reports each batch and each workflow execution as it ends. Ctrl-C stops it.
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { localEventSource } from './batcher';
import { localClientConfig, localEndpoint } from './connection';
import { deployLocal } from './deploy';
import { pollOnce } from './event-source';

const say = (text: string) => process.stdout.write(`${text}\n`);
const sfn = new SFNClient(localClientConfig);

interface Summary {
  records?: { record: string; added: string[]; removed: string[] }[];
  changeId?: string;
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
  return `${records} [change ${summary.changeId ?? '?'}, ${summary.polls ?? 0} poll(s), ${summary.secondsWaited ?? 0} s]`;
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
  const source = await localEventSource(stack);
  const queue = stack.outputs.RegistrationsQueueUrl;
  const stateMachineArn = stack.outputs.StateMachineArn ?? '';
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

Waiting for messages (batch size ${source.batchSize}, batching window ${source.batchWindowSeconds} s). Ctrl-C stops.
`);
  const known = new Set(
    ((await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000 }))).executions ?? []).map(
      (e) => e.executionArn,
    ),
  );
  for (;;) {
    const outcome = await pollOnce(source, 20);
    if (!outcome) continue;
    say(`batch of ${outcome.received} message(s): ${outcome.failed.length} reported failed`);
    const executions =
      (await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000 }))).executions ?? [];
    for (const e of executions) {
      if (!e.executionArn || known.has(e.executionArn)) continue;
      known.add(e.executionArn);
      say(`execution ${e.name}: started`);
      void follow(e.executionArn, e.name ?? '');
    }
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
