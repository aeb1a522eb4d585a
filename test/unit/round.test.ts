// One zone round end to end on rrsets (docs/design.md §4.2-4.5): the deltas a receive holds, what Route 53 holds
// and the previous execution's verdicts -> exact dead letters, and the one execution with its input.
import { zoneEntry } from '../../handlers/core/allowlist';
import { reasonCode } from '../../handlers/core/contract';
import { messageBody } from '../../handlers/core/dead-letter';
import type { Message, RecordSet } from '../../handlers/core/model';
import type { Verdict } from '../../handlers/core/outcome';
import { encodeOwnerEntry, goneListName } from '../../handlers/core/registry';
import {
  GONE_LIST_CAPACITY,
  MAX_PARTS_PER_ROUND,
  planRound,
  type RoundInput,
  type RoundPlan,
  readsFor,
  retryDelaySeconds,
} from '../../handlers/core/round';
import {
  deregisterOf,
  dynZone,
  fleet,
  fqdn,
  goneEntry,
  HOUR,
  instanceGoneOf,
  machine,
  NOW,
  OWNER,
  registerOf,
  rrset,
  SENT,
  servedRRsets,
  sweepAt,
  upEntry,
  v4Zone,
  zoneWith,
} from '../helpers/messages';

const [m1, m2, m3] = [machine(1), machine(2), machine(3)];
const WEB = fqdn('web');
const API = fqdn('api');
const GONE_LIST = goneListName(dynZone.suffix);

const zoneDelta = (messageId: string, messages: Message[], receiveCount = 1) => ({
  messageId,
  receiptHandle: `h-${messageId}`,
  receiveCount,
  messages,
});

function round(overrides: Partial<RoundInput> & { messages?: Message[]; receiveCount?: number }): RoundPlan {
  const { messages = [], receiveCount = 1, ...rest } = overrides;
  return planRound({
    zone: dynZone,
    ownerId: OWNER,
    now: NOW,
    deltas: [zoneDelta('d-1', messages, receiveCount)],
    rrsets: [],
    verdicts: [],
    maxAttempts: 3,
    retryBackoff: { baseSeconds: 2, capSeconds: 60 },
    random: 0.5,
    ...rest,
  });
}

/** Dead letters as [message id, reason code]. */
const letters = (plan: RoundPlan) => plan.deadLetters.map((d) => [d.messageId, reasonCode(d.reason)]);
/** The relative names of each part's records. */
const partNames = (plan: RoundPlan) => plan.execution?.input.parts.map((p) => p.records.map((r) => r.name));

describe('planRound: the execution', () => {
  it('writes a new record in one part, names the execution for the round and shapes its input', () => {
    // Arrange
    const messages = [
      registerOf(m1, 'web', SENT, { messageId: 'a' }),
      registerOf(m2, 'web', SENT + 1, { messageId: 'b' }),
    ];
    const [a, aaaa, txt] = servedRRsets(WEB, [upEntry(m1, SENT), upEntry(m2, SENT + 1)]) as RecordSet[];

    // Act
    const plan = round({ messages });

    // Assert
    const handle = { Id: 'd0', ReceiptHandle: 'h-d-1' };
    expect(plan).toEqual({
      deadLetters: [],
      carryOver: [],
      deferred: 0,
      messages: 2,
      execution: {
        name: 'Z1TESTZONE00000000001-d-1-r1',
        writes: [expect.objectContaining({ record: WEB })],
        input: {
          hostedZoneId: dynZone.hostedZoneId,
          zone: zoneEntry(dynZone),
          parts: [
            {
              records: [
                {
                  name: 'web',
                  slots: [
                    [],
                    [{ Action: 'CREATE', ResourceRecordSet: a }],
                    [],
                    [{ Action: 'CREATE', ResourceRecordSet: aaaa }],
                    [],
                    [{ Action: 'CREATE', ResourceRecordSet: txt }],
                  ],
                },
              ],
            },
          ],
          release: {
            delete: [handle],
            later: [{ ...handle, VisibilityTimeout: 1 }],
          },
          summary: {
            round: 'receive 1 of 1 delta(s) from d-1',
            messages: 2,
            applied: 2,
            secondsSentToPlan: (NOW - SENT) / 1000,
            records: [{ record: WEB, added: [m1.ipv4, m1.ipv6, m2.ipv4, m2.ipv6].sort(), removed: [] }],
          },
        },
      },
    });
  });

  it('names the execution after the head delta and its receive count, and releases every delta of the round', () => {
    const plan = round({
      deltas: [
        zoneDelta('d-7', [registerOf(m1, 'web', SENT)], 3),
        zoneDelta('d-8', [registerOf(m2, 'api', SENT)], 2),
      ],
    });

    expect(plan.execution?.name).toBe('Z1TESTZONE00000000001-d-7-r3');
    expect(plan.execution?.input.release).toEqual({
      delete: [
        { Id: 'd0', ReceiptHandle: 'h-d-7' },
        { Id: 'd1', ReceiptHandle: 'h-d-8' },
      ],
      // full jitter at the third receive: ceil(0.5 * min(60, 2 * 2^2)) = 4 seconds
      later: [
        { Id: 'd0', ReceiptHandle: 'h-d-7', VisibilityTimeout: 4 },
        { Id: 'd1', ReceiptHandle: 'h-d-8', VisibilityTimeout: 4 },
      ],
    });
    expect(plan.execution?.input.summary.round).toBe('receive 3 of 2 delta(s) from d-7');
  });

  it('plans nothing when Route 53 already holds what the round folds to', () => {
    const rrsets = servedRRsets(WEB, [upEntry(m1, SENT)]);

    expect(round({ rrsets, messages: [registerOf(m1, 'web', SENT)] })).toEqual({
      deadLetters: [],
      carryOver: [],
      deferred: 0,
      messages: 1,
    });
  });
});

