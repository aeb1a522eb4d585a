// One SQS body -> a Message or a Rejection with its code (docs/design.md §3.1, §3.6), sender binding by instance
// role id (§7.1), and EC2 events and sweeps believed from the events queue only (§7.2).
import fc from 'fast-check';
import { z } from 'zod';
import { REASON_CODES } from '../../handlers/core/contract';
import {
  isRejection,
  type MessageContext,
  type ParseOptions,
  parseMessage,
  roleSessionOf,
} from '../../handlers/core/message';
import type { Message, Rejection } from '../../handlers/core/model';
import badMessages from '../data/bad-messages.json';
import goodMessages from '../data/good-messages.json';
import {
  EVENTBRIDGE_SENDER_ID,
  ec2StateChange,
  INSTANCE_ROLE_ID,
  instanceSenderId,
  PERSON_ROLE_ID,
  registration,
  SENT,
  TASK_ROLE_ID,
  testAllowlist,
} from '../helpers/messages';

type Queue = MessageContext['queue'];
const context: MessageContext = { messageId: 'message-1', sentAt: SENT, queue: 'registrations' };
const unbound: ParseOptions = { allowlist: testAllowlist, senderBinding: false };
const bound: ParseOptions = {
  allowlist: testAllowlist,
  senderBinding: { instanceRoleIds: [INSTANCE_ROLE_ID, TASK_ROLE_ID] },
};

function parse(
  body: unknown,
  options: ParseOptions = unbound,
  senderId?: string,
  queue: Queue = 'registrations',
): Message | Rejection {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const from = { ...context, queue };
  return parseMessage(text, senderId === undefined ? from : { ...from, senderId }, options);
}

/** An EC2 event or a sweep as it comes through the events queue. */
const fromEvents = (body: unknown, options: ParseOptions = unbound, senderId?: string) =>
  parse(body, options, senderId, 'events');

function rejected(reason: string): Rejection {
  return { messageId: 'message-1', reason };
}

function codeOf(result: Message | Rejection): Message | { code: string } {
  return isRejection(result) ? { code: result.reason.split(':')[0] ?? '' } : result;
}

// Bodies too long or too repetitive to write out are described as text repeated n times, concatenated.
const corpusEntry = z.strictObject({
  name: z.string(),
  body: z.string().optional(),
  bodyGenerator: z.strictObject({ parts: z.array(z.tuple([z.string(), z.int().min(1)])) }).optional(),
  reason: z.enum(REASON_CODES),
  senderId: z.string().optional(),
  queue: z.enum(['registrations', 'events']).optional(),
});

function corpusBody(entry: z.infer<typeof corpusEntry>): string {
  if (entry.bodyGenerator === undefined) return entry.body ?? '';
  return entry.bodyGenerator.parts.map(([text, times]) => text.repeat(times)).join('');
}

describe('the bad-message corpus', () => {
  const corpus = z.array(corpusEntry).min(60).parse(badMessages);

  // An entry with a senderId runs with sender binding on; the others run with it off.
  test.each(corpus)('$name is rejected as $reason', (entry) => {
    // Arrange
    const body = corpusBody(entry);
    const options = entry.senderId === undefined ? unbound : bound;

    // Act
    const result = parse(body, options, entry.senderId, entry.queue);

    // Assert
    expect(codeOf(result)).toEqual({ code: entry.reason });
  });

  test('covers every code the parser gives, and only those', () => {
    const parserCodes = REASON_CODES.slice(0, REASON_CODES.indexOf('event-not-trusted') + 1);

    expect(new Set(corpus.map((entry) => entry.reason))).toEqual(new Set(parserCodes));
  });
});

describe('the good-message corpus', () => {
  const corpus = z
    .array(
      z.strictObject({
        name: z.string(),
        body: z.string(),
        expected: z.record(z.string(), z.unknown()),
        senderId: z.string().optional(),
        queue: z.enum(['registrations', 'events']).optional(),
      }),
    )
    .parse(goodMessages);

  test.each(corpus)('$name', (entry) => {
    // Arrange
    const options = entry.senderId === undefined ? unbound : bound;

    // Act
    const result = parse(entry.body, options, entry.senderId, entry.queue);

    // Assert
    expect(result).toStrictEqual({ ...entry.expected, messageId: 'message-1', sentAt: context.sentAt });
  });
});

