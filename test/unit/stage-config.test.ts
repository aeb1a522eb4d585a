// The package-time check of a stage's configuration: what `serverless package` refuses, and why.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStageConfig, StageConfigError } from '../../infra/stage-config';

const stages = join(__dirname, '..', '..', 'infra', 'stages');

const stage = (zones: string) => `
ownerId: r53dyn-test
batch: { size: 50, windowSeconds: 5 }
zones:
${zones}`;

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('parseStageConfig', () => {
  it('reads the shipped example stage with its defaults', () => {
    // Act
    const config = parseStageConfig('example', readFileSync(join(stages, 'example.yml'), 'utf8'), {});

    // Assert
    expect(config).toEqual({
      stage: 'example',
      ownerId: 'r53dyn-prod',
      senderBinding: true,
      batchSize: 100,
      batchWindowSeconds: 10,
      sweepSchedule: 'rate(5 minutes)',
      workflow: {
        maxRequeueAttempts: 5,
        insyncFirstWaitSeconds: 10,
        insyncMaxWaitSeconds: 60,
        insyncTimeoutSeconds: 900,
      },
      allowlist: {
        zones: [
          {
            hostedZoneId: 'Z0123456789ABCDEFGHIJ',
            suffix: 'dyn.example.com',
            ttl: 60,
            types: ['A'],
            maxValuesPerRecord: 100,
            leaseSeconds: 0,
            allowPrivate: false,
          },
        ],
      },
    });
  });

  it('fills env: placeholders from the environment, and names the variable when it is missing', () => {
    // Arrange
    const text = readFileSync(join(stages, 'local.yml'), 'utf8');

    // Act
    const config = parseStageConfig('local', text, {
      R53DYN_LOCAL_ZONE_ID: 'ZLOCAL1',
      R53DYN_LOCAL_LEASED_ZONE_ID: 'ZLOCAL2',
      R53DYN_LOCAL_FAULTS_A_ZONE_ID: 'ZLOCAL3',
      R53DYN_LOCAL_FAULTS_B_ZONE_ID: 'ZLOCAL4',
      R53DYN_LOCAL_FAULTS_C_ZONE_ID: 'ZLOCAL5',
      R53DYN_LOCAL_FAULTS_D_ZONE_ID: 'ZLOCAL6',
    });
    const missing = thrown(() =>
      parseStageConfig('local', text, { R53DYN_LOCAL_ZONE_ID: 'ZLOCAL1' }, 'local.yml'),
    );

    // Assert
    expect(config.allowlist.zones.map((z) => z.hostedZoneId)).toEqual([
      'ZLOCAL1',
      'ZLOCAL2',
      'ZLOCAL3',
      'ZLOCAL4',
      'ZLOCAL5',
      'ZLOCAL6',
    ]);
    expect(missing).toBeInstanceOf(StageConfigError);
    expect(missing.message).toBe('local.yml: environment variable R53DYN_LOCAL_LEASED_ZONE_ID is not set');
  });

  it('refuses a maxValuesPerRecord whose registry cannot be rewritten in one ChangeBatch', () => {
    // Arrange: SPEC's example bound, with both address types
    const text = stage(
      `  - { hostedZoneId: Z1, suffix: dyn.example.com, types: [A, AAAA], maxValuesPerRecord: 100 }`,
    );

    // Act
    const error = thrown(() => parseStageConfig('test', text, {}, 'test.yml'));

    // Assert
    expect(error).toBeInstanceOf(StageConfigError);
    expect(error.message).toMatch(
      /^test\.yml: a zone's bounds cannot fit one Route 53 ChangeBatch:\n {2}dyn\.example\.com: /,
    );
  });

  it('accepts a bound that fits, and fails closed on an empty allowlist', () => {
    // Act
    const fits = parseStageConfig(
      'test',
      stage(`  - { hostedZoneId: Z1, suffix: dyn.example.com, types: [A, AAAA], maxValuesPerRecord: 80 }`),
      {},
    );
    const empty = parseStageConfig('test', 'ownerId: r53dyn-test\n', {});

    // Assert
    expect(fits.allowlist.zones[0]?.maxValuesPerRecord).toBe(80);
    expect(empty.allowlist).toEqual({ zones: [] });
  });

  it('lists every problem of the settings with its path', () => {
    // Arrange
    const text = 'ownerId: Prod\nbatch: { size: 1000 }\nsurprise: true\nzones: []\n';

    // Act
    const error = thrown(() => parseStageConfig('test', text, {}, 'test.yml'));

    // Assert
    expect(error).toBeInstanceOf(StageConfigError);
    expect(error.message.split('\n')).toEqual([
      'test.yml is not a valid stage configuration:',
      '  ownerId: lower-case letters, digits and dashes, at most 40',
      '  batch.size: Too big: expected number to be <=250',
      '  (root): Unrecognized key: "surprise"',
    ]);
  });
});
