// `r53dyn redrive`: dead letters back to the registrations queue once their cause is fixed, as the stack's
// redrive role, whose copies' envelope the batcher believes (docs/design.md §7.3). Each copy is sent before its
// dead letter is deleted: interrupted between the two, a message is in both places, never in neither, and the
// duplicate shares its r53dyn-message-id, which folding absorbs (docs/design.md §4.2).
import { DeleteMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { changeVisibility } from '../../handlers/adapters/sqs';
import { type Aws, awsClients, type Stack, stackRoleIds } from './context';
import {
  APPROXIMATE_NOTE,
  copyAttributes,
  type DeadLetterQueue,
  type RedriveStep,
  type RoleIds,
  redriveStep,
} from './dead-letters';
import { CliError } from './errors';
import { bare, count, table } from './format';
import { HOLD_SECONDS, receiveHeld, release } from './queues';

export interface RedriveOptions {
  reason?: string;
  ids?: string[];
  yes: boolean;
  now: number;
  /** progress lines, on stderr */
  say: (line: string) => void;
  /** test hook: die (SIGKILL) right after this many copies were sent, before deleting the last dead letter */
  crashAfterSends?: number;
}

export interface RedrivenMessage {
  messageId: string;
  queue: DeadLetterQueue;
  action?: string;
  record?: string;
  /** false: the copy carries the dead letter's own sender, not the one it claims (docs/design.md §7.3) */
  senderKept: boolean;
  writtenBy: string;
}

export interface RedriveReport {
  dryRun: boolean;
  approximate: string;
  /** sent back (or, with dryRun, to be sent back) */
  redriven: RedrivenMessage[];
  /** left in their dead-letter queue or dropped, with why */
  notRedriven: { messageId: string; queue: DeadLetterQueue; why: string }[];
  interrupted: boolean;
}

/** The redrive role's credentials, assumed with the operator's own (their policy must allow it). */
export async function asRedriveRole(aws: Aws, stack: Stack): Promise<Aws> {
  const arn = stack.outputs.RedriveRoleArn;
  try {
    const out = await aws.sts.send(
      new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'r53dyn-redrive', DurationSeconds: 3600 }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('STS returned no credentials');
    const credentials = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey };
    const { profile: _operator, ...settings } = aws.settings;
    return awsClients({
      ...settings,
      credentials: c.SessionToken ? { ...credentials, sessionToken: c.SessionToken } : credentials,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CliError(
      `could not assume the redrive role ${arn}: ${message} (your own policy must allow sts:AssumeRole on it, docs/design.md §7.3)`,
    );
  }
}

function selected(step: RedriveStep, options: RedriveOptions): boolean {
  return step.rows.some(
    (row) =>
      (options.reason === undefined || row.reason === options.reason) &&
      (options.ids === undefined ||
        options.ids.includes(row.messageId) ||
        options.ids.includes(row.sqsMessageId)),
  );
}

interface Run {
  sqs: SQSClient;
  registrationsUrl: string;
  roles: RoleIds;
  options: RedriveOptions;
  report: RedriveReport;
  sent: number;
  stopping: boolean;
}

export async function redrive(aws: Aws, stack: Stack, options: RedriveOptions): Promise<RedriveReport> {
  const role = options.yes ? await asRedriveRole(aws, stack) : aws;
  const run: Run = {
    sqs: role.sqs,
    registrationsUrl: stack.outputs.RegistrationsQueueUrl,
    roles: stackRoleIds(stack),
    options,
    report: {
      dryRun: !options.yes,
      approximate: APPROXIMATE_NOTE,
      redriven: [],
      notRedriven: [],
      interrupted: false,
    },
    sent: 0,
    stopping: false,
  };
  const interrupt = () => {
    run.stopping = true;
    options.say('redrive: interrupted; finishing the message in hand');
  };
  process.once('SIGINT', interrupt);
  try {
    await redriveQueue(run, stack.outputs.DeadLetterQueueUrl, 'dead-letter', false);
    if (!run.stopping)
      await redriveQueue(run, stack.outputs.ZoneDeadLetterQueueUrl, 'zone-dead-letter', true);
  } finally {
    process.removeListener('SIGINT', interrupt);
  }
  run.report.interrupted = run.stopping;
  return run.report;
}

/**
 * One queue, in rounds: receive what can be seen, hold it, send back what is selected, release the rest. A FIFO
 * queue shows one receive's worth of each zone at a time, so it takes rounds until nothing new turns up.
 */
async function redriveQueue(
  run: Run,
  queueUrl: string,
  queue: DeadLetterQueue,
  fifo: boolean,
): Promise<void> {
  const done = new Set<string>();
  for (;;) {
    const letters = await receiveHeld(run.sqs, queueUrl, queue, { limit: 10_000, skip: done });
    const steps = letters.map((letter) => redriveStep(letter, run.roles, run.options.now));
    const chosen = steps.filter((step) => selected(step, run.options));
    const actionable = chosen.filter((step) => step.copies.length > 0 || step.deleteAfter);
    for (const step of chosen) {
      done.add(step.letter.sqsMessageId);
      run.report.notRedriven.push(...step.skipped.map((s) => ({ ...s, queue })));
    }
    const toRelease = steps.filter((step) => !actionable.includes(step) || !run.options.yes);
    await release(
      run.sqs,
      queueUrl,
      toRelease.map((step) => step.letter.receiptHandle),
    );
    if (!run.options.yes) {
      for (const step of actionable) run.report.redriven.push(...redrivenOf(step));
      return;
    }
    const copies = actionable.reduce((n, step) => n + step.copies.length, 0);
    if (actionable.length > 0) {
      run.options.say(`redrive: ${count(copies, 'message')} from the ${queue} queue to send back`);
    }
    let n = 0;
    for (const step of actionable) {
      if (run.stopping) {
        await release(run.sqs, queueUrl, [step.letter.receiptHandle]);
        continue;
      }
      await sendBack(run, queueUrl, step, () => {
        n += 1;
        run.options.say(`redrive: sent ${n}/${copies}`);
      });
    }
    if (!fifo || actionable.length === 0 || run.stopping) return;
  }
}

function redrivenOf(step: RedriveStep): RedrivenMessage[] {
  const skippedIds = new Set(step.skipped.map((s) => s.messageId));
  return step.rows
    .filter((row) => !skippedIds.has(row.messageId))
    .map((row) => {
      const message: RedrivenMessage = {
        messageId: row.messageId,
        queue: row.queue,
        senderKept: row.senderKept,
        writtenBy: row.writtenBy,
      };
      if (row.action !== undefined) message.action = row.action;
      if (row.record !== undefined) message.record = row.record;
      return message;
    });
}

/** Copies first, then the dead letter: a crash in between leaves a duplicate, never a loss. */
async function sendBack(run: Run, queueUrl: string, step: RedriveStep, onSent: () => void): Promise<void> {
  await changeVisibility(run.sqs, queueUrl, [step.letter.receiptHandle], HOLD_SECONDS);
  for (const copy of step.copies) {
    await run.sqs.send(
      new SendMessageCommand({
        QueueUrl: run.registrationsUrl,
        MessageBody: copy.body,
        MessageAttributes: copyAttributes(copy.envelope),
      }),
    );
    run.sent += 1;
    onSent();
    if (run.options.crashAfterSends !== undefined && run.sent >= run.options.crashAfterSends) {
      process.kill(process.pid, 'SIGKILL');
    }
  }
  if (step.deleteAfter) {
    await run.sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: step.letter.receiptHandle }),
    );
  }
  run.report.redriven.push(...redrivenOf(step));
}

