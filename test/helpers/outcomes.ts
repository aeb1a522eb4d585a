// Where messages end (docs/design.md §9): applied (their effect in Route 53), dead-lettered with a reason, or (a
// defect) nowhere or in two places; and how many times Route 53 accepted a change that added each value, read
// from the workflow executions' histories. Shared by the fault and crash end-to-end tests.
import type { Change } from '@aws-sdk/client-route-53';
import { type Message, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { ATTRIBUTES, reasonCode } from '../../handlers/core/contract';
import { decodeRegistry } from '../../handlers/core/registry';
import { sqs } from './localstack';
import type { RegistrationBody } from './messages';
import { listExecutions, receiveAll, recordValues } from './stack';
import { executionHistory } from './workflow';

export interface SentRegistration {
  messageId: string;
  body: RegistrationBody;
}

/** Sends registrations to a queue in batches of 10; answers each with the message id SQS gave it. */
export async function sendRegistrations(
  queueUrl: string,
  bodies: RegistrationBody[],
): Promise<SentRegistration[]> {
  const sent: SentRegistration[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const chunk = bodies.slice(i, i + 10);
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((body, n) => ({ Id: `m${n}`, MessageBody: JSON.stringify(body) })),
      }),
    );
    if ((out.Failed ?? []).length > 0) throw new Error(`SQS refused ${JSON.stringify(out.Failed)}`);
    for (const ok of out.Successful ?? []) {
      const body = chunk[Number(ok.Id?.slice(1))];
      if (body) sent.push({ messageId: ok.MessageId ?? '', body });
    }
  }
  return sent;
}

/**
 * Everything a dead-letter queue has held since the first read, by `r53dyn-message-id` (or, for a message SQS
 * moved there itself, its own message id). Reading a queue hides its messages for five minutes, so a test reads
 * each queue through one collector and asks it again.
 */
export class DeadLetterCollector {
  private readonly byId = new Map<string, Message[]>();

  constructor(private readonly queueUrls: string[]) {}

  async collect(): Promise<void> {
    for (const url of this.queueUrls) {
      for (const message of await receiveAll(url)) {
        const id = message.MessageAttributes?.[ATTRIBUTES.messageId]?.StringValue ?? message.MessageId ?? '';
        this.byId.set(id, [...(this.byId.get(id) ?? []), message]);
      }
    }
  }

  letters(messageId: string): Message[] {
    return this.byId.get(messageId) ?? [];
  }
}

/** The registry entry and the address a register message puts in Route 53, if both are there. */
async function isApplied(zoneId: string, body: RegistrationBody, ownerId: string): Promise<boolean> {
  const name = `${body.record.replace(/\.$/, '')}.`;
  const values = (await recordValues(zoneId, name, 'A')) ?? [];
  const registry = (await recordValues(zoneId, `_r53dyn.${name}`, 'TXT')) ?? [];
  const entry = decodeRegistry(registry, ownerId).entries.find((e) => e.instanceId === body.instanceId);
  return values.includes(body.ipv4 ?? '') && entry?.state === 'up' && entry.ipv4 === body.ipv4;
}

/**
 * Where each register message ended, by message id: `applied`, `dead-letter <code>` (once per letter: a message
 * dead-lettered twice reads `dead-letter x, dead-letter x`), `dead-letter without reason` for one SQS moved
 * itself, both when it is applied and dead-lettered, and `nowhere` when it is neither.
 */
export async function terminalPlaces(
  zoneId: string,
  ownerId: string,
  sent: SentRegistration[],
  letters: DeadLetterCollector,
): Promise<Record<string, string>> {
  const places: Record<string, string> = {};
  for (const { messageId, body } of sent) {
    const found = letters.letters(messageId).map((m) => {
      const why = m.MessageAttributes?.[ATTRIBUTES.reason]?.StringValue;
      return why === undefined ? 'dead-letter without reason' : `dead-letter ${reasonCode(why) ?? why}`;
    });
    if (body.action === 'register' && (await isApplied(zoneId, body, ownerId))) found.unshift('applied');
    places[messageId] = found.length > 0 ? found.join(', ') : 'nowhere';
  }
  return places;
}

/** The reason attributes of a message's dead letters. */
export const reasonsOf = (letters: DeadLetterCollector, messageId: string) =>
  letters.letters(messageId).map((m) => m.MessageAttributes?.[ATTRIBUTES.reason]?.StringValue);

/** The Changes of every ChangeResourceRecordSets Task that succeeded in an execution. */
export async function acceptedChangeBatches(executionArn: string): Promise<Change[][]> {
  const events = await executionHistory(executionArn);
  const byId = new Map(events.map((e) => [e.id, e]));
  const batches: Change[][] = [];
  for (const event of events) {
    if (event.type !== 'TaskSucceeded') continue;
    if (event.taskSucceededEventDetails?.resource !== 'changeResourceRecordSets') continue;
    const started = byId.get(event.previousEventId);
    const scheduled = byId.get(started?.previousEventId);
    const parameters = JSON.parse(scheduled?.taskScheduledEventDetails?.parameters ?? '{}');
    batches.push(parameters.ChangeBatch?.Changes ?? []);
  }
  return batches;
}

/** `<name> <type> <value>` for every value a batch creates that it does not also delete (an addition). */
export function additions(batch: Change[]): string[] {
  const key = (c: Change, v: string) => `${c.ResourceRecordSet?.Name} ${c.ResourceRecordSet?.Type} ${v}`;
  const values = (action: string) =>
    batch
      .filter((c) => c.Action === action)
      .flatMap((c) => (c.ResourceRecordSet?.ResourceRecords ?? []).map((r) => key(c, r.Value ?? '')));
  const deleted = new Set(values('DELETE'));
  return values('CREATE').filter((k) => !deleted.has(k));
}

/** The executions of the state machine started at or after `since` (ms) for these hosted zones. */
export async function executionsSince(stateMachineArn: string, since: number, zoneIds: string[]) {
  return (await listExecutions(stateMachineArn)).filter(
    (e) => (e.startDate?.getTime() ?? 0) >= since && zoneIds.some((z) => e.name?.startsWith(`${z}-`)),
  );
}

/**
 * How many accepted ChangeBatches added each register message's address to its record, by message id: 1 for a
 * message applied once, 0 for one never applied; more would be a message applied twice.
 */
export async function timesApplied(
  stateMachineArn: string,
  since: number,
  zoneIds: string[],
  sent: SentRegistration[],
): Promise<Record<string, number>> {
  const added = new Map<string, number>();
  for (const execution of await executionsSince(stateMachineArn, since, zoneIds)) {
    for (const batch of await acceptedChangeBatches(execution.executionArn ?? '')) {
      for (const key of additions(batch)) added.set(key, (added.get(key) ?? 0) + 1);
    }
  }
  return Object.fromEntries(
    sent.map(({ messageId, body }) => [
      messageId,
      added.get(`${body.record.replace(/\.$/, '')}. A ${body.ipv4}`) ?? 0,
    ]),
  );
}