describe('planRound: dead letters', () => {
  it('refuses the messages of a record this stack does not own, and writes the others', () => {
    const rrsets = [rrset(WEB, 'A', ['203.0.113.5'])];
    const messages = [
      registerOf(m1, 'web', SENT, { messageId: 'a' }),
      deregisterOf(m2, 'web', SENT, { messageId: 'b' }),
      registerOf(m1, 'api', SENT, { messageId: 'c' }),
    ];

    const plan = round({ rrsets, messages });

    expect(plan.deadLetters).toEqual(
      ['a', 'b'].map((id, n) => ({
        messageId: id,
        body: messageBody(messages[n] as Message),
        reason: `not-managed: ${WEB} has an A record and no r53dyn registry`,
        sentAt: SENT,
        senderId: (messages[n] as { senderId: string }).senderId,
      })),
    );
    expect(partNames(plan)).toEqual([['api']]);
  });

  it('refuses a record Route 53 would refuse beside what is at its name (a CNAME)', () => {
    const plan = round({
      rrsets: [rrset(WEB, 'CNAME', ['elsewhere.example.test.'])],
      messages: [registerOf(m1, 'web', SENT, { messageId: 'a' })],
    });

    expect(letters(plan)).toEqual([['a', 'name-conflict']]);
    expect(plan.execution).toBeUndefined();
  });

  it('refuses only the newcomers that do not fit, and writes the rest', () => {
    const zone = zoneWith({ maxValuesPerRecord: 2 });
    const rrsets = servedRRsets(WEB, [upEntry(m1, SENT - 10)]);
    const messages = [
      registerOf(m2, 'web', SENT, { messageId: 'a' }),
      registerOf(m3, 'web', SENT + 1, { messageId: 'b' }),
    ];

    const plan = round({ zone, rrsets, messages });

    expect(letters(plan)).toEqual([['b', 'too-many-values']]);
    expect(plan.execution?.input.summary.records).toEqual([
      { record: WEB, added: [m2.ipv4, m2.ipv6].sort(), removed: [] },
    ]);
  });

  it('refuses a record whose changes cannot fit one ChangeBatch (another stack’s strings fill its registry)', () => {
    const foreign = Array.from(
      { length: 130 },
      (_, i) => `"note ${String(i).padStart(3, '0')} ${'x'.repeat(240)}"`,
    );
    const rrsets = [
      rrset(`_r53dyn.${WEB}`, 'TXT', [...foreign, encodeOwnerEntry(OWNER, upEntry(m1, SENT - 10))]),
    ];

    const plan = round({ rrsets, messages: [registerOf(m2, 'web', SENT, { messageId: 'a' })] });

    expect(letters(plan)).toEqual([['a', 'record-too-large']]);
    expect(plan.execution).toBeUndefined();
  });
});