describe('registrations', () => {
  test('a register becomes a Registration in the zone of its record', () => {
    // Act
    const result = parse(registration({ record: 'Web.Dyn.Example.Test.', ipv6: '2600:1F18::0:1' }));

    // Assert
    expect(result).toStrictEqual({
      kind: 'register',
      messageId: 'message-1',
      record: 'web.dyn.example.test.',
      hostedZoneId: 'Z1TESTZONE00000000001',
      instanceId: 'i-0123456789abcdef0',
      ipv4: '52.95.110.1',
      ipv6: '2600:1f18::1',
      sentAt: 1_735_689_600_000,
    });
  });

  test('reasons name the field and the offending value', () => {
    expect(parse(registration({ ipv4: '10.1.2.3' }))).toEqual(
      rejected(
        'non-public-address: ipv4 "10.1.2.3" is private and zone dyn.example.test allows only public addresses',
      ),
    );
    expect(parse(registration({ record: 'web.lab.example.test', ipv6: 'ff02::1' }))).toEqual(
      rejected('non-public-address: ipv6 "ff02::1" is multicast, which no zone may publish'),
    );
    expect(parse(registration({ record: 'dyn.example.test' }))).toEqual(
      rejected(
        'record-not-allowed: record "dyn.example.test." is a zone apex; only names strictly below it can be registered',
      ),
    );
    expect(parse(registration({ record: '*.dyn.example.test' }))).toEqual(
      rejected('bad-record-name: record "*.dyn.example.test" contains a wildcard (*)'),
    );
    expect(parse({ ...registration(), ttl: 60 })).toEqual(
      rejected('unknown-field: field "ttl" is not part of the message'),
    );
    expect(parse({ ...registration(), record: 5 })).toEqual(
      rejected('wrong-type: record must be a string, got a number'),
    );
    expect(parse(registration({ record: 'web.v4only.example.test', ipv6: '2600::1' }))).toEqual(
      rejected(
        'address-type-not-allowed: ipv6 "2600::1": zone v4only.example.test does not allow AAAA records',
      ),
    );
    expect(parse('x'.repeat(4097))).toEqual(
      rejected('too-large: body is 4097 bytes, over the 4096-byte limit'),
    );
  });

  test('a body of exactly 4096 bytes is within the limit', () => {
    // Arrange
    const message = { ...registration(), record: '' };
    const padding = 4096 - JSON.stringify(message).length;
    const body = JSON.stringify({ ...message, record: `${'a'.repeat(padding)}` });

    // Act
    const result = parse(body);

    // Assert: it gets past the size check, to the name check
    expect(body.length).toBe(4096);
    expect(codeOf(result)).toEqual({ code: 'bad-record-name' });
  });

  test('offending values are truncated and control characters escaped', () => {
    // Arrange
    const record = `\u0007${'a'.repeat(200)}`;

    // Act
    const result = parse(registration({ record }));

    // Assert: 100 characters shown, counting the six of the escape
    expect(result).toEqual(
      rejected(`bad-record-name: record "\\u0007${'a'.repeat(94)}…" contains a control character`),
    );
  });

  test('quotes and lone surrogates in a value cannot break the reason', () => {
    expect(parse({ ...registration(), action: 'x"\ud800' })).toEqual(
      rejected('unknown-action: action "x\\"\\ud800" is not register, deregister, heartbeat or sweep'),
    );
  });
});

describe('EC2 state-change events and sweeps', () => {
  test.each(['stopping', 'stopped', 'shutting-down', 'terminated'])(
    '%s means the instance is gone',
    (state) => {
      expect(fromEvents(ec2StateChange('i-0fedcba9876543210', state))).toStrictEqual({
        kind: 'instance-gone',
        messageId: 'message-1',
        instanceId: 'i-0fedcba9876543210',
        sentAt: context.sentAt,
      });
    },
  );

  test('running is ignored with a reason', () => {
    expect(fromEvents(ec2StateChange('i-0fedcba9876543210', 'running'))).toEqual(
      rejected('ec2-state-ignored: state "running" does not mean the instance is gone'),
    );
  });

  test('a sweep is exactly {v:1, action:sweep}', () => {
    expect(fromEvents({ v: 1, action: 'sweep' })).toStrictEqual({
      kind: 'sweep',
      messageId: 'message-1',
      sentAt: context.sentAt,
    });
  });
});

