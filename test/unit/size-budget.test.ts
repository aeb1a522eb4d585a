// Issue 10, the size budget (docs/design.md §3.5, §5.3): the largest batch the batcher accepts, of the largest
// messages, becomes deltas that each fit an SQS message; the largest round the planner can receive becomes an
// execution input that, with what the workflow adds to it, fits Step Functions' 256 KiB; and so does a round whose
// part is as large as a ChangeBatch can be. The sizes are printed.

import { processBatch } from '../../handlers/batcher';
import { SQS_MESSAGE_LIMIT_BYTES, STATE_DATA_LIMIT_BYTES } from '../../handlers/core/contract';
import { measureChanges, registryCapacity } from '../../handlers/core/limits';
import type { Registration } from '../../handlers/core/model';
import { slotChanges } from '../../handlers/core/plan';
import { planRound } from '../../handlers/core/round';
import {
  STATE_GROWTH_FIXED_BYTES,
  STATE_GROWTH_PER_RECORD_BYTES,
  type WorkflowInput,
} from '../../handlers/core/workflow-input';
import { processDeltas } from '../../handlers/planner';
import { parseStageConfig } from '../../infra/stage-config';
import {
  batcherDeps,
  batcherSettings,
  eventOf,
  failures,
  fakeAws,
  plannerDeps,
  ZONE_QUEUE_URL,
} from '../helpers/handler-deps';
import {
  dynZone,
  type Machine,
  NOW,
  OWNER,
  registerOf,
  registration,
  SENT,
  servedRRsets,
  sqsRecord,
  upEntry,
  zoneWith,
} from '../helpers/messages';

/** A role unique id as long as IAM makes them, so that SenderIds are as long as they get. */
const LONG_ROLE_ID = `AROA${'Q'.repeat(124)}`;

/** Machine i with the longest values a message can carry: an ECS task id, a 15-character IPv4, a 39-character IPv6. */
function longestMachine(i: number): Machine {
  return {
    instanceId: (0x10000000 + i).toString(16).padStart(32, 'f'),
    ipv4: `154.${100 + Math.floor(i / 10000)}.${100 + (Math.floor(i / 100) % 100)}.${100 + (i % 100)}`,
    ipv6: `2600:1f18:${(0x1000 + (i % 0xefff)).toString(16)}:${(0x1000 + Math.floor(i / 0xefff)).toString(16)}:abcd:ef01:2345:6789`,
  };
}

/** A record name of 245 octets below dyn.example.test, the longest with room for the registry prefix. */
function longestLabel(i: number): string {
  const head = `r${String(i).padStart(5, '0')}`;
  const room = 245 - dynZone.suffix.length - 1 - head.length - 1;
  const fill = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(room - 3 * 64)].join('.');
  return `${head}.${fill}`;
}

/** The register of machine i for record i, padded with white space to the 4 KiB a body may have. */
function largestRecord(i: number) {
  const m = longestMachine(i);
  const body = JSON.stringify(
    registration({
      record: `${longestLabel(i)}.${dynZone.suffix}`,
      instanceId: m.instanceId,
      ipv4: m.ipv4,
      ipv6: m.ipv6,
    }),
  );
  return sqsRecord(body + ' '.repeat(4096 - Buffer.byteLength(body)), {
    messageId: `3f1c9a2e-7b4d-4e8f-9a1b-${String(i).padStart(12, '0')}`,
    senderId: `${LONG_ROLE_ID}:${m.instanceId}`,
  });
}

/** The largest batch size a stage may configure. */
function largestBatchSize(): number {
  const stage = (size: number) => `ownerId: ${OWNER}\nbatcher: { batchSize: ${size} }\n`;
  expect(() => parseStageConfig('test', stage(10_001), {})).toThrow('batcher.batchSize');
  return parseStageConfig('test', stage(10_000), {}).batcher.batchSize;
}

const grown = (input: WorkflowInput, bytes: number) =>
  bytes +
  STATE_GROWTH_FIXED_BYTES +
  input.parts.reduce((n, p) => n + p.records.length, 0) * STATE_GROWTH_PER_RECORD_BYTES;

function largestPart(input: WorkflowInput) {
  return input.parts
    .map((p) => measureChanges(p.records.flatMap((r) => slotChanges(r.slots))))
    .reduce((a, b) => (b.characters > a.characters ? b : a), { elements: 0, characters: 0 });
}