describe('planRound: EC2 events, sweeps and the gone list', () => {
  it('reads the whole zone for an event, tombstones the instance where it holds an entry, and adds it to the gone list', () => {
    const rrsets = [
      ...servedRRsets(WEB, [upEntry(m1, SENT - 10), upEntry(m2, SENT - 10)]),
      ...servedRRsets(API, [upEntry(m2, SENT - 10)]),
    ];
    const event = instanceGoneOf(m1, SENT, 'e-1');

    const plan = round({ rrsets, messages: [event] });

    expect(readsFor([event])).toEqual({ wholeZone: true, names: [] });
    expect(partNames(plan)).toEqual([['_r53dyn-gone', 'web']]);
    const [goneList, web] = plan.execution?.input.parts[0]?.records ?? [];
    expect(goneList?.slots[5]).toEqual([
      {
        Action: 'CREATE',
        ResourceRecordSet: rrset(GONE_LIST, 'TXT', [encodeOwnerEntry(OWNER, goneEntry(m1, SENT))]),
      },
    ]);
    expect(web?.slots[5]).toEqual([
      {
        Action: 'CREATE',
        ResourceRecordSet: rrset(
          `_r53dyn.${WEB}`,
          'TXT',
          [goneEntry(m1, SENT), upEntry(m2, SENT - 10)].map((e) => encodeOwnerEntry(OWNER, e)),
        ),
      },
    ]);
  });

  it('costs one small write of the gone list for an instance that holds nothing', () => {
    const rrsets = servedRRsets(WEB, [upEntry(m2, SENT - 10)]);

    expect(partNames(round({ rrsets, messages: [instanceGoneOf(m1, SENT)] }))).toEqual([['_r53dyn-gone']]);
  });

  it('keeps the gone list to the newest entries within the tombstone horizon', () => {
    const listed = fleet(GONE_LIST_CAPACITY + 2).map((m, i) => goneEntry(m, NOW - HOUR + 1 + i));
    const old = goneEntry(machine(999), NOW - HOUR - 1);
    const rrsets = [
      rrset(
        GONE_LIST,
        'TXT',
        [...listed, old].map((e) => encodeOwnerEntry(OWNER, e)),
      ),
    ];

    const plan = round({ rrsets, messages: [instanceGoneOf(m1, SENT)] });

    const created =
      plan.execution?.input.parts[0]?.records[0]?.slots[5][0]?.ResourceRecordSet.ResourceRecords ?? [];
    expect(created).toHaveLength(GONE_LIST_CAPACITY);
    expect(created.map((r) => r.Value)).not.toContain(encodeOwnerEntry(OWNER, old));
    expect(created.map((r) => r.Value)).not.toContain(encodeOwnerEntry(OWNER, listed[0] ?? old));
  });

  it('ignores a register no newer than the instance’s entry in the gone list', () => {
    const rrsets = [rrset(GONE_LIST, 'TXT', [encodeOwnerEntry(OWNER, goneEntry(m1, SENT))])];

    const plan = round({ rrsets, messages: [registerOf(m1, 'web', SENT - 5, { messageId: 'late' })] });

    expect(plan).toEqual({ deadLetters: [], carryOver: [], deferred: 0, messages: 1 });
  });

  it('sweeps every registered record of the zone, not the gone list’s own registry', () => {
    const zone = v4Zone;
    const now = SENT + 400_000;
    const rrsets = [
      ...servedRRsets(fqdn('web', zone), [upEntry(m1, SENT, zone), upEntry(m2, now - 1000, zone)], { zone }),
      ...servedRRsets(fqdn('api', zone), [upEntry(m2, now - 1000, zone)], { zone }),
      rrset(goneListName(zone.suffix), 'TXT', [encodeOwnerEntry(OWNER, goneEntry(m3, now - 1000))]),
    ];

    const plan = round({ zone, now, rrsets, messages: [sweepAt(now)] });

    expect(partNames(plan)).toEqual([['web']]);
    expect(plan.execution?.input.summary.records).toEqual([
      { record: fqdn('web', zone), added: [], removed: [m1.ipv4] },
    ]);
  });
});