describe('events and sweeps come from the events queue only', () => {
  test.each([
    ['an EC2 event', ec2StateChange('i-0fedcba9876543210', 'terminated'), 'an EC2 event'],
    ['a sweep', { v: 1, action: 'sweep' }, 'a sweep'],
  ])('%s through the registrations queue is event-not-trusted, with or without binding', (_, body, what) => {
    const refusal = rejected(
      `event-not-trusted: ${what} is accepted only from the events queue, which only EventBridge can write`,
    );

    expect(parse(body, unbound)).toEqual(refusal);
    expect(parse(body, bound, EVENTBRIDGE_SENDER_ID)).toEqual(refusal);
    expect(parse(body, bound, instanceSenderId())).toEqual(refusal);
  });

  test('an event of another kind is unknown-event before its queue is asked about', () => {
    const event = { ...ec2StateChange('i-0fedcba9876543210', 'terminated'), source: 'custom.app' };

    expect(codeOf(parse(event))).toEqual({ code: 'unknown-event' });
  });

  test('a sweep with a field too many is unknown-field on either queue', () => {
    const body = { v: 1, action: 'sweep', record: 'web.dyn.example.test' };

    expect(parse(body)).toEqual(rejected('unknown-field: field "record" is not part of the message'));
    expect(fromEvents(body)).toEqual(rejected('unknown-field: field "record" is not part of the message'));
  });

  test.each([
    ['EventBridge', EVENTBRIDGE_SENDER_ID],
    ['an instance session', instanceSenderId()],
    ['no sender at all', undefined],
  ])('from the events queue, EC2 events and sweeps are believed whoever SQS names: %s', (_, senderId) => {
    expect(fromEvents(ec2StateChange('i-0fedcba9876543210', 'stopped'), bound, senderId)).toStrictEqual({
      kind: 'instance-gone',
      messageId: 'message-1',
      instanceId: 'i-0fedcba9876543210',
      sentAt: context.sentAt,
    });
    expect(fromEvents({ v: 1, action: 'sweep' }, bound, senderId)).toStrictEqual({
      kind: 'sweep',
      messageId: 'message-1',
      sentAt: context.sentAt,
    });
  });
});

describe('sender binding by instance role id', () => {
  const taskId = '0123456789abcdef0123456789abcdef';

  test.each([
    ['an EC2 instance of the stack role', 'i-0123456789abcdef0', INSTANCE_ROLE_ID],
    ['a short EC2 instance id', 'i-0123abcd', INSTANCE_ROLE_ID],
    ['an ECS task of a listed role', taskId, TASK_ROLE_ID],
  ])('%s may register for itself', (_, instanceId, roleId) => {
    const result = parse(registration({ instanceId }), bound, instanceSenderId(instanceId, roleId));

    expect(result).toStrictEqual({
      kind: 'register',
      messageId: 'message-1',
      record: 'web.dyn.example.test.',
      hostedZoneId: 'Z1TESTZONE00000000001',
      instanceId,
      ipv4: '52.95.110.1',
      sentAt: SENT,
    });
  });

  test('an instance may not register for another', () => {
    expect(parse(registration({ instanceId: 'i-0fedcba9876543210' }), bound, instanceSenderId())).toEqual(
      rejected(
        'sender-mismatch: sender "AROAEXAMPLEROLEID12345:i-0123456789abcdef0" may not register for instanceId "i-0fedcba9876543210"',
      ),
    );
  });

  test('a session of an allowed role named after a person is a mismatch', () => {
    expect(codeOf(parse(registration(), bound, `${INSTANCE_ROLE_ID}:alice`))).toEqual({
      code: 'sender-mismatch',
    });
  });

  test.each([
    [
      'a role that is no instance role, its session named after the instance',
      `${PERSON_ROLE_ID}:i-0123456789abcdef0`,
    ],
    ['an IAM user', 'AIDAEXAMPLEUSERID1234'],
    ['a bare account id', '123456789012'],
    ['a role id too short to be one', 'AROASHORT:i-0123456789abcdef0'],
    ['a role id in lower case', `${INSTANCE_ROLE_ID.toLowerCase()}:i-0123456789abcdef0`],
    ['an allowed role id with no session', INSTANCE_ROLE_ID],
    ['an allowed role id with a one-character session', `${INSTANCE_ROLE_ID}:i`],
  ])('a registration from %s is sender-not-instance', (_, senderId) => {
    expect(parse(registration(), bound, senderId)).toEqual(
      rejected(`sender-not-instance: sender "${senderId}" is not a session of an allowed instance role`),
    );
  });

  test.each([
    ['an empty SenderId', ''],
    ['no SenderId', undefined],
  ])('a registration with %s is missing-sender', (_, senderId) => {
    expect(parse(registration(), bound, senderId)).toEqual(
      rejected('missing-sender: no SenderId to bind the instance to'),
    );
  });

  test('sender binding is checked before the record, so a stranger learns nothing of the allowlist', () => {
    const body = registration({ record: 'web.not-allowed.example' });

    expect(codeOf(parse(body, bound, `${PERSON_ROLE_ID}:i-0123456789abcdef0`))).toEqual({
      code: 'sender-not-instance',
    });
  });

  test('without binding the SenderId is not looked at', () => {
    expect(isRejection(parse(registration({ instanceId: 'i-0fedcba9876543210' }), unbound, 'AIDAX'))).toBe(
      false,
    );
  });
});

