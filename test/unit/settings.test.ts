// The handlers' settings from their environment (docs/design.md §6): every value parsed, and a clear
// SettingsError naming the variable for anything missing or malformed.
import {
  ENVIRONMENT,
  readBatcherSettings,
  readPlannerSettings,
  SettingsError,
} from '../../handlers/settings';
import { DEAD_LETTER_QUEUE_URL, STATE_MACHINE_ARN, ZONE_QUEUE_URL } from '../helpers/handler-deps';
import { EVENTS_QUEUE_ARN, INSTANCE_ROLE_ID, RELAY_ROLE_ID, TASK_ROLE_ID } from '../helpers/messages';

type Env = Record<string, string | undefined>;

// The allowlist as a stage renders it: an id with its /hostedzone/ prefix, a suffix in any case, defaults left out.
const allowlist = JSON.stringify({
  zones: [{ hostedZoneId: '/hostedzone/Z1TESTZONE00000000001', suffix: 'Dyn.Example.Test.' }],
});
const normalisedAllowlist = {
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
};

const batcherEnv = (): Env => ({
  [ENVIRONMENT.allowlist]: allowlist,
  [ENVIRONMENT.senderBinding]: 'true',
  [ENVIRONMENT.instanceRoleIds]: `${INSTANCE_ROLE_ID}, ${TASK_ROLE_ID}`,
  [ENVIRONMENT.relayRoleIds]: RELAY_ROLE_ID,
  [ENVIRONMENT.eventsQueueArn]: EVENTS_QUEUE_ARN,
  [ENVIRONMENT.zoneQueueUrl]: ZONE_QUEUE_URL,
  [ENVIRONMENT.deadLetterQueueUrl]: DEAD_LETTER_QUEUE_URL,
});

const plannerEnv = (): Env => ({
  [ENVIRONMENT.allowlist]: allowlist,
  [ENVIRONMENT.ownerId]: 'r53dyn-prod',
  [ENVIRONMENT.stateMachineArn]: STATE_MACHINE_ARN,
  [ENVIRONMENT.zoneQueueUrl]: ZONE_QUEUE_URL,
  [ENVIRONMENT.deadLetterQueueUrl]: DEAD_LETTER_QUEUE_URL,
  [ENVIRONMENT.maxAttempts]: '5',
  [ENVIRONMENT.retryBaseSeconds]: '5',
  [ENVIRONMENT.retryCapSeconds]: '300',
});

/** What a reader threw, so that the error's class and whole message are asserted together. */
function thrownBy(read: (env: Env) => unknown, env: Env): unknown {
  try {
    read(env);
  } catch (error) {
    return error;
  }
  throw new Error('the environment was accepted');
}

/** Each variable with the error its absence gives. */
const notSet = (...names: string[]): [string, string][] =>
  names.map((name) => [name, `environment variable ${name} is not set`]);

/** The reader refuses the environment with a SettingsError saying exactly this. */
function expectRefused(read: (env: Env) => unknown, env: Env, message: string): void {
  const error = thrownBy(read, env);
  expect(error).toBeInstanceOf(SettingsError);
  expect(error).toMatchObject({ name: 'SettingsError', message });
}

