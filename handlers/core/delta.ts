// The zone queue's messages (docs/design.md §3.5): the batcher's accepted messages for one hosted zone,
// normalised, packed by size. The zone queue is FIFO with the hosted zone id as message group, so SQS lets one
// batch of a zone's deltas be in flight at a time: that is the per-zone lock the planner and the workflow hold.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SQS_MESSAGE_LIMIT_BYTES } from './contract';
import type { InstanceGone, Message, Registration, Sweep } from './model';

export const DELTA_VERSION = 1;

export interface Delta {
  v: typeof DELTA_VERSION;
  hostedZoneId: string;
  messages: Message[];
}

const envelope = {
  messageId: z.string().min(1),
  sentAt: z.number().int().nonnegative(),
  senderId: z.string().optional(),
};

const messageSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...envelope,
    kind: z.enum(['register', 'deregister', 'heartbeat']),
    record: z.string().min(1),
    hostedZoneId: z.string().min(1),
    instanceId: z.string().min(1),
    ipv4: z.string().optional(),
    ipv6: z.string().optional(),
  }),
  z.strictObject({ ...envelope, kind: z.literal('instance-gone'), instanceId: z.string().min(1) }),
  z.strictObject({ ...envelope, kind: z.literal('sweep') }),
]);

const deltaSchema = z.strictObject({
  v: z.literal(DELTA_VERSION),
  hostedZoneId: z.string().min(1),
  messages: z.array(messageSchema),
});

export class CorruptDelta extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'CorruptDelta';
  }
}

/** Only the batcher writes the zone queue, so a body that does not parse is a bug, reported as one. */
export function decodeDelta(body: string): Delta {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new CorruptDelta('the zone-queue message is not JSON');
  }
  const parsed = deltaSchema.safeParse(json);
  if (!parsed.success)
    throw new CorruptDelta(`the zone-queue message does not match: ${parsed.error.message}`);
  return parsed.data as Delta;
}

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

// Room left in a message for its attributes and SQS's own overhead.
const DELTA_BUDGET_BYTES = SQS_MESSAGE_LIMIT_BYTES - 8192;

/**
 * Packs one zone's messages into as few deltas as fit an SQS message each, in the order given (the batcher
 * orders them by sent time, so deltas of a zone arrive roughly in time order, though folding does not need it).
 */
export function packDeltas(
  hostedZoneId: string,
  messages: Message[],
  budgetBytes = DELTA_BUDGET_BYTES,
): Delta[] {
  const overhead = utf8(JSON.stringify({ v: DELTA_VERSION, hostedZoneId, messages: [] }));
  const deltas: Delta[] = [];
  let current: Message[] = [];
  let bytes = overhead;
  for (const message of messages) {
    const size = utf8(JSON.stringify(message)) + 1;
    if (current.length > 0 && bytes + size > budgetBytes) {
      deltas.push({ v: DELTA_VERSION, hostedZoneId, messages: current });
      current = [];
      bytes = overhead;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) deltas.push({ v: DELTA_VERSION, hostedZoneId, messages: current });
  return deltas;
}

/**
 * The zone queue's deduplication id: the same messages packed again (a batcher retried after a crash) are the
 * same delta, which SQS drops within its five-minute deduplication window. A round's carry-over is salted with
 * the round's execution name, so that it is never taken for the delta it came from, yet a planner retried after a
 * crash sends the same carry-over again (docs/design.md §4.4).
 */
export function deduplicationId(delta: Delta, salt = ''): string {
  const ids = delta.messages.map((m) => m.messageId).sort();
  return createHash('sha256')
    .update(JSON.stringify(salt === '' ? [delta.hostedZoneId, ids] : [delta.hostedZoneId, ids, salt]))
    .digest('hex');
}

export const isRegistration = (m: Message): m is Registration =>
  m.kind === 'register' || m.kind === 'deregister' || m.kind === 'heartbeat';
export const isInstanceGone = (m: Message): m is InstanceGone => m.kind === 'instance-gone';
export const isSweep = (m: Message): m is Sweep => m.kind === 'sweep';
