// The batcher's core (docs/design.md §4.1): SQS records -> what was received (its queue, its envelope, the relay
// role's trust), then accepted messages and dead letters, the newest per machine and record, packed per zone.
import fc from 'fast-check';
import { ATTRIBUTES, SQS_MESSAGE_LIMIT_BYTES, SWEEP_BODY } from '../../handlers/core/contract';
import { messageBody } from '../../handlers/core/dead-letter';
import { type IntakeOptions, intake, receivedFromSqs } from '../../handlers/core/intake';
import type { Message } from '../../handlers/core/model';
import { batcherSettings } from '../helpers/handler-deps';
import {
  dynZone,
  EVENTBRIDGE_SENDER_ID,
  ec2StateChange,
  eventRecord,
  fleet,
  HOUR,
  heartbeatOf,
  instanceGoneOf,
  instanceSenderId,
  labZone,
  machine,
  NOW,
  PERSON_ROLE_ID,
  RELAY_ROLE_ID,
  registerOf,
  registration,
  registrationRecord,
  SENT,
  sqsRecord,
  sweepAt,
  v4Zone,
} from '../helpers/messages';

const options: IntakeOptions = { ...batcherSettings(), now: NOW };
const m1 = machine(1);
const m2 = machine(2);

/** The batch as the batcher receives it. */
const received = (...records: ReturnType<typeof sqsRecord>[]) =>
  records.map((r) => receivedFromSqs(r, options));

/** A register of machine m for `label`, as the machine sends it. */
function registerRecord(messageId: string, m = m1, label = 'web', sentAt = SENT, zone = dynZone) {
  const addresses = zone.types.includes('AAAA') ? { ipv4: m.ipv4, ipv6: m.ipv6 } : { ipv4: m.ipv4 };
  return registrationRecord(
    messageId,
    { record: `${label}.${zone.suffix}`, instanceId: m.instanceId, ...addresses },
    sentAt,
  );
}

/** The normalised message intake makes of registerRecord. */
const registered = (messageId: string, m = m1, label = 'web', sentAt = SENT, zone = dynZone): Message =>
  registerOf(m, label, sentAt, { messageId, zone });

describe('receivedFromSqs', () => {
  const envelope = {
    [ATTRIBUTES.messageId]: 'original-id',
    [ATTRIBUTES.sentAt]: String(SENT - 5000),
    [ATTRIBUTES.senderId]: instanceSenderId(m2.instanceId),
  };

  it('reads a registration from the registrations queue with its own envelope', () => {
    const record = registerRecord('m-1');

    expect(receivedFromSqs(record, options)).toEqual({
      receiptId: 'm-1',
      messageId: 'm-1',
      body: record.body,
      sentAt: SENT,
      senderId: instanceSenderId(m1.instanceId),
      queue: 'registrations',
    });
  });

  it('knows the events queue by the record’s eventSourceARN, not by who sent it', () => {
    const fromEventBridge = eventRecord('e-1', SWEEP_BODY);
    const onRegistrations = sqsRecord(SWEEP_BODY, { messageId: 'e-2', senderId: EVENTBRIDGE_SENDER_ID });

    expect(receivedFromSqs(fromEventBridge, options).queue).toBe('events');
    expect(receivedFromSqs(onRegistrations, options).queue).toBe('registrations');
  });

  it('believes the original id, sent time and sender from the relay role (docs/design.md §7.3)', () => {
    const record = sqsRecord(registration(), {
      messageId: 'redriven-1',
      senderId: `${RELAY_ROLE_ID}:operator`,
      sentTimestamp: SENT,
      messageAttributes: { ...envelope, [ATTRIBUTES.sentAt]: String(SENT + 5000) },
    });

    expect(receivedFromSqs(record, options)).toEqual({
      receiptId: 'redriven-1',
      messageId: 'original-id',
      body: record.body,
      sentAt: SENT + 5000,
      senderId: instanceSenderId(m2.instanceId),
      queue: 'registrations',
    });
  });

  it.each([
    ['an instance', instanceSenderId(m1.instanceId)],
    ['a session of another role named like the relay', `${PERSON_ROLE_ID}:operator`],
  ])('believes from %s only a sent time earlier than SQS’s, nothing else', (_, senderId) => {
    const earlier = sqsRecord(registration(), { messageId: 'r-1', senderId, messageAttributes: envelope });
    const later = sqsRecord(registration(), {
      messageId: 'r-2',
      senderId,
      messageAttributes: { ...envelope, [ATTRIBUTES.sentAt]: String(SENT + 1) },
    });

    expect(receivedFromSqs(earlier, options)).toMatchObject({
      messageId: 'r-1',
      sentAt: SENT - 5000,
      senderId,
    });
    expect(receivedFromSqs(later, options)).toMatchObject({ messageId: 'r-2', sentAt: SENT, senderId });
  });

  it('takes SQS’s id and time when the relay role sends without an envelope, and no sender to bind', () => {
    const record = sqsRecord(registration(), { messageId: 'r-1', senderId: `${RELAY_ROLE_ID}:operator` });

    expect(receivedFromSqs(record, options)).toEqual({
      receiptId: 'r-1',
      messageId: 'r-1',
      body: record.body,
      sentAt: SENT,
      queue: 'registrations',
    });
    expect(intake([receivedFromSqs(record, options)], options).deadLetters[0]?.letter.reason).toBe(
      'missing-sender: no SenderId to bind the instance to',
    );
  });
});

