import { readSettings, SettingsError } from '../../handlers/settings';

const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:r53dyn-apply';
const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/r53dyn-dead-letters';

// The allowlist as a stage writes it: an id with its /hostedzone/ prefix, a suffix in any case, defaults left out.
const goodEnv = (): NodeJS.ProcessEnv => ({
  R53DYN_ALLOWLIST: JSON.stringify({
    zones: [{ hostedZoneId: '/hostedzone/Z1TESTZONE00000000001', suffix: 'Dyn.Example.Test.' }],
  }),
  R53DYN_OWNER_ID: 'r53dyn-prod',
  R53DYN_SENDER_BINDING: 'true',
  R53DYN_STATE_MACHINE_ARN: STATE_MACHINE,
  R53DYN_DEAD_LETTER_QUEUE_URL: DLQ_URL,
});

/** What readSettings threw, so that the error's class, name and message are asserted together. */
function thrownBy(env: NodeJS.ProcessEnv): unknown {
  try {
    readSettings(env);
  } catch (error) {
    return error;
  }
  throw new Error('readSettings accepted the environment');
}

describe('readSettings', () => {
  it('parses a good environment, normalising the allowlist and filling its defaults', () => {
    // Arrange
    const env = goodEnv();

    // Act
    const settings = readSettings(env);

    // Assert
    expect(settings).toEqual({
      allowlist: {
        zones: [
          {
            hostedZoneId: 'Z1TESTZONE00000000001',
            suffix: 'dyn.example.test',
            ttl: 60,
            types: ['A', 'AAAA'],
            maxValuesPerRecord: 100,
            leaseSeconds: 0,
            allowPrivate: false,
          },
        ],
      },
      ownerId: 'r53dyn-prod',
      senderBinding: true,
      stateMachineArn: STATE_MACHINE,
      deadLetterQueueUrl: DLQ_URL,
    });
  });

  it('reads sender binding off and the relay role id when given', () => {
    // Arrange
    const env = {
      ...goodEnv(),
      R53DYN_SENDER_BINDING: 'false',
      R53DYN_RELAY_ROLE_ID: 'AROARELAYROLEID0000001',
    };

    // Act
    const settings = readSettings(env);

    // Assert
    expect(settings).toEqual({
      ...readSettings(goodEnv()),
      senderBinding: false,
      relayRoleId: 'AROARELAYROLEID0000001',
    });
  });

  it('leaves the relay role out when its variable is empty, as a stage without one renders it', () => {
    // Arrange
    const env = { ...goodEnv(), R53DYN_RELAY_ROLE_ID: '' };

    // Act
    const settings = readSettings(env);

    // Assert
    expect(settings).toEqual(readSettings(goodEnv()));
    expect('relayRoleId' in settings).toBe(false);
  });

  it.each([
    'R53DYN_ALLOWLIST',
    'R53DYN_OWNER_ID',
    'R53DYN_SENDER_BINDING',
    'R53DYN_STATE_MACHINE_ARN',
    'R53DYN_DEAD_LETTER_QUEUE_URL',
  ])('fails with a SettingsError naming %s when it is missing or empty', (name) => {
    // Arrange
    const missing = { ...goodEnv(), [name]: undefined };
    const empty = { ...goodEnv(), [name]: '' };

    // Act
    const errors = [thrownBy(missing), thrownBy(empty)];

    // Assert
    for (const error of errors) {
      expect(error).toBeInstanceOf(SettingsError);
      expect(error).toMatchObject({
        name: 'SettingsError',
        message: `environment variable ${name} is not set`,
      });
    }
  });

  it.each(['zones:', '{"zones":[}', 'undefined'])(
    'fails with a SettingsError when the allowlist is %j',
    (raw) => {
      // Arrange
      const env = { ...goodEnv(), R53DYN_ALLOWLIST: raw };

      // Act
      const error = thrownBy(env);

      // Assert
      expect(error).toBeInstanceOf(SettingsError);
      expect(error).toMatchObject({ name: 'SettingsError', message: 'R53DYN_ALLOWLIST is not JSON' });
    },
  );

  it('fails with the allowlist problems when the allowlist is JSON but not a valid allowlist', () => {
    // Arrange
    const env = {
      ...goodEnv(),
      R53DYN_ALLOWLIST: JSON.stringify({ zones: [{ hostedZoneId: 'z1', suffix: 'x' }] }),
    };

    // Act
    const error = thrownBy(env);

    // Assert
    expect(error).toBeInstanceOf(SettingsError);
    expect(error).toMatchObject({
      name: 'SettingsError',
      message:
        'R53DYN_ALLOWLIST: invalid allowlist: zones.0.hostedZoneId: must be 1 to 32 upper-case letters or digits',
    });
  });

  it.each(['yes', 'TRUE', '1', ' true'])('fails with a SettingsError when sender binding is %j', (value) => {
    // Arrange
    const env = { ...goodEnv(), R53DYN_SENDER_BINDING: value };

    // Act
    const error = thrownBy(env);

    // Assert
    expect(error).toBeInstanceOf(SettingsError);
    expect(error).toMatchObject({
      name: 'SettingsError',
      message: `R53DYN_SENDER_BINDING must be "true" or "false", not "${value}"`,
    });
  });

  it.each(['Prod', 'a;b', 'owner=x', ''])('fails with a SettingsError when the owner id is %j', (value) => {
    // Arrange: an owner id that cannot be written into a registry entry would fail every batch later
    const env = { ...goodEnv(), R53DYN_OWNER_ID: value };

    // Act
    const error = thrownBy(env);

    // Assert
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as Error).message).toBe(
      value === ''
        ? 'environment variable R53DYN_OWNER_ID is not set'
        : `R53DYN_OWNER_ID "${value}" is not a valid owner id`,
    );
  });
});
