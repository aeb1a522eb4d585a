// Zone-queue deltas (docs/design.md §3.5): the codec, packing by bytes, and the deduplication id.
import {
  CorruptDelta,
  type Delta,
  decodeDelta,
  deduplicationId,
  packDeltas,
} from '../../handlers/core/delta';
import type { Message } from '../../handlers/core/model';
import {
  deregisterOf,
  dynZone,
  heartbeatOf,
  instanceGoneOf,
  machine,
  registerOf,
  SENT,
  sweepAt,
  v4Zone,
} from '../helpers/messages';

const Z1 = dynZone.hostedZoneId;
const messages: Message[] = [
  registerOf(machine(1), 'web', SENT, { messageId: 'a' }),
  heartbeatOf(machine(2), 'web', SENT + 1, { messageId: 'b', addresses: { ipv6: machine(2).ipv6 } }),
  deregisterOf(machine(3), 'api', SENT + 2, { messageId: 'c' }),
  instanceGoneOf(machine(4), SENT + 3, 'd'),
  sweepAt(SENT + 4, 'e'),
];
const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

describe('decodeDelta', () => {
  it('reads back every kind of message exactly as it was written', () => {
    const delta: Delta = { v: 1, hostedZoneId: Z1, messages };

    expect(decodeDelta(JSON.stringify(delta))).toStrictEqual(delta);
  });

  it.each([
    ['not JSON', '{"v":1,', 'the zone-queue message is not JSON'],
    ['another version', JSON.stringify({ v: 2, hostedZoneId: Z1, messages: [] }), 'does not match'],
    ['a field too many', JSON.stringify({ v: 1, hostedZoneId: Z1, messages: [], x: 1 }), 'does not match'],
    [
      'a message of an unknown kind',
      JSON.stringify({ v: 1, hostedZoneId: Z1, messages: [{ kind: 'reboot', messageId: 'a', sentAt: 1 }] }),
      'does not match',
    ],
    [
      'a registration without its record',
      JSON.stringify({
        v: 1,
        hostedZoneId: Z1,
        messages: [{ kind: 'register', messageId: 'a', sentAt: 1, hostedZoneId: Z1, instanceId: 'i-1' }],
      }),
      'does not match',
    ],
    [
      'a raw body instead of a message',
      JSON.stringify({ v: 1, hostedZoneId: Z1, messages: ['{"v":1}'] }),
      'does not match',
    ],
  ])('refuses %s as a CorruptDelta', (_, body, detail) => {
    expect(() => decodeDelta(body)).toThrow(CorruptDelta);
    expect(() => decodeDelta(body)).toThrow(detail);
  });
});

describe('packDeltas', () => {
  const overhead = bytes({ v: 1, hostedZoneId: Z1, messages: [] });
  const size = (m: Message) => bytes(m) + 1;

  it('fills each delta up to the budget, in the order given, and starts the next one', () => {
    // Arrange: five messages of one size, and room for exactly two
    const alike = ['a', 'b', 'c', 'd', 'e'].map((id, n) =>
      registerOf(machine(n + 1), 'web', SENT, { messageId: id }),
    );
    const budget = overhead + 2 * size(alike[0] as Message);

    // Act
    const deltas = packDeltas(Z1, alike, budget);

    // Assert
    expect(deltas.map((d) => d.messages.map((m) => m.messageId))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(deltas.every((d) => d.v === 1 && d.hostedZoneId === Z1)).toBe(true);
    for (const delta of deltas) expect(bytes(delta)).toBeLessThanOrEqual(budget);
  });

  it('puts a message larger than the budget in a delta of its own rather than losing it', () => {
    const deltas = packDeltas(Z1, messages.slice(0, 2), overhead + 10);

    expect(deltas.map((d) => d.messages.map((m) => m.messageId))).toEqual([['a'], ['b']]);
  });

  it('packs everything into one delta under the default budget, and nothing into none', () => {
    expect(packDeltas(Z1, messages)).toEqual([{ v: 1, hostedZoneId: Z1, messages }]);
    expect(packDeltas(Z1, [])).toEqual([]);
  });
});

describe('deduplicationId', () => {
  const delta: Delta = { v: 1, hostedZoneId: Z1, messages };

  it('is the same for the same zone and message ids, in any order (a retried batcher sends the same delta)', () => {
    const reordered: Delta = { ...delta, messages: [...messages].reverse() };

    expect(deduplicationId(reordered)).toBe(deduplicationId(delta));
    expect(deduplicationId(delta)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differs for another zone or other messages', () => {
    const ids = [
      deduplicationId(delta),
      deduplicationId({ ...delta, hostedZoneId: v4Zone.hostedZoneId }),
      deduplicationId({ ...delta, messages: messages.slice(1) }),
    ];

    expect(new Set(ids).size).toBe(3);
  });
});