describe('intake: what is dead-lettered', () => {
  it('dead-letters each refused delivery with its reason, original body and envelope, and packs the rest', () => {
    // Arrange
    const stale = SENT - HOUR;
    const batch = received(
      registerRecord('m-1'),
      sqsRecord('{', { messageId: 'm-2' }),
      sqsRecord(ec2StateChange(m2.instanceId, 'terminated'), { messageId: 'm-3' }),
      registerRecord('m-4', m2, 'api', stale),
      sqsRecord(registration(), { messageId: 'm-5', attributes: { SentTimestamp: undefined } }),
    );
    const options2 = { ...options, now: SENT + 1000 };

    // Act
    const result = intake(batch, options2);

    // Assert
    const sender = instanceSenderId();
    expect(result.deadLetters).toEqual([
      {
        receiptId: 'm-2',
        letter: {
          messageId: 'm-2',
          body: '{',
          reason: 'not-json: body is not valid JSON: "{"',
          sentAt: SENT,
          senderId: sender,
        },
      },
      {
        receiptId: 'm-3',
        letter: {
          messageId: 'm-3',
          body: JSON.stringify(ec2StateChange(m2.instanceId, 'terminated')),
          reason:
            'event-not-trusted: an EC2 event is accepted only from the events queue, which only EventBridge can write',
          sentAt: SENT,
          senderId: sender,
        },
      },
      {
        receiptId: 'm-4',
        letter: {
          messageId: 'm-4',
          body: messageBody(registered('m-4', m2, 'api', stale)),
          reason: `stale: register sent at ${new Date(stale).toISOString()}, more than an hour before it could be applied`,
          sentAt: stale,
          senderId: instanceSenderId(m2.instanceId),
        },
      },
      {
        receiptId: 'm-5',
        letter: {
          messageId: 'm-5',
          body: JSON.stringify(registration()),
          reason: 'missing-sent-timestamp: SQS gave no SentTimestamp',
          sentAt: 0,
          senderId: sender,
        },
      },
    ]);
    expect(result.deltas).toEqual([
      { v: 1, hostedZoneId: dynZone.hostedZoneId, messages: [registered('m-1')] },
    ]);
    expect(result.receiptIdsByDelta).toEqual([['m-1']]);
  });

  it('dead-letters a registration from a role that is no instance role, and accepts the same from the instance', () => {
    const forged = sqsRecord(registration({ instanceId: m1.instanceId }), {
      messageId: 'f-1',
      senderId: `${PERSON_ROLE_ID}:${m1.instanceId}`,
    });

    const result = intake(received(forged, registerRecord('m-1')), options);

    expect(result.deadLetters.map((d) => [d.receiptId, d.letter.reason])).toEqual([
      [
        'f-1',
        `sender-not-instance: sender "${PERSON_ROLE_ID}:${m1.instanceId}" is not a session of an allowed instance role`,
      ],
    ]);
    expect(result.receiptIdsByDelta).toEqual([['m-1']]);
  });

  it('dead-letters a redriven message under the original id and sender the relay role vouches for', () => {
    const record = sqsRecord('not json', {
      messageId: 'redriven-1',
      senderId: `${RELAY_ROLE_ID}:operator`,
      messageAttributes: {
        [ATTRIBUTES.messageId]: 'original-id',
        [ATTRIBUTES.sentAt]: String(SENT - 1),
        [ATTRIBUTES.senderId]: instanceSenderId(m2.instanceId),
      },
    });

    expect(intake(received(record), options).deadLetters).toEqual([
      {
        receiptId: 'redriven-1',
        letter: {
          messageId: 'original-id',
          body: 'not json',
          reason: 'not-json: body is not valid JSON: "not json"',
          sentAt: SENT - 1,
          senderId: instanceSenderId(m2.instanceId),
        },
      },
    ]);
  });
});

