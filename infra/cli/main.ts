// r53dyn: the operator's command line. `npx r53dyn --help`; every command takes the AWS CLI's --profile,
// --region and --endpoint-url, and --stage names the stack `r53dyn-<stage>`.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ATTRIBUTES, REASON_CODES } from '../../handlers/core/contract';
import { connect, type GlobalOptions, loadStack, loadZoneRules } from './context';
import { APPROXIMATE_NOTE, deadLetterTable, UNVERIFIED_NOTE } from './dead-letters';
import { EXIT, type ExitCode, explain } from './errors';
import { executionsCommand, executionsTable } from './executions';
import { count } from './format';
import { deadLetterReport, statusReport } from './inspect';
import { planMessage, planText, readMessageFile } from './plan';
import { redrive, redriveText } from './redrive';
import { statusText } from './status';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
  now: () => number;
}

const EXIT_HELP = `
Exit codes:
  0  ok
  1  failed: an AWS error, no stack, refused credentials, an unknown record, a message plan would dead-letter
  2  usage: a bad option or argument, an unreadable message file

Credentials, region and endpoint are found as the AWS CLI finds them (AWS_PROFILE, AWS_REGION,
AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, ~/.aws/config). What the commands need comes from the stack's outputs and
its SSM parameters. Tables on a terminal; --json prints the same data for scripts.`;

function positiveInt(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('must be a whole number from 1');
  return value;
}

function reasonOption(): Option {
  return new Option(
    '--reason <code>',
    'only dead letters with this reason code (docs/design.md §3.6)',
  ).argParser((text: string) => {
    if (!(REASON_CODES as string[]).includes(text)) {
      throw new InvalidArgumentError(
        'not a reason code (docs/design.md §3.6 lists them; r53dyn dlq shows them)',
      );
    }
    return text;
  });
}

function sentAt(text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(value))
    throw new InvalidArgumentError('must be an ISO time or milliseconds since 1970');
  return value;
}

/** What each command's registration needs: how to run an action, and how to print its result. */
interface Kit {
  io: Io;
  act: <A extends unknown[]>(
    body: (options: GlobalOptions, ...args: A) => Promise<ExitCode>,
  ) => (...args: A) => Promise<void>;
  emit: (options: GlobalOptions, data: unknown, text: string) => void;
}

export function buildProgram(io: Io, done: (code: ExitCode) => void): Command {
  const program = new Command('r53dyn')
    .description('Inspect and repair an r53dyn stack: records, dead letters, executions.')
    .option('--profile <name>', 'AWS profile (as the AWS CLI: AWS_PROFILE by default)')
    .option('--region <region>', 'AWS region (as the AWS CLI: AWS_REGION, AWS_DEFAULT_REGION, the profile)')
    .option('--endpoint-url <url>', 'send every AWS call to this endpoint (LocalStack)')
    .option('--stage <stage>', 'the stack is r53dyn-<stage>', io.env.R53DYN_STAGE ?? 'dev')
    .option('--json', 'print JSON instead of tables')
    .addHelpText('after', EXIT_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
      // one line, like every other error
      outputError: (s, write) => write(`r53dyn: ${s.replace(/^error: /, '').trim()} (see r53dyn --help)`),
    });
  const kit: Kit = {
    io,
    act:
      (body) =>
      async (...args) => {
        const options = (args[args.length - 1] as Command).optsWithGlobals<GlobalOptions>();
        try {
          done(await body(options, ...args));
        } catch (error) {
          const problem = explain(error, options.profile);
          io.err(`r53dyn: ${problem.message}`);
          done(problem.exitCode);
        }
      },
    emit: (options, data, text) => io.out(options.json ? JSON.stringify(data, null, 2) : text),
  };
  for (const add of [addStatus, addDlq, addRedrive, addPlan, addExecutions]) add(program, kit);
  return program;
}

async function stackOf(options: GlobalOptions) {
  const aws = await connect(options);
  return { aws, stack: await loadStack(aws, options.stage) };
}

function addStatus(program: Command, { io, act, emit }: Kit): void {
  program
    .command('status')
    .description(
      "each managed record's values, owners, leases and tombstones, the zones' gone lists, and its last change",
    )
    .argument('[name]', 'only this record')
    .option('--look-back <n>', 'how many of the latest SUCCEEDED executions to search', positiveInt, 100)
    .action(
      act(async (options, name: string | undefined, local: { lookBack: number }) => {
        const { aws, stack } = await stackOf(options);
        const only = name === undefined ? {} : { name };
        const report = await statusReport(aws, stack, { lookBack: local.lookBack, now: io.now(), ...only });
        emit(options, report, statusText(report));
        return EXIT.ok;
      }),
    );
}

