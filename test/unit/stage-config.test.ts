// The package-time check of a stage's configuration (docs/design.md §6): the schema with its defaults, every
// problem of a bad file listed at once, the zones' registry budget, and leases against the heartbeat.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStageConfig, StageConfigError } from '../../infra/stage-config';

const stages = join(__dirname, '..', '..', 'infra', 'stages');

const defaults = {
  senderBinding: true,
  instanceRole: { create: true, existing: [] },
  batcher: { batchSize: 1000, windowSeconds: 30, concurrency: 2, timeoutSeconds: 30 },
  planner: { timeoutSeconds: 60, maxAttempts: 5, retryBaseSeconds: 5, retryCapSeconds: 300 },
  workflow: {
    retryAttempts: 5,
    insyncFirstWaitSeconds: 10,
    insyncMaxWaitSeconds: 60,
    insyncTimeoutSeconds: 900,
  },
  heartbeatSeconds: 300,
  sweepSchedule: 'rate(5 minutes)',
};

const zone = (fields: string) => `  - { hostedZoneId: Z1, suffix: dyn.example.com, ${fields} }`;
const stageText = (...lines: string[]) => ['ownerId: r53dyn-test', ...lines].join('\n');

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

const problems = (text: string) => {
  const error = thrown(() => parseStageConfig('test', text, {}, 'test.yml'));
  expect(error).toBeInstanceOf(StageConfigError);
  return error.message.split('\n');
};

describe('parseStageConfig', () => {
  it('reads the shipped example stage', () => {
    const config = parseStageConfig('example', readFileSync(join(stages, 'example.yml'), 'utf8'), {});

    expect(config).toEqual({
      stage: 'example',
      ownerId: 'r53dyn-prod',
      ...defaults,
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

  it('fills every default for a file with only an owner id, and fails closed with no zones', () => {
    expect(parseStageConfig('test', stageText(), {})).toEqual({
      stage: 'test',
      ownerId: 'r53dyn-test',
      ...defaults,
      allowlist: { zones: [] },
    });
  });

  it('fills env: placeholders from the environment, and names the variable when it is missing', () => {
    const text = readFileSync(join(stages, 'local.yml'), 'utf8');
    const env = {
      R53DYN_LOCAL_ZONE_ID: 'ZLOCAL1',
      R53DYN_LOCAL_LEASED_ZONE_ID: 'ZLOCAL2',
      R53DYN_LOCAL_FAULTS_A_ZONE_ID: 'ZLOCAL3',
      R53DYN_LOCAL_FAULTS_B_ZONE_ID: 'ZLOCAL4',
      R53DYN_LOCAL_FAULTS_C_ZONE_ID: 'ZLOCAL5',
      R53DYN_LOCAL_FAULTS_D_ZONE_ID: 'ZLOCAL6',
    };

    const config = parseStageConfig('local', text, env, 'local.yml');
    const error = thrown(() =>
      parseStageConfig('local', text, { R53DYN_LOCAL_ZONE_ID: 'ZLOCAL1' }, 'local.yml'),
    );

    expect(config.allowlist.zones.map((z) => z.hostedZoneId)).toEqual([
      'ZLOCAL1',
      'ZLOCAL2',
      'ZLOCAL3',
      'ZLOCAL4',
      'ZLOCAL5',
      'ZLOCAL6',
    ]);
    expect(config.senderBinding).toBe(false);
    expect(error).toEqual(
      new StageConfigError('local.yml: environment variable R53DYN_LOCAL_LEASED_ZONE_ID is not set'),
    );
  });

  it('lists every problem of the settings and of the zones at once, with its path', () => {
    const text = stageText(
      'batcher: { batchSize: 10001 }',
      'instanceRole: { existing: [{ name: web, roleId: AIDAUSER } ] }',
      'surprise: true',
      'zones:',
      zone('ttl: -1'),
      '  - { hostedZoneId: Z2, suffix: "*.example.com" }',
    ).replace('ownerId: r53dyn-test', 'ownerId: Prod');

    expect(problems(text)).toEqual([
      'test.yml is not a valid stage configuration:',
      '  ownerId: lower-case letters, digits and dashes, starting with a letter or digit, at most 40',
      '  instanceRole.existing.0.roleId: a role unique id (AROA…), as `aws iam get-role` shows it',
      '  batcher.batchSize: Too big: expected number to be <=10000',
      '  (root): Unrecognized key: "surprise"',
      '  zones.0.ttl: Too small: expected number to be >=0',
      '  zones.1.suffix: "*.example.com" contains a wildcard (*)',
    ]);
  });

  it('refuses a maxValuesPerRecord whose registry cannot be rewritten in one ChangeBatch, saying what fits', () => {
    expect(problems(stageText('zones:', zone('types: [A, AAAA], maxValuesPerRecord: 100')))).toEqual([
      'test.yml cannot be deployed:',
      '  dyn.example.com: zone Z1 (dyn.example.com): at maxValuesPerRecord 100, rewriting one record (A, AAAA, TXT, ' +
        'DELETE+CREATE) can take 600 elements and 38800 characters, but Route 53 allows 1000 and 32000 per ' +
        'ChangeBatch; set maxValuesPerRecord to at most 82',
    ]);
  });

  it('refuses a lease shorter than two heartbeats, and accepts two exactly or none', () => {
    const text = (lease: number) =>
      stageText('heartbeatSeconds: 60', 'zones:', zone(`maxValuesPerRecord: 40, leaseSeconds: ${lease}`));

    expect(problems(text(119))).toEqual([
      'test.yml cannot be deployed:',
      '  dyn.example.com: leaseSeconds 119 must be at least twice heartbeatSeconds (60)',
    ]);
    expect(parseStageConfig('test', text(120), {}).allowlist.zones[0]?.leaseSeconds).toBe(120);
    expect(parseStageConfig('test', text(0), {}).allowlist.zones[0]?.leaseSeconds).toBe(0);
  });

  it('lists every deploy problem together: bounds, retry and INSYNC waits, sender binding without a role', () => {
    const text = stageText(
      'planner: { retryBaseSeconds: 10, retryCapSeconds: 5 }',
      'workflow: { insyncFirstWaitSeconds: 30, insyncMaxWaitSeconds: 20 }',
      'instanceRole: { create: false }',
      'heartbeatSeconds: 100',
      'zones:',
      zone('maxValuesPerRecord: 40, leaseSeconds: 150'),
    );

    expect(problems(text)).toEqual([
      'test.yml cannot be deployed:',
      '  workflow.insyncMaxWaitSeconds is below insyncFirstWaitSeconds',
      '  planner.retryCapSeconds is below retryBaseSeconds',
      '  senderBinding needs an instance role: set instanceRole.create or list instanceRole.existing',
      '  dyn.example.com: leaseSeconds 150 must be at least twice heartbeatSeconds (100)',
    ]);
  });

  it('says when the file is not YAML', () => {
    expect(thrown(() => parseStageConfig('test', 'zones: [', {}, 'test.yml')).message).toMatch(
      /^test\.yml is not valid YAML: /,
    );
  });
});