describe('planRound: verdicts of the previous execution', () => {
  const messages = [
    registerOf(m1, 'web', SENT, { messageId: 'w' }),
    registerOf(m2, 'api', SENT, { messageId: 'a' }),
  ];
  const retry = (scope: Verdict['scope'], reason: string): Verdict =>
    ({ kind: 'retry', scope, reason }) as Verdict;
  const refuse = (scope: Verdict['scope'], reason: string): Verdict =>
    ({ kind: 'refuse', scope, reason }) as Verdict;

  it('retries within the bound and dead-letters past it, with the last failure and the attempts', () => {
    const verdicts = [retry({ zone: true }, 'retries-exhausted: throttled')];

    const within = round({ messages, verdicts, receiveCount: 3 });
    const past = round({ messages, verdicts, receiveCount: 4 });

    expect(partNames(within)).toEqual([['api', 'web']]);
    expect(past.deadLetters.map((d) => [d.messageId, d.reason])).toEqual([
      ['w', 'retries-exhausted: throttled (after 3 attempts)'],
      ['a', 'retries-exhausted: throttled (after 3 attempts)'],
    ]);
    expect(past.execution).toBeUndefined();
  });

  it('dead-letters past the bound only the messages of the records a retry is about', () => {
    const plan = round({
      messages,
      verdicts: [retry({ records: new Set(['web']) }, 'write-conflict: raced')],
      receiveCount: 4,
    });

    expect(plan.deadLetters.map((d) => [d.messageId, d.reason])).toEqual([
      ['w', 'write-conflict: raced (after 3 attempts)'],
    ]);
    expect(partNames(plan)).toEqual([['api']]);
  });

  it('refuses the records a verdict names that still need a write, and writes the others', () => {
    const inEffect = servedRRsets(API, [upEntry(m2, SENT)]);
    const verdicts = [refuse({ records: new Set(['web', 'api']) }, 'invalid-change: Route 53 said no')];

    const plan = round({
      rrsets: inEffect,
      messages: [...messages, registerOf(m3, 'www', SENT, { messageId: 'x' })],
      verdicts,
    });

    expect(plan.deadLetters.map((d) => [d.messageId, d.reason])).toEqual([
      ['w', 'invalid-change: Route 53 said no'],
    ]);
    expect(partNames(plan)).toEqual([['www']]);
  });

  it('writes each isolated record in a part of its own, after the others', () => {
    const verdicts: Verdict[] = [{ kind: 'isolate', scope: { records: new Set(['api', 'web']) } }];

    const plan = round({ messages: [...messages, registerOf(m3, 'www', SENT)], verdicts });

    expect(partNames(plan)).toEqual([['www'], ['api'], ['web']]);
  });

  it('refuses the whole zone, and the events and sweeps that still had something to write', () => {
    const rrsets = servedRRsets(WEB, [upEntry(m3, SENT - 10)]);
    const all = [...messages, instanceGoneOf(m3, SENT, 'e'), sweepAt(SENT, 's')];

    const plan = round({ rrsets, messages: all, verdicts: [refuse({ zone: true }, 'zone-missing: gone')] });

    expect(letters(plan)).toEqual([
      ['a', 'zone-missing'],
      ['w', 'zone-missing'],
      ['e', 'zone-missing'],
      ['s', 'zone-missing'],
    ]);
    expect(plan.execution).toBeUndefined();
  });
});

describe('planRound: the round’s budget', () => {
  it(`carries at most ${MAX_PARTS_PER_ROUND} parts and carries the rest over to a delta of its own`, () => {
    const labels = Array.from(
      { length: MAX_PARTS_PER_ROUND + 2 },
      (_, i) => `r${String(i).padStart(2, '0')}`,
    );
    const verdicts: Verdict[] = [{ kind: 'isolate', scope: { records: new Set(labels) } }];

    const plan = round({ messages: labels.map((label) => registerOf(m1, label, SENT)), verdicts });

    expect(partNames(plan)).toEqual(labels.slice(0, MAX_PARTS_PER_ROUND).map((l) => [l]));
    expect(plan.deferred).toBe(2);
    expect(plan.carryOver.map((m) => (m.kind === 'register' ? m.record : m.kind))).toEqual(
      labels.slice(MAX_PARTS_PER_ROUND).map((l) => `${l}.${dynZone.suffix}.`),
    );
    expect(plan.execution?.input.release.delete).toHaveLength(1);
    expect(plan.execution?.input.summary).toMatchObject({
      messages: labels.length,
      applied: MAX_PARTS_PER_ROUND,
    });
  });

  it('stops adding parts at the size budget, before MAX_PARTS_PER_ROUND', () => {
    // 60 records of 40 machines: about 6 records a ChangeBatch, 10 parts, well over 256 KiB of input
    const machines = fleet(40);
    const messages = Array.from({ length: 60 }, (_, r) =>
      machines.map((m) => registerOf(m, `r${r}`, SENT)),
    ).flat();

    const plan = round({ messages });

    const parts = plan.execution?.input.parts.length ?? 0;
    expect(parts).toBeGreaterThan(0);
    expect(parts).toBeLessThan(MAX_PARTS_PER_ROUND);
    expect((plan.execution?.writes.length ?? 0) + plan.deferred).toBe(60);
    const carried = new Set(plan.carryOver.map((m) => m.messageId));
    expect(carried.size).toBe(plan.deferred * machines.length);
    expect(plan.deadLetters.filter((l) => carried.has(l.messageId))).toEqual([]);
    expect(plan.execution?.input.summary.applied).toBe(
      messages.length - carried.size - plan.deadLetters.length,
    );
  });
});

describe('retryDelaySeconds', () => {
  it.each([
    [0, 0, 1],
    [0, 0.5, 1],
    [0, 0.99, 2],
    [3, 0.5, 8],
    [10, 0.999, 60],
  ])('attempt %i with random %f waits %i s (base 2, cap 60, at least 1)', (attempt, random, seconds) => {
    expect(retryDelaySeconds({ baseSeconds: 2, capSeconds: 60 }, attempt, random)).toBe(seconds);
  });
});