function addDlq(program: Command, { io, act, emit }: Kit): void {
  program
    .command('dlq')
    .description('dead letters grouped by reason code, with sender, record and age (approximate)')
    .addHelpText(
      'after',
      `\nThe listing is ${APPROXIMATE_NOTE}.\nMessages without ${ATTRIBUTES.reason} were moved by SQS after maxReceiveCount receives: shown as receive-limit.\nThe zone queue's FIFO dead-letter queue shows at most ten deltas per zone at a time.`,
    )
    .addOption(reasonOption())
    .option('--limit <n>', 'read at most this many dead letters', positiveInt, 1000)
    .action(
      act(async (options, local: { reason?: string; limit: number }) => {
        const { aws, stack } = await stackOf(options);
        const report = await deadLetterReport(aws, stack, { ...local, now: io.now() });
        const queues = report.queues
          .map((q) => `${q.queue}: about ${q.approximateVisible} visible, ${q.approximateInFlight} in flight`)
          .join('; ');
        const unverified = report.groups.some((g) => g.messages.some((m) => !m.senderKept));
        const lines = [
          deadLetterTable(report.groups),
          '',
          `${queues}; ${count(report.seen, 'message')} read`,
        ];
        lines.push(`(${report.approximate})`, ...(unverified ? [`(${UNVERIFIED_NOTE})`] : []));
        emit(options, report, lines.join('\n'));
        return EXIT.ok;
      }),
    );
}

const REDRIVE_HELP = `
Deregistrations always go back; registrations sent more than an hour ago (the tombstone horizon) do not: the
machine's next heartbeat restores them. Each copy is sent before its dead letter is deleted, so an interrupted
redrive leaves duplicates (which share ${ATTRIBUTES.messageId} and fold away), never a loss. Runs as the stack's
redrive role (RedriveRoleArn). The listing is approximate: SQS has no peek.`;

function addRedrive(program: Command, { io, act, emit }: Kit): void {
  program
    .command('redrive')
    .description(
      'send dead letters back to the registrations queue once their cause is fixed; without --yes, only say what would go',
    )
    .addOption(reasonOption())
    .option('--id <id...>', `only these messages (${ATTRIBUTES.messageId} or SQS message id)`)
    .option('--yes', 'really send them back')
    .addHelpText('after', REDRIVE_HELP)
    .action(
      act(async (options, local: { reason?: string; id?: string[]; yes?: boolean }) => {
        const { aws, stack } = await stackOf(options);
        const crash = io.env.R53DYN_CLI_CRASH_AFTER_SENDS;
        const report = await redrive(aws, stack, {
          yes: local.yes === true,
          now: io.now(),
          say: io.err,
          ...(local.reason === undefined ? {} : { reason: local.reason }),
          ...(local.id === undefined ? {} : { ids: local.id }),
          ...(crash === undefined ? {} : { crashAfterSends: Number(crash) }),
        });
        emit(options, report, redriveText(report));
        return report.interrupted ? EXIT.failed : EXIT.ok;
      }),
    );
}

function addPlan(program: Command, { io, act, emit }: Kit): void {
  program
    .command('plan')
    .description('dry run: what this message would change in the zone as it is now, through the real core')
    .argument('<message.json>', 'a registration message as the boot script sends it; - reads standard input')
    .option('--sent-at <time>', 'plan it as sent at this time (ISO or ms); now by default', sentAt)
    .addHelpText('after', '\nExits 1 when the message would be dead-lettered, with its reason.')
    .action(
      act(async (options, file: string, local: { sentAt?: number }) => {
        const body = readMessageFile(file);
        const { aws, stack } = await stackOf(options);
        const zones = await loadZoneRules(aws, stack);
        const now = io.now();
        const report = await planMessage(aws, stack, zones, { file, body, sentAt: local.sentAt ?? now, now });
        emit(options, report, planText(report));
        return report.deadLetter === undefined ? EXIT.ok : EXIT.failed;
      }),
    );
}

function addExecutions(program: Command, { act, emit }: Kit): void {
  program
    .command('executions')
    .description('recent workflow executions, newest first, with their one-line outcome')
    .option('--failed', 'only FAILED, TIMED_OUT and ABORTED ones')
    .option('--limit <n>', 'at most this many', positiveInt, 20)
    .action(
      act(async (options, local: { failed?: boolean; limit: number }) => {
        const { aws, stack } = await stackOf(options);
        const failed = local.failed === true;
        const arn = stack.outputs.StateMachineArn;
        const executions = await executionsCommand(aws.sfn, arn, { failed, limit: local.limit });
        emit(options, executions, executionsTable(executions, failed));
        return EXIT.ok;
      }),
    );
}

/** Runs one command line; resolves with its exit code. */
export async function main(argv: string[], io: Io): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // --help exits 0; a missing or unknown command, option or argument is a usage error
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  return code;
}