describe('readBatcherSettings', () => {
  it('parses a good environment, normalising the allowlist and the role id lists', () => {
    expect(readBatcherSettings(batcherEnv())).toEqual({
      allowlist: normalisedAllowlist,
      senderBinding: { instanceRoleIds: [INSTANCE_ROLE_ID, TASK_ROLE_ID] },
      relayRoleIds: [RELAY_ROLE_ID],
      eventsQueueArn: EVENTS_QUEUE_ARN,
      zoneQueueUrl: ZONE_QUEUE_URL,
      deadLetterQueueUrl: DEAD_LETTER_QUEUE_URL,
    });
  });

  it('reads sender binding off without instance role ids, and an empty relay list as none', () => {
    const env = {
      ...batcherEnv(),
      [ENVIRONMENT.senderBinding]: 'false',
      [ENVIRONMENT.instanceRoleIds]: undefined,
      [ENVIRONMENT.relayRoleIds]: '',
    };

    expect(readBatcherSettings(env)).toMatchObject({ senderBinding: false, relayRoleIds: [] });
  });

  it.each([
    ...notSet(
      ENVIRONMENT.allowlist,
      ENVIRONMENT.senderBinding,
      ENVIRONMENT.eventsQueueArn,
      ENVIRONMENT.zoneQueueUrl,
      ENVIRONMENT.deadLetterQueueUrl,
    ),
    [
      ENVIRONMENT.instanceRoleIds,
      'R53DYN_INSTANCE_ROLE_IDS must list at least one role id when sender binding is on',
    ],
  ])('without %s it fails: %s', (name, message) => {
    for (const value of [undefined, '']) {
      expectRefused(readBatcherSettings, { ...batcherEnv(), [name]: value }, message);
    }
  });

  it.each([
    [ENVIRONMENT.senderBinding, 'yes', 'R53DYN_SENDER_BINDING must be "true" or "false", not "yes"'],
    [ENVIRONMENT.allowlist, '{zones:', 'R53DYN_ALLOWLIST is not JSON'],
    [
      ENVIRONMENT.allowlist,
      JSON.stringify({ zones: [{ hostedZoneId: 'z-lower', suffix: '*.example.test' }] }),
      'R53DYN_ALLOWLIST: invalid allowlist: zones.0.hostedZoneId: must be 1 to 32 upper-case letters or digits; ' +
        'zones.0.suffix: "*.example.test" contains a wildcard (*)',
    ],
  ])('with %s = %j it fails: %s', (name, value, message) => {
    expectRefused(readBatcherSettings, { ...batcherEnv(), [name]: value }, message);
  });
});

describe('readPlannerSettings', () => {
  it('parses a good environment', () => {
    expect(readPlannerSettings(plannerEnv())).toEqual({
      allowlist: normalisedAllowlist,
      ownerId: 'r53dyn-prod',
      stateMachineArn: STATE_MACHINE_ARN,
      zoneQueueUrl: ZONE_QUEUE_URL,
      deadLetterQueueUrl: DEAD_LETTER_QUEUE_URL,
      maxAttempts: 5,
      retryBackoff: { baseSeconds: 5, capSeconds: 300 },
    });
  });

  it.each(
    notSet(
      ENVIRONMENT.ownerId,
      ENVIRONMENT.allowlist,
      ENVIRONMENT.stateMachineArn,
      ENVIRONMENT.maxAttempts,
      ENVIRONMENT.retryBaseSeconds,
      ENVIRONMENT.retryCapSeconds,
    ),
  )('without %s it fails: %s', (name, message) => {
    expectRefused(readPlannerSettings, { ...plannerEnv(), [name]: undefined }, message);
  });

  it.each([
    [ENVIRONMENT.ownerId, 'R53dyn;prod', 'R53DYN_OWNER_ID "R53dyn;prod" is not a valid owner id'],
    [ENVIRONMENT.maxAttempts, '0', 'R53DYN_MAX_ATTEMPTS must be an integer from 1 to 100, not "0"'],
    [ENVIRONMENT.maxAttempts, '2.5', 'R53DYN_MAX_ATTEMPTS must be an integer from 1 to 100, not "2.5"'],
    [
      ENVIRONMENT.retryBaseSeconds,
      'five',
      'R53DYN_RETRY_BASE_SECONDS must be an integer from 1 to 3600, not "five"',
    ],
    [
      ENVIRONMENT.retryCapSeconds,
      '43201',
      'R53DYN_RETRY_CAP_SECONDS must be an integer from 1 to 43200, not "43201"',
    ],
  ])('with %s = %j it fails: %s', (name, value, message) => {
    expectRefused(readPlannerSettings, { ...plannerEnv(), [name]: value }, message);
  });
});