describe('intake: newest per machine and record', () => {
  it('keeps the newest message of a machine for a record, acknowledging the others with it', () => {
    // Arrange
    const batch = received(
      registerRecord('m-1', m1, 'web', SENT),
      registrationRecord(
        'm-2',
        { action: 'heartbeat', instanceId: m1.instanceId, ipv4: m1.ipv4, ipv6: m1.ipv6 },
        SENT + 1000,
      ),
      registerRecord('m-3', m2, 'web', SENT + 500),
      registerRecord('m-4', m1, 'api', SENT + 2000),
      registrationRecord('m-5', { instanceId: m1.instanceId, ipv4: '52.95.0.99' }, SENT + 500),
    );

    // Act
    const result = intake(batch, options);

    // Assert
    expect(result.deltas).toEqual([
      {
        v: 1,
        hostedZoneId: dynZone.hostedZoneId,
        messages: [
          registered('m-3', m2, 'web', SENT + 500),
          heartbeatOf(m1, 'web', SENT + 1000, { messageId: 'm-2' }),
          registered('m-4', m1, 'api', SENT + 2000),
        ],
      },
    ]);
    expect(result.receiptIdsByDelta).toEqual([['m-3', 'm-1', 'm-2', 'm-5', 'm-4']]);
  });

  it('gives a deregister sent in the same millisecond as a register the last word, in either order', () => {
    const deregister = registrationRecord('d-1', { action: 'deregister', instanceId: m1.instanceId }, SENT);
    const register = registerRecord('r-1', m1, 'web', SENT);

    const one = intake(received(deregister, register), options);
    const other = intake(received(register, deregister), options);

    expect(one.deltas.flatMap((d) => d.messages.map((m) => m.messageId))).toEqual(['d-1']);
    expect(other.deltas).toEqual(one.deltas);
  });

  it('keeps the register of a register and a heartbeat sent in the same millisecond, in either order', () => {
    const register = registerRecord('r-1', m1, 'web', SENT);
    const heartbeat = registrationRecord(
      'h-1',
      { action: 'heartbeat', instanceId: m1.instanceId, ipv4: m1.ipv4, ipv6: m1.ipv6 },
      SENT,
    );

    const one = intake(received(heartbeat, register), options);
    const other = intake(received(register, heartbeat), options);

    expect(one.deltas.flatMap((d) => d.messages.map((m) => m.messageId))).toEqual(['r-1']);
    expect(other.deltas).toEqual(one.deltas);
  });

  it('keeps one event per instance (the newest) and one sweep', () => {
    const batch = received(
      eventRecord('e-1', ec2StateChange(m1.instanceId, 'stopping'), SENT),
      eventRecord('e-2', ec2StateChange(m1.instanceId, 'terminated'), SENT + 10),
      eventRecord('s-1', SWEEP_BODY, SENT + 20),
      eventRecord('s-2', SWEEP_BODY, SENT + 5),
    );

    const result = intake(batch, options);

    expect(result.deltas[0]?.messages).toEqual([
      { ...instanceGoneOf(m1, SENT + 10, 'e-2'), senderId: EVENTBRIDGE_SENDER_ID },
      { ...sweepAt(SENT + 20, 's-1'), senderId: EVENTBRIDGE_SENDER_ID },
    ]);
    expect(result.receiptIdsByDelta[0]).toEqual(['e-1', 'e-2', 's-1', 's-2']);
  });
});

