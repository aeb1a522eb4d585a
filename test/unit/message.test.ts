import fc from 'fast-check';
import { z } from 'zod';
import {
  isRejection,
  type MessageContext,
  type ParseOptions,
  parseMessage,
  rejectionCodes,
} from '../../handlers/core/message';
import type { Message, Rejection } from '../../handlers/core/model';
import badMessages from '../data/bad-messages.json';
import goodMessages from '../data/good-messages.json';
import { ec2StateChange, instanceSenderId, registration, testAllowlist } from '../helpers/messages';

const context: MessageContext = { messageId: 'message-1', sentAt: 1_735_689_600_000 };
const unbound: ParseOptions = { allowlist: testAllowlist, senderBinding: false };
const bound: ParseOptions = { allowlist: testAllowlist, senderBinding: true };

function parse(body: unknown, options: ParseOptions = unbound, senderId?: string): Message | Rejection {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return parseMessage(text, senderId === undefined ? context : { ...context, senderId }, options);
}

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
  reason: z.enum(rejectionCodes),
  senderId: z.string().optional(),
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
    const result = parse(body, options, entry.senderId);

    // Assert
    expect(codeOf(result)).toEqual({ code: entry.reason });
  });

  test('covers every rejection code', () => {
    expect(new Set(corpus.map((entry) => entry.reason))).toEqual(new Set(rejectionCodes));
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
      }),
    )
    .parse(goodMessages);

  test.each(corpus)('$name', (entry) => {
    // Arrange
    const options = entry.senderId === undefined ? unbound : bound;

    // Act
    const result = parse(entry.body, options, entry.senderId);

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
      expect(parse(ec2StateChange('i-0fedcba9876543210', state))).toStrictEqual({
        kind: 'instance-gone',
        messageId: 'message-1',
        instanceId: 'i-0fedcba9876543210',
        sentAt: context.sentAt,
      });
    },
  );

  test('running is ignored with a reason', () => {
    expect(parse(ec2StateChange('i-0fedcba9876543210', 'running'))).toEqual(
      rejected('ec2-state-ignored: state "running" does not mean the instance is gone'),
    );
  });

  test('a sweep is exactly {v:1, action:sweep}', () => {
    expect(parse({ v: 1, action: 'sweep' })).toStrictEqual({
      kind: 'sweep',
      messageId: 'message-1',
      sentAt: context.sentAt,
    });
  });
});

describe('sender binding', () => {
  const taskId = '0123456789abcdef0123456789abcdef';

  test('an instance may register for itself', () => {
    expect(isRejection(parse(registration(), bound, instanceSenderId()))).toBe(false);
  });

  test('an ECS task may register for itself', () => {
    // Arrange
    const senderId = 'AROA3XFRBF535PLBIFPI4:0123456789abcdef0123456789abcdef';

    // Act
    const result = parse(registration({ instanceId: taskId }), bound, senderId);

    // Assert
    expect(isRejection(result)).toBe(false);
  });

  test('an instance may not register for another', () => {
    expect(parse(registration({ instanceId: 'i-0fedcba9876543210' }), bound, instanceSenderId())).toEqual(
      rejected(
        'sender-mismatch: sender "AROAEXAMPLEROLEID12345:i-0123456789abcdef0" may not register for instanceId "i-0fedcba9876543210"',
      ),
    );
  });

  test.each([
    ['an IAM user', 'AIDAEXAMPLEUSERID1234', 'sender-not-instance'],
    ['a bare account id', '123456789012', 'sender-not-instance'],
    ['a role session named after a person', 'AROAEXAMPLEROLEID12345:alice', 'sender-mismatch'],
    ['an empty SenderId', '', 'missing-sender'],
  ])('a registration from %s is rejected', (_, senderId, code) => {
    expect(codeOf(parse(registration(), bound, senderId))).toEqual({ code });
  });

  test('a registration without any SenderId is rejected', () => {
    expect(parse(registration(), bound)).toEqual(
      rejected('missing-sender: no SenderId to bind the instance to'),
    );
  });

  test.each([
    ['an instance', instanceSenderId()],
    ['a task', `AROAEXAMPLETASKROLE123:${taskId}`],
  ])('%s may not send EC2 events or sweeps', (_, senderId) => {
    expect(codeOf(parse(ec2StateChange('i-0fedcba9876543210', 'terminated'), bound, senderId))).toEqual({
      code: 'sender-is-instance',
    });
    expect(codeOf(parse({ v: 1, action: 'sweep' }, bound, senderId))).toEqual({ code: 'sender-is-instance' });
  });

  test.each([
    ['EventBridge', 'AIDAIEVENTSEXAMPLE1234'],
    ['a scheduler role session', 'AROAEXAMPLESCHEDULER12:r53dyn-sweep'],
    ['an account', '123456789012'],
  ])('%s may send EC2 events and sweeps', (_, senderId) => {
    expect(parse(ec2StateChange('i-0fedcba9876543210', 'stopped'), bound, senderId)).toStrictEqual({
      kind: 'instance-gone',
      messageId: 'message-1',
      instanceId: 'i-0fedcba9876543210',
      sentAt: context.sentAt,
    });
    expect(parse({ v: 1, action: 'sweep' }, bound, senderId)).toStrictEqual({
      kind: 'sweep',
      messageId: 'message-1',
      sentAt: context.sentAt,
    });
  });

  test('without binding the SenderId is ignored', () => {
    expect(isRejection(parse(registration({ instanceId: 'i-0fedcba9876543210' }), unbound, 'AIDAX'))).toBe(
      false,
    );
  });
});

describe('parseMessage on arbitrary input', () => {
  function isWellFormed(result: Message | Rejection): boolean {
    if (!isRejection(result))
      return ['register', 'deregister', 'heartbeat', 'instance-gone', 'sweep'].includes(result.kind);
    const [code, detail] = result.reason.split(/: (.*)/s);
    return (
      result.messageId === 'message-1' &&
      rejectionCodes.some((known) => known === code) &&
      detail !== undefined &&
      detail.length > 0 &&
      // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting that none reach the reason
      !/[\u0000-\u001f\u007f-\u009f]/.test(detail)
    );
  }

  const senders = fc.option(fc.oneof(fc.string(), fc.constant(instanceSenderId())), { nil: undefined });
  const options = fc.constantFrom(unbound, bound);

  test('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), senders, options, (body, senderId, parseOptions) => {
        expect(isWellFormed(parse(body, parseOptions, senderId))).toBe(true);
      }),
    );
  });

  test('never throws on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), senders, options, (value, senderId, parseOptions) => {
        expect(isWellFormed(parse(JSON.stringify(value), parseOptions, senderId))).toBe(true);
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