describe('the size budget (issue 10)', () => {
  it('packs the largest batch of the largest messages into deltas that fit SQS, and the largest round into an input that fits Step Functions', async () => {
    // Arrange
    const batchSize = largestBatchSize();
    const aws = fakeAws(() => NOW);
    aws.route53.createZone(dynZone.hostedZoneId);
    const settings = batcherSettings({ senderBinding: { instanceRoleIds: [LONG_ROLE_ID] } });
    const records = Array.from({ length: batchSize }, (_, i) => largestRecord(i));

    // Act
    const batch = await processBatch(
      eventOf(...records),
      batcherDeps(aws, () => NOW, settings),
    );
    const round = aws.sqs.receive(ZONE_QUEUE_URL, 10);
    const queuedBefore = aws.sqs.messages(ZONE_QUEUE_URL).length;
    const planned = await processDeltas(
      eventOf(...round),
      plannerDeps(aws, () => NOW),
    );

    // Assert
    const deltas = aws.sqs.messages(ZONE_QUEUE_URL).map((m) => Buffer.byteLength(m.body));
    const [start] = aws.sfn.inputsOf<{ input: string }>('StartExecution');
    const input = JSON.parse(start?.input ?? '{"parts":[],"summary":{"records":[]}}') as WorkflowInput;
    const inputBytes = Buffer.byteLength(start?.input ?? '');
    console.log(
      `issue 10: ${batchSize} messages of ${Buffer.byteLength(records[0]?.body ?? '')} bytes -> ${deltas.length} deltas, ` +
        `the largest ${Math.max(...deltas)} bytes (SQS: ${SQS_MESSAGE_LIMIT_BYTES}); a round of ${round.length} deltas -> ` +
        `${input?.parts.length} parts of ${input?.summary.records.length} records, input ${inputBytes} bytes, ` +
        `${grown(input, inputBytes)} with the workflow's growth (Step Functions: ${STATE_DATA_LIMIT_BYTES}); ` +
        `largest part ${JSON.stringify(largestPart(input))}`,
    );
    expect(batch).toEqual(failures());
    expect(Math.max(...deltas)).toBeLessThanOrEqual(SQS_MESSAGE_LIMIT_BYTES);
    expect(round).toHaveLength(10);
    expect(planned).toEqual(failures(...round.map((r) => r.messageId)));
    expect(aws.sfn.executions.size).toBe(1);
    expect(grown(input, inputBytes)).toBeLessThanOrEqual(STATE_DATA_LIMIT_BYTES);
    // the records the budget left out went back on the zone queue, in deltas of their own
    expect(aws.sqs.messages(ZONE_QUEUE_URL).length).toBeGreaterThan(queuedBefore);
  });

  it('fits a round whose part is as large as a ChangeBatch can be: a full record replaced, every value of the longest kind', () => {
    // Arrange: A and AAAA at the most values the registry budget allows; 82 machines leave, 82 others come
    const zone = zoneWith({ maxValuesPerRecord: 82 });
    const label = longestLabel(0);
    const leaving = Array.from({ length: 82 }, (_, i) => longestMachine(i));
    const coming = Array.from({ length: 82 }, (_, i) => longestMachine(1000 + i));
    const rrsets = servedRRsets(
      `${label}.${zone.suffix}.`,
      leaving.map((m) => upEntry(m, SENT)),
      { zone },
    );
    const messages: Registration[] = [
      ...leaving.map((m, i) => ({
        ...registerOf(m, label, SENT + 1, { zone }),
        kind: 'deregister' as const,
        messageId: `l-${i}`,
        ipv4: undefined,
        ipv6: undefined,
      })),
      ...coming.map((m, i) => registerOf(m, label, SENT + 2, { zone, messageId: `c-${i}` })),
    ].map(({ ipv4, ipv6, ...rest }) => ({ ...rest, ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) }));

    // Act
    const plan = planRound({
      zone,
      ownerId: OWNER,
      now: NOW,
      deltas: Array.from({ length: 10 }, (_, d) => ({
        messageId: `delta-${d}`,
        receiptHandle: 'h'.repeat(1024),
        receiveCount: 1,
        messages: messages.filter((_, n) => n % 10 === d),
      })),
      rrsets,
      verdicts: [],
      maxAttempts: 3,
      retryBackoff: { baseSeconds: 1, capSeconds: 8 },
      random: 0,
    });

    // Assert
    const input = plan.execution?.input as WorkflowInput;
    const inputBytes = Buffer.byteLength(JSON.stringify(input));
    const part = largestPart(input);
    console.log(
      `issue 10: a full ChangeBatch part ${JSON.stringify(part)} (registry capacity ${registryCapacity(zone, OWNER)}) -> ` +
        `input ${inputBytes} bytes, ${grown(input, inputBytes)} with the workflow's growth`,
    );
    expect(part.characters).toBeGreaterThan(30_000);
    expect(part.characters).toBeLessThanOrEqual(32_000);
    expect(grown(input, inputBytes)).toBeLessThanOrEqual(STATE_DATA_LIMIT_BYTES);
  });
});