describe('intake: packing per zone', () => {
  it('packs each zone’s registrations into its own delta, in allowlist order, by sent time then id', () => {
    const batch = received(
      registerRecord('b', m1, 'web', SENT + 2, labZone),
      registerRecord('a', m2, 'web', SENT + 2, labZone),
      registerRecord('c', m1, 'web', SENT + 1, v4Zone),
      registerRecord('d', m1, 'web', SENT + 3, dynZone),
    );

    const result = intake(batch, options);

    expect(result.deltas).toEqual([
      { v: 1, hostedZoneId: dynZone.hostedZoneId, messages: [registered('d', m1, 'web', SENT + 3, dynZone)] },
      { v: 1, hostedZoneId: v4Zone.hostedZoneId, messages: [registered('c', m1, 'web', SENT + 1, v4Zone)] },
      {
        v: 1,
        hostedZoneId: labZone.hostedZoneId,
        messages: [
          registered('a', m2, 'web', SENT + 2, labZone),
          registered('b', m1, 'web', SENT + 2, labZone),
        ],
      },
    ]);
    expect(result.receiptIdsByDelta).toEqual([['d'], ['c'], ['a', 'b']]);
  });

  it('puts EC2 events and sweeps into a delta of every zone, beside that zone’s registrations', () => {
    const batch = received(
      registerRecord('r-1', m2, 'web', SENT + 1, v4Zone),
      eventRecord('e-1', ec2StateChange(m1.instanceId, 'terminated'), SENT),
      eventRecord('s-1', SWEEP_BODY, SENT + 2),
    );
    const gone = { ...instanceGoneOf(m1, SENT, 'e-1'), senderId: EVENTBRIDGE_SENDER_ID };
    const sweep = { ...sweepAt(SENT + 2, 's-1'), senderId: EVENTBRIDGE_SENDER_ID };

    const result = intake(batch, options);

    expect(result.deltas).toEqual([
      { v: 1, hostedZoneId: dynZone.hostedZoneId, messages: [gone, sweep] },
      {
        v: 1,
        hostedZoneId: v4Zone.hostedZoneId,
        messages: [gone, registered('r-1', m2, 'web', SENT + 1, v4Zone), sweep],
      },
      { v: 1, hostedZoneId: labZone.hostedZoneId, messages: [gone, sweep] },
    ]);
    expect(result.receiptIdsByDelta).toEqual([
      ['e-1', 's-1'],
      ['e-1', 'r-1', 's-1'],
      ['e-1', 's-1'],
    ]);
  });

  it('splits a zone’s messages into several deltas once one would pass the SQS message budget', () => {
    // Arrange: 1500 machines on 15 records, each message about 250 bytes
    const machines = fleet(1500);
    const batch = received(...machines.map((m, i) => registerRecord(`m-${i}`, m, `web${i % 15}`, SENT + i)));

    // Act
    const result = intake(batch, options);

    // Assert
    const sizes = result.deltas.map((d) => Buffer.byteLength(JSON.stringify(d)));
    expect(result.deltas.length).toBe(2);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(SQS_MESSAGE_LIMIT_BYTES - 8192);
    expect(result.receiptIdsByDelta.flat()).toEqual(machines.map((_, i) => `m-${i}`));
    expect(result.deltas.map((d) => decodeDeltaRoundTrip(d))).toEqual(result.deltas);
  });
});

function decodeDeltaRoundTrip<T>(delta: T): T {
  return JSON.parse(JSON.stringify(delta)) as T;
}

describe('intake: every delivery is answered once', () => {
  const deliveries = fc.array(
    fc.record({
      kind: fc.constantFrom('register', 'heartbeat', 'deregister', 'bad', 'event', 'sweep', 'forged-event'),
      machine: fc.integer({ min: 1, max: 4 }),
      label: fc.constantFrom('web', 'api'),
      zone: fc.constantFrom(dynZone, v4Zone),
      offset: fc.integer({ min: 0, max: 5 }),
    }),
    { maxLength: 40 },
  );

  it('answers each receipt by exactly one dead letter or by the deltas (once per zone for events)', () => {
    fc.assert(
      fc.property(deliveries, (specs) => {
        const records = specs.map((spec, i) => {
          const m = machine(spec.machine);
          const id = `r-${i}`;
          const sentAt = SENT + spec.offset;
          switch (spec.kind) {
            case 'bad':
              return sqsRecord('[]', { messageId: id });
            case 'event':
              return eventRecord(id, ec2StateChange(m.instanceId, 'stopped'), sentAt);
            case 'sweep':
              return eventRecord(id, SWEEP_BODY, sentAt);
            case 'forged-event':
              return sqsRecord(SWEEP_BODY, { messageId: id, sentTimestamp: sentAt });
            default:
              return registrationRecord(
                id,
                {
                  action: spec.kind,
                  record: `${spec.label}.${spec.zone.suffix}`,
                  instanceId: m.instanceId,
                  ipv4: m.ipv4,
                },
                sentAt,
              );
          }
        });

        const result = intake(received(...records), options);

        const lettered = result.deadLetters.map((d) => d.receiptId);
        const packed = new Set(result.receiptIdsByDelta.flat());
        expect(new Set([...lettered, ...packed])).toEqual(new Set(records.map((r) => r.messageId)));
        expect(lettered.filter((id) => packed.has(id))).toEqual([]);
        expect(new Set(lettered).size).toBe(lettered.length);
        for (const ids of result.receiptIdsByDelta) expect(new Set(ids).size).toBe(ids.length);
      }),
    );
  });
});