describe('roleSessionOf', () => {
  test.each([
    [`${INSTANCE_ROLE_ID}:i-0123456789abcdef0`, { roleId: INSTANCE_ROLE_ID, session: 'i-0123456789abcdef0' }],
    [
      'AROA3XFRBF535PLBIFPI4:botocore-session-1',
      { roleId: 'AROA3XFRBF535PLBIFPI4', session: 'botocore-session-1' },
    ],
    ['AIDAEXAMPLEUSERID1234', undefined],
    ['123456789012', undefined],
    [`${INSTANCE_ROLE_ID}:a:b`, undefined],
  ])('%s', (senderId, expected) => {
    expect(roleSessionOf(senderId)).toEqual(expected);
  });
});

describe('parseMessage on arbitrary input', () => {
  function isWellFormed(result: Message | Rejection): boolean {
    if (!isRejection(result))
      return ['register', 'deregister', 'heartbeat', 'instance-gone', 'sweep'].includes(result.kind);
    const [code, detail] = result.reason.split(/: (.*)/s);
    return (
      result.messageId === 'message-1' &&
      REASON_CODES.some((known) => known === code) &&
      detail !== undefined &&
      detail.length > 0 &&
      // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting that none reach the reason
      !/[\u0000-\u001f\u007f-\u009f]/.test(detail)
    );
  }

  const senders = fc.option(fc.oneof(fc.string(), fc.constant(instanceSenderId())), { nil: undefined });
  const options = fc.constantFrom(unbound, bound);
  const queues = fc.constantFrom<Queue>('registrations', 'events');

  test('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), senders, options, queues, (body, senderId, how, queue) => {
        expect(isWellFormed(parse(body, how, senderId, queue))).toBe(true);
      }),
    );
  });

  test('never throws on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), senders, options, queues, (value, senderId, how, queue) => {
        expect(isWellFormed(parse(JSON.stringify(value), how, senderId, queue))).toBe(true);
      }),
    );
  });

  test('never throws on registrations with arbitrary field values', () => {
    const fieldValue = fc.oneof(fc.string(), fc.jsonValue(), fc.ipV4(), fc.ipV6(), fc.domain());
    const fields = fc.record(
      {
        v: fc.oneof(fc.constant(1), fieldValue),
        action: fc.oneof(fc.constantFrom('register', 'deregister', 'heartbeat', 'sweep'), fieldValue),
        record: fc.oneof(
          fc.domain().map((name) => `${name}.dyn.example.test`),
          fieldValue,
        ),
        instanceId: fc.oneof(fc.constant('i-0123456789abcdef0'), fieldValue),
        ipv4: fc.oneof(fc.ipV4(), fieldValue),
        ipv6: fc.oneof(fc.ipV6(), fieldValue),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fields, senders, options, (message, senderId, parseOptions) => {
        expect(isWellFormed(parse(message, parseOptions, senderId))).toBe(true);
      }),
    );
  });

  test('an accepted registration always names a normalised record below its zone', () => {
    const body = fc.record({
      v: fc.constant(1),
      action: fc.constantFrom('register', 'heartbeat'),
      record: fc.domain().map((name) => `${name}.DYN.example.test.`),
      instanceId: fc.constant('i-0123456789abcdef0'),
      ipv4: fc.ipV4(),
    });
    fc.assert(
      fc.property(body, (message) => {
        const result = parse(message);
        if (isRejection(result) || !('record' in result)) return;
        expect(result.record).toBe(
          `${message.record.slice(0, -'.DYN.example.test.'.length).toLowerCase()}.dyn.example.test.`,
        );
        expect(result.hostedZoneId).toBe('Z1TESTZONE00000000001');
      }),
    );
  });
});