export function redriveText(report: RedriveReport): string {
  const out: string[] = [];
  const verb = report.dryRun ? 'would send back' : 'sent back';
  out.push(`${verb} ${count(report.redriven.length, 'message')} (${report.approximate})`);
  if (report.redriven.length > 0) {
    out.push(
      table(
        ['ID', 'QUEUE', 'MESSAGE', 'SENDER'],
        report.redriven.map((m) => [
          m.messageId,
          m.queue === 'zone-dead-letter' ? 'zone' : 'main',
          [m.action, m.record === undefined ? undefined : bare(m.record)].filter(Boolean).join(' '),
          m.senderKept
            ? 'kept'
            : `unverified: the dead letter was written by ${m.writtenBy}, not a stack role`,
        ]),
      ),
    );
  }
  if (report.notRedriven.length > 0) {
    out.push(`not sent back: ${count(report.notRedriven.length, 'message')}`);
    out.push(
      table(
        ['ID', 'QUEUE', 'WHY'],
        report.notRedriven.map((m) => [m.messageId, m.queue, m.why]),
      ),
    );
  }
  if (report.dryRun) out.push('nothing was changed: pass --yes to send them back');
  if (report.interrupted) out.push('interrupted: what was not sent back is still in its dead-letter queue');
  return out.join('\n');
}
