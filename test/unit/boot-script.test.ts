// The real boot script against fake metadata servers and a stub `aws` that records its arguments.
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  bootScriptPath,
  type FakeImds,
  type FakeImdsOptions,
  type FakeServer,
  runBootScript,
  startFakeCheckip,
  startFakeEcsMetadata,
  startFakeImds,
} from '../helpers/fake-metadata';
import { makeReadinessCheck, type ReadinessCheck, stateText } from '../helpers/readiness';

const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/r53dyn-registrations';
const instanceId = 'i-0123456789abcdef0';
const taskId = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const taskArn = `arn:aws:ecs:ap-southeast-2:123456789012:task/web-cluster/${taskId}`;

// Fails its first STUB_AWS_FAILURES calls like the CLI does (exit 255, message on stderr), then prints a
// message id. Each call's arguments land NUL-separated in their own file, so the test sees them exactly.
const stubAws = `#!/bin/sh
n=$(ls "$STUB_AWS_DIR" | grep -c '^call-')
n=$((n + 1))
printf '%s\\0' "$@" >"$STUB_AWS_DIR/call-$n"
if [ "$n" -le "\${STUB_AWS_FAILURES:-0}" ]; then
  echo "An error occurred (RequestThrottled) when calling the SendMessage operation: call $n" >&2
  exit 255
fi
echo "msg-$n"
`;

let workDir: string;
let stubDir: string;
const servers: FakeServer[] = [];

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'r53dyn-boot-'));
  stubDir = join(workDir, 'bin');
  execFileSync('mkdir', [stubDir]);
  writeFileSync(join(stubDir, 'aws'), stubAws);
  chmodSync(join(stubDir, 'aws'), 0o755);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  rmSync(workDir, { recursive: true, force: true });
});

async function imds(options: Partial<FakeImdsOptions> = {}): Promise<FakeImds> {
  const server = await startFakeImds({
    instanceId,
    publicIpv4: '203.0.113.10',
    region: 'eu-west-1',
    ...options,
  });
  servers.push(server);
  return server;
}

function awsCalls(): string[][] {
  return readdirSync(workDir)
    .filter((f) => f.startsWith('call-'))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
    .map((f) => readFileSync(join(workDir, f), 'utf8').split('\0').slice(0, -1));
}

function sendArgs(body: string, region: string, endpoint = 'https://sqs.eu-west-1.amazonaws.com'): string[] {
  const args = ['sqs', 'send-message', '--queue-url', queueUrl, '--message-body', body];
  args.push(
    '--output',
    'text',
    '--query',
    'MessageId',
    '--cli-connect-timeout',
    '10',
    '--endpoint-url',
    endpoint,
  );
  return [...args, '--region', region];
}

function run(action: string, env: Record<string, string | undefined>) {
  return runBootScript(action, {
    PATH: `${stubDir}:${process.env.PATH}`,
    STUB_AWS_DIR: workDir,
    R53DYN_QUEUE_URL: queueUrl,
    R53DYN_RECORD: 'web.dyn.example.com',
    R53DYN_RETRY_BASE_SECONDS: '0.01',
    R53DYN_METADATA_RETRIES: '0',
    ...env,
  });
}

/** Runs the script on an EC2 instance whose instance metadata `server` serves. */
function onEc2(server: FakeServer, action: string, env: Record<string, string | undefined> = {}) {
  return run(action, { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint, ...env });
}

describe('r53dyn-register.sh', () => {
  test('is POSIX sh', () => {
    expect(() => execFileSync('sh', ['-n', bootScriptPath])).not.toThrow();
  });

  describe('on EC2', () => {
    test('register sends the exact body, with the region from IMDS, using an IMDSv2 token', async () => {
      const server = await imds();

      const result = await onEc2(server, 'register');

      expect(result.status).toBe(0);
      const body = `{"v":1,"action":"register","record":"web.dyn.example.com","instanceId":"${instanceId}","ipv4":"203.0.113.10"}`;
      expect(awsCalls()).toEqual([sendArgs(body, 'eu-west-1')]);
      expect(result.stdout).toBe(
        `r53dyn-register: register web.dyn.example.com for ${instanceId} sent, message id msg-1\n`,
      );
      expect(server.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
        'PUT /latest/api/token 200',
        'GET /latest/meta-data/instance-id 200',
        'GET /latest/meta-data/placement/region 200',
        'GET /latest/meta-data/public-ipv4 200',
      ]);
      const token = server.requests[0]?.headers['x-aws-ec2-metadata-token-ttl-seconds'];
      expect(token).toBe('300');
      expect(server.rejected()).toBe(0);
    });

    test('the fake IMDS itself refuses a GET without a token, so the test above means something', async () => {
      const server = await imds();

      const answer = await fetch(`${server.endpoint}/latest/meta-data/instance-id`);

      expect(answer.status).toBe(401);
      expect(server.rejected()).toBe(1);
    });

    test('R53DYN_REGION wins over AWS_REGION and IMDS, which is then not asked', async () => {
      const server = await imds();

      const result = await onEc2(server, 'register', {
        R53DYN_REGION: 'us-west-2',
        AWS_REGION: 'eu-central-1',
      });

      expect(result.status).toBe(0);
      expect(awsCalls()[0]?.slice(-2)).toEqual(['--region', 'us-west-2']);
      expect(server.requests.map((r) => r.path)).not.toContain('/latest/meta-data/placement/region');
    });

    test.each([
      ['the queue URL host, by default', {}, 'https://sqs.eu-west-1.amazonaws.com'],
      ['AWS_ENDPOINT_URL', { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }, 'http://127.0.0.1:4566'],
      [
        'AWS_ENDPOINT_URL_SQS over AWS_ENDPOINT_URL',
        {
          AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
          AWS_ENDPOINT_URL_SQS: 'https://vpce-1.sqs.eu-west-1.vpce.amazonaws.com',
        },
        'https://vpce-1.sqs.eu-west-1.vpce.amazonaws.com',
      ],
      [
        'the queue URL host when configured endpoints are ignored',
        { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' },
        'https://sqs.eu-west-1.amazonaws.com',
      ],
    ])(
      'passes --endpoint-url explicitly (CLI v1 ignores the variables for SQS): %s',
      async (_what, env, endpoint) => {
        const server = await imds();

        const result = await onEc2(server, 'register', env);

        expect(result.status).toBe(0);
        const body = `{"v":1,"action":"register","record":"web.dyn.example.com","instanceId":"${instanceId}","ipv4":"203.0.113.10"}`;
        expect(awsCalls()).toEqual([sendArgs(body, 'eu-west-1', endpoint)]);
      },
    );

    test('ipv4 and ipv6 together, IPv6 found under the interface when meta-data/ipv6 is missing', async () => {
      const server = await imds({ ipv6: '2001:db8:1234::10\n2001:db8:1234::11', ipv6OnlyUnderMac: true });

      const result = await onEc2(server, 'register', { R53DYN_ADDRESS_FAMILIES: 'ipv4 ipv6' });

      expect(result.status).toBe(0);
      const body =
        `{"v":1,"action":"register","record":"web.dyn.example.com","instanceId":"${instanceId}",` +
        '"ipv4":"203.0.113.10","ipv6":"2001:db8:1234::10"}';
      expect(awsCalls()).toEqual([sendArgs(body, 'eu-west-1')]);
      expect(server.rejected()).toBe(0);
    });

    test('ipv6 only needs no public IPv4', async () => {
      const server = await imds({ publicIpv4: undefined, ipv6: '2001:db8::7' });

      const result = await onEc2(server, 'heartbeat', { R53DYN_ADDRESS_FAMILIES: 'ipv6' });

      expect(result.status).toBe(0);
      const body = `{"v":1,"action":"heartbeat","record":"web.dyn.example.com","instanceId":"${instanceId}","ipv6":"2001:db8::7"}`;
      expect(awsCalls()).toEqual([sendArgs(body, 'eu-west-1')]);
    });

    test('heartbeat carries the address like register', async () => {
      const server = await imds();

      const result = await onEc2(server, 'heartbeat');

      expect(result.status).toBe(0);
      const body = `{"v":1,"action":"heartbeat","record":"web.dyn.example.com","instanceId":"${instanceId}","ipv4":"203.0.113.10"}`;
      expect(awsCalls()).toEqual([sendArgs(body, 'eu-west-1')]);
    });

    test('deregister carries no address and does not need one', async () => {
      const server = await imds({ publicIpv4: undefined });

      const result = await onEc2(server, 'deregister');

      expect(result.status).toBe(0);
      const body = `{"v":1,"action":"deregister","record":"web.dyn.example.com","instanceId":"${instanceId}"}`;
      expect(awsCalls()).toEqual([sendArgs(body, 'eu-west-1')]);
      expect(server.requests.map((r) => r.path)).not.toContain('/latest/meta-data/public-ipv4');
    });

    test('takes an IMDS endpoint written as an IPv6 literal, as on IPv6-only subnets', async () => {
      const server = await imds();
      const port = new URL(server.endpoint).port;

      const result = await run('register', {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://[::ffff:127.0.0.1]:${port}/`,
      });

      expect(result.status).toBe(0);
      expect(awsCalls()).toHaveLength(1);
      expect(server.requests[0]?.path).toBe('/latest/api/token');
    });

    test('exits 3 and says what to do when the instance has no public IPv4', async () => {
      const server = await imds({ publicIpv4: undefined });

      const result = await onEc2(server, 'register');

      expect(result.status).toBe(3);
      expect(result.stderr).toBe(
        'r53dyn-register: no public IPv4 on this instance: attach one or set R53DYN_ADDRESS_FAMILIES=ipv6\n',
      );
      expect(awsCalls()).toEqual([]);
    });

    test('exits 3 when nothing answers at the metadata endpoint', async () => {
      const server = await imds();
      await server.close();
      servers.splice(servers.indexOf(server), 1);

      const result = await onEc2(server, 'register');

      expect(result.status).toBe(3);
      expect(result.stderr).toContain(`instance metadata did not answer at ${server.endpoint}`);
      expect(awsCalls()).toEqual([]);
    });

    test.each([
      ['public IPv4', { publicIpv4: '1.2.3.4","x":"y' }],
      ['public IPv4 on two lines', { publicIpv4: '1.2.3.4\n5.6.7.8' }],
      ['public IPv4 out of range', { publicIpv4: '1.2.3.256' }],
      ['instance id', { instanceId: 'i-0123456789abcdef0","ipv4":"9.9.9.9' }],
      ['IPv6', { ipv6: '2001:db8::1"}' }],
    ])('refuses a hostile %s from IMDS with exit 3 and sends nothing', async (_what, options) => {
      const server = await imds(options);

      const result = await onEc2(server, 'register', {
        R53DYN_ADDRESS_FAMILIES: 'ipv6' in options ? 'ipv4 ipv6' : 'ipv4',
      });

      expect(result.status).toBe(3);
      expect(result.stderr).toMatch(/^r53dyn-register: instance metadata returned a bad /);
      expect(awsCalls()).toEqual([]);
    });
  });

  describe('sending', () => {
    test('retries with growing, jittered delays, and succeeds on the last attempt with the same message', async () => {
      const server = await imds();

      const result = await onEc2(server, 'register', { STUB_AWS_FAILURES: '7' });

      expect(result.status).toBe(0);
      const calls = awsCalls();
      expect(calls).toHaveLength(8);
      expect(new Set(calls.map((c) => JSON.stringify(c))).size).toBe(1);
      expect(result.stdout).toContain('message id msg-8');
      const waits = [
        ...result.stderr.matchAll(/attempt (\d)\/8 failed \(aws exit 255\); retrying in ([\d.]+)s/g),
      ];
      expect(waits.map((m) => m[1])).toEqual(['1', '2', '3', '4', '5', '6', '7']);
      // The n-th wait lies in [d, 2d] with d = 0.01 * 2^(n-1) (printed to the millisecond) ...
      const seconds = waits.map((m) => Number(m[2]));
      seconds.forEach((s, i) => {
        const d = 0.01 * 2 ** i;
        expect(s).toBeGreaterThanOrEqual(d);
        expect(s).toBeLessThanOrEqual(2 * d);
      });
      // ... and is not always d: seven draws all landing on zero jitter would mean there is none.
      expect(seconds.some((s, i) => s > 0.01 * 2 ** i + 0.001)).toBe(true);
      // The CLI's own error reaches the log for each failure.
      expect(result.stderr.match(/RequestThrottled/g)).toHaveLength(7);
    });

    test('exits 4 after R53DYN_MAX_ATTEMPTS failures', async () => {
      const server = await imds();

      const result = await onEc2(server, 'register', { STUB_AWS_FAILURES: '99', R53DYN_MAX_ATTEMPTS: '3' });

      expect(result.status).toBe(4);
      expect(awsCalls()).toHaveLength(3);
      expect(result.stderr).toMatch(
        new RegExp(
          `register web\\.dyn\\.example\\.com: could not send to ${queueUrl} after 3 attempts \\(last aws exit 255\\)\\n$`,
        ),
      );
      expect(result.stdout).toBe('');
    });
  });

  describe('configuration', () => {
    test.each([
      ['no queue', { R53DYN_QUEUE_URL: undefined }, 'R53DYN_QUEUE_URL is not set'],
      ['no record', { R53DYN_RECORD: undefined }, 'R53DYN_RECORD is not set'],
      [
        'a record that would break the JSON',
        { R53DYN_RECORD: 'web".dyn.example.com' },
        'R53DYN_RECORD must be',
      ],
      ['an unknown address family', { R53DYN_ADDRESS_FAMILIES: 'ipv5' }, 'R53DYN_ADDRESS_FAMILIES takes'],
      ['an unknown platform', { R53DYN_PLATFORM: 'lambda' }, 'R53DYN_PLATFORM takes'],
      ['zero attempts', { R53DYN_MAX_ATTEMPTS: '0' }, 'R53DYN_MAX_ATTEMPTS must be'],
      ['a bad region', { R53DYN_REGION: 'eu-west-1;x' }, 'region is not an AWS region name'],
      [
        'ipv6 on ECS',
        {
          R53DYN_PLATFORM: 'ecs',
          ECS_CONTAINER_METADATA_URI_V4: 'http://x',
          R53DYN_ADDRESS_FAMILIES: 'ipv6',
        },
        'ipv6 is not supported on ECS',
      ],
    ])('exits 2 with %s, before asking any metadata', async (_what, env, message) => {
      const server = await imds();

      const result = await onEc2(server, 'register', env);

      expect(result.status).toBe(2);
      expect(result.stderr).toContain(message);
      expect(server.requests).toEqual([]);
      expect(awsCalls()).toEqual([]);
    });

    test('exits 2 with usage on an unknown action', async () => {
      const result = await run('update', {});

      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/usage: .*r53dyn-register\.sh register\|deregister\|heartbeat/);
    });

    test('reads an env file without running it, and the environment wins', async () => {
      const server = await imds();
      const envFile = join(workDir, 'r53dyn.env');
      writeFileSync(
        envFile,
        [
          '# as systemd reads it',
          `R53DYN_QUEUE_URL="${queueUrl}"`,
          "R53DYN_RECORD='api.dyn.example.com'",
          `AWS_EC2_METADATA_SERVICE_ENDPOINT=${server.endpoint}`,
          'R53DYN_REGION=ca-central-1',
          `R53DYN_CHECKIP_URL=$(touch ${workDir}/pwned)`,
          'PATH=/nowhere',
        ].join('\n'),
      );

      const result = await run('register', {
        R53DYN_ENV_FILE: envFile,
        R53DYN_QUEUE_URL: undefined,
        R53DYN_RECORD: undefined,
        R53DYN_MAX_ATTEMPTS: '2',
        R53DYN_REGION: 'sa-east-1',
      });

      expect(result.status).toBe(0);
      const body = `{"v":1,"action":"register","record":"api.dyn.example.com","instanceId":"${instanceId}","ipv4":"203.0.113.10"}`;
      expect(awsCalls()).toEqual([sendArgs(body, 'sa-east-1')]);
      expect(readdirSync(workDir)).not.toContain('pwned');
    });
  });

  describe('on ECS/Fargate', () => {
    async function ecs(checkipAnswer: string) {
      const metadata = await startFakeEcsMetadata({ taskArn });
      const checkip = await startFakeCheckip(checkipAnswer);
      servers.push(metadata, checkip);
      return { metadata, checkip };
    }

    /** Runs the script in an ECS task with these task metadata and checkip servers. */
    function inTask(
      metadata: FakeServer,
      checkip: FakeServer,
      action: string,
      env: Record<string, string> = {},
    ) {
      return run(action, {
        ECS_CONTAINER_METADATA_URI_V4: metadata.endpoint,
        R53DYN_CHECKIP_URL: checkip.endpoint,
        ...env,
      });
    }

    test('register uses the task id and the address from checkip, trimmed', async () => {
      const { metadata, checkip } = await ecs('  198.51.100.23 \n');

      const result = await inTask(metadata, checkip, 'register', { AWS_REGION: 'eu-north-1' });

      expect(result.status).toBe(0);
      const body = `{"v":1,"action":"register","record":"web.dyn.example.com","instanceId":"${taskId}","ipv4":"198.51.100.23"}`;
      expect(awsCalls()).toEqual([sendArgs(body, 'eu-north-1')]);
      expect(metadata.requests.map((r) => r.path)).toEqual([`${new URL(metadata.endpoint).pathname}/task`]);
      expect(checkip.requests).toHaveLength(1);
    });

    test('without a region setting, the region comes from the task ARN', async () => {
      const { metadata, checkip } = await ecs('198.51.100.23\n');

      const result = await inTask(metadata, checkip, 'heartbeat');

      expect(result.status).toBe(0);
      expect(awsCalls()[0]?.slice(-2)).toEqual(['--region', 'ap-southeast-2']);
    });

    test('deregister does not ask checkip', async () => {
      const { metadata, checkip } = await ecs('198.51.100.23\n');

      const result = await inTask(metadata, checkip, 'deregister');

      expect(result.status).toBe(0);
      const body = `{"v":1,"action":"deregister","record":"web.dyn.example.com","instanceId":"${taskId}"}`;
      expect(awsCalls()).toEqual([sendArgs(body, 'ap-southeast-2')]);
      expect(checkip.requests).toEqual([]);
    });

    test.each(['198.51.100.23","x":"y', '<html>captive portal</html>', ''])(
      'refuses checkip answering %j with exit 3',
      async (answer) => {
        const { metadata, checkip } = await ecs(answer);

        const result = await inTask(metadata, checkip, 'register');

        expect(result.status).toBe(3);
        expect(result.stderr).toContain(`${checkip.endpoint} did not answer an IPv4 address`);
        expect(awsCalls()).toEqual([]);
      },
    );
  });

  describe('readiness gate', () => {
    let server: FakeImds;
    let check: ReadinessCheck;
    const line = (text: string) => `r53dyn-register: ${text}\n`;
    const bodyOf = {
      register: `{"v":1,"action":"register","record":"web.dyn.example.com","instanceId":"${instanceId}","ipv4":"203.0.113.10"}`,
      heartbeat: `{"v":1,"action":"heartbeat","record":"web.dyn.example.com","instanceId":"${instanceId}","ipv4":"203.0.113.10"}`,
      deregister: `{"v":1,"action":"deregister","record":"web.dyn.example.com","instanceId":"${instanceId}"}`,
    };
    const unhealthy = (n: number) => `exit 7: unhealthy (check ${n})`;

    beforeEach(async () => {
      server = await imds();
      check = makeReadinessCheck(workDir);
    });

    function gateEnv(env: Record<string, string | undefined> = {}) {
      return {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint,
        R53DYN_READINESS_COMMAND: check.command,
        R53DYN_STATE_FILE: check.stateFile,
        ...env,
      };
    }

    function bodies(calls: string[][]): string[] {
      return calls.map((c) => c[c.indexOf('--message-body') + 1] ?? '');
    }

    /** One run, with the bodies that it gave the aws CLI. */
    async function gate(action: string, env: Record<string, string | undefined> = {}) {
      const before = awsCalls().length;
      const result = await run(action, gateEnv(env));
      return { ...result, sent: bodies(awsCalls().slice(before)) };
    }

    test('a passing check registers and records the machine as published', async () => {
      check.setHealthy(true);

      const result = await gate('register');

      expect(result.status).toBe(0);
      expect(result.sent).toEqual([bodyOf.register]);
      expect(result.stdout).toBe(
        `r53dyn-register: register web.dyn.example.com for ${instanceId} sent, message id msg-1\n`,
      );
      expect(result.stderr).toBe(line('state: published (failures: 0)'));
      expect(check.state()).toBe(stateText('published', 0));
      expect(check.runs()).toBe(1);
      expect(readdirSync(dirname(check.stateFile)).sort()).toEqual([
        'readiness.state',
        'readiness.state.lock',
      ]);
    });

    test('register waits for the check with a logged backoff, and sends nothing until it passes', async () => {
      check.passFrom(3);
      // Each check notes how many messages had been sent by then.
      const seen = join(workDir, 'seen');
      const command = `ls ${workDir} | grep -c '^call-' >>${seen}; ${check.command}`;

      const result = await gate('register', {
        R53DYN_READINESS_COMMAND: command,
        R53DYN_READINESS_WAIT_SECONDS: '30',
      });

      expect(result.status).toBe(0);
      expect(result.sent).toEqual([bodyOf.register]);
      expect(readFileSync(seen, 'utf8')).toBe('0\n0\n0\n');
      const lines = result.stderr.split('\n');
      expect(lines).toHaveLength(5);
      const waits = lines.slice(0, 2).map((l, i) => {
        const m = l.match(
          /^r53dyn-register: readiness check (\d) failed \((.*)\); next check in ([\d.]+)s, (\d+)s left$/,
        );
        expect(m?.slice(1, 3)).toEqual([String(i + 1), unhealthy(i + 1)]);
        expect(Number(m?.[4])).toBeGreaterThanOrEqual(29);
        expect(Number(m?.[4])).toBeLessThanOrEqual(30);
        return Number(m?.[3]);
      });
      // The sending backoff: the n-th wait is d..2d, d = 0.01 * 2^(n-1).
      expect(waits[0]).toBeGreaterThanOrEqual(0.01);
      expect(waits[0]).toBeLessThanOrEqual(0.02);
      expect(waits[1]).toBeGreaterThanOrEqual(0.02);
      expect(waits[1]).toBeLessThanOrEqual(0.04);
      expect(lines.slice(2)).toEqual([
        expect.stringMatching(/^r53dyn-register: readiness check 3 passed after [01]s$/),
        'r53dyn-register: state: published (failures: 0)',
        '',
      ]);
      expect(check.state()).toBe(stateText('published', 0));
    });

    test('register that times out sends nothing and exits 5; the heartbeat registers once the check passes', async () => {
      const result = await gate('register', {
        R53DYN_READINESS_WAIT_SECONDS: '1',
        R53DYN_RETRY_BASE_SECONDS: '0.2',
      });

      expect(result.status).toBe(5);
      expect(result.sent).toEqual([]);
      const checks = check.runs();
      expect(checks).toBeGreaterThanOrEqual(2);
      expect(result.stderr.split('\n').slice(-3)).toEqual([
        `r53dyn-register: state: unpublished (failures: ${checks})`,
        `r53dyn-register: not ready after 1s (${checks} checks, last: ${unhealthy(checks)}): ` +
          'web.dyn.example.com not registered; the heartbeat registers it once the check passes',
        '',
      ]);
      expect(check.state()).toBe(stateText('unpublished', checks));

      const stillDown = await gate('heartbeat');

      expect(stillDown.status).toBe(5);
      expect(stillDown.sent).toEqual([]);
      expect(stillDown.stderr).toBe(
        line(
          `readiness check failed (${checks + 1} in a row; ${unhealthy(checks + 1)}): not published, nothing sent`,
        ),
      );

      check.setHealthy(true);
      const recovered = await gate('heartbeat');

      expect(recovered.status).toBe(0);
      expect(recovered.sent).toEqual([bodyOf.register]);
      expect(recovered.stderr).toBe(
        line(`readiness check passed after ${checks + 1} failures in a row`) +
          line('state: published (failures: 0)'),
      );
      expect(check.state()).toBe(stateText('published', 0));
    });

    test('heartbeats: N-1 failures keep the machine, the Nth deregisters, then nothing until a pass registers', async () => {
      check.setHealthy(true);
      expect((await gate('register')).status).toBe(0);
      check.setHealthy(false);

      const first = await gate('heartbeat');
      const second = await gate('heartbeat');
      const third = await gate('heartbeat');
      const fourth = await gate('heartbeat');
      check.setHealthy(true);
      const fifth = await gate('heartbeat');
      const sixth = await gate('heartbeat');

      expect([first, second, third, fourth, fifth, sixth].map((r) => [r.status, r.sent])).toEqual([
        [5, [bodyOf.heartbeat]],
        [5, [bodyOf.heartbeat]],
        [5, [bodyOf.deregister]],
        [5, []],
        [0, [bodyOf.register]],
        [0, [bodyOf.heartbeat]],
      ]);
      expect(first.stderr).toBe(
        line(`readiness check failed (1 in a row, deregistering at 3; ${unhealthy(2)}): still published`),
      );
      expect(second.stderr).toBe(
        line(`readiness check failed (2 in a row, deregistering at 3; ${unhealthy(3)}): still published`),
      );
      expect(third.stderr).toBe(
        line(`readiness check failed (3 in a row, deregistering at 3; ${unhealthy(4)}): deregistering`) +
          line('state: unpublished (failures: 3)'),
      );
      expect(third.stdout).toBe(
        `r53dyn-register: deregister web.dyn.example.com for ${instanceId} sent, message id msg-4\n`,
      );
      expect(fourth.stderr).toBe(
        line(`readiness check failed (4 in a row; ${unhealthy(5)}): not published, nothing sent`),
      );
      expect(fourth.stdout).toBe('');
      expect(fifth.stderr).toBe(
        line('readiness check passed after 4 failures in a row') + line('state: published (failures: 0)'),
      );
      expect(sixth.stderr).toBe('');
      expect(check.state()).toBe(stateText('published', 0));
    });

    test('a flapping check never sends a deregistration twice', async () => {
      check.writeState('published', 0);
      const { register, heartbeat, deregister } = bodyOf;
      // Each heartbeat's check, and what the heartbeat sends. N = 2: a pass resets the count, so only two failures
      // in a row deregister.
      const steps: [healthy: boolean, sends: string[]][] = [
        [false, [heartbeat]],
        [true, [heartbeat]],
        [false, [heartbeat]],
        [true, [heartbeat]],
        [false, [heartbeat]],
        [false, [deregister]],
        [false, []],
        [false, []],
        [true, [register]],
        [false, [heartbeat]],
        [true, [heartbeat]],
      ];

      const sent: string[][] = [];
      for (const [healthy] of steps) {
        check.setHealthy(healthy);
        const result = await gate('heartbeat', { R53DYN_READINESS_FAILURES: '2' });
        expect(result.status).toBe(healthy ? 0 : 5);
        sent.push(result.sent);
      }

      expect(sent).toEqual(steps.map(([, sends]) => sends));
      expect(check.state()).toBe(stateText('published', 0));
    });

    test('deregister is always sent, runs no check, and heartbeats then send nothing until register', async () => {
      check.writeState('unpublished', 5);

      const result = await gate('deregister');

      expect(result.status).toBe(0);
      expect(result.sent).toEqual([bodyOf.deregister]);
      expect(result.stderr).toBe(line('state: withdrawn (failures: 0)'));
      expect(check.runs()).toBe(0);
      expect(check.state()).toBe(stateText('withdrawn', 0));

      check.setHealthy(true);
      const passing = await gate('heartbeat');
      check.setHealthy(false);
      const failing = await gate('heartbeat');
      check.setHealthy(true);
      const registered = await gate('register');

      expect(passing.status).toBe(0);
      expect(passing.sent).toEqual([]);
      expect(passing.stderr).toBe(line('withdrawn by deregister: nothing sent (register publishes again)'));
      expect(failing.status).toBe(5);
      expect(failing.sent).toEqual([]);
      expect(failing.stderr).toBe(
        line(`readiness check failed (1 in a row; ${unhealthy(2)}): withdrawn by deregister, nothing sent`),
      );
      expect(registered.sent).toEqual([bodyOf.register]);
      expect(check.state()).toBe(stateText('published', 0));
    });

    test('without a state file the machine is taken as published, so failures take it out', async () => {
      const result = await gate('heartbeat', { R53DYN_READINESS_FAILURES: '1' });

      expect(result.status).toBe(5);
      expect(result.sent).toEqual([bodyOf.deregister]);
      expect(result.stderr).toBe(
        line(`no readiness state in ${check.stateFile} yet: taking the machine as published`) +
          line(`readiness check failed (1 in a row, deregistering at 1; ${unhealthy(1)}): deregistering`) +
          line('state: unpublished (failures: 1)'),
      );
      expect(check.state()).toBe(stateText('unpublished', 1));
    });

    test.each([
      ['an unknown state', 'state=perhaps\nfailures=2\n'],
      ['a count with a leading zero (which sh would read as octal)', 'state=unpublished\nfailures=010\n'],
      ['no count', 'state=unpublished\n'],
    ])('a state file with %s is taken as published and rewritten', async (_what, text) => {
      mkdirSync(dirname(check.stateFile), { recursive: true });
      writeFileSync(check.stateFile, text);
      check.setHealthy(true);

      const result = await gate('heartbeat');

      expect(result.status).toBe(0);
      expect(result.sent).toEqual([bodyOf.heartbeat]);
      expect(result.stderr).toBe(
        line(`${check.stateFile} does not hold a readiness state: taking the machine as published`),
      );
      expect(check.state()).toBe(stateText('published', 0));
    });

    test('a check that outlives R53DYN_READINESS_TIMEOUT_SECONDS is killed and counts as failed', async () => {
      check.writeState('published', 0);

      const result = await gate('heartbeat', {
        R53DYN_READINESS_COMMAND: 'echo starting; sleep 5',
        R53DYN_READINESS_TIMEOUT_SECONDS: '1',
      });

      expect(result.status).toBe(5);
      expect(result.stderr).toBe(
        line('readiness check failed (1 in a row, deregistering at 3; timed out after 1s): still published'),
      );
      expect(result.sent).toEqual([bodyOf.heartbeat]);
    });

    test('a check cannot keep the lock through a process it leaves behind', async () => {
      check.writeState('published', 0);
      const env = { R53DYN_READINESS_COMMAND: 'sleep 3 & true', R53DYN_LOCK_WAIT_SECONDS: '0' };

      const first = await gate('heartbeat', env);
      const second = await gate('heartbeat', env);

      expect([first.status, second.status]).toEqual([0, 0]);
      expect([...first.sent, ...second.sent]).toEqual([bodyOf.heartbeat, bodyOf.heartbeat]);
    });

    test('a deregistration that could not be sent is sent again by the next heartbeat', async () => {
      check.writeState('published', 2);

      const failed = await gate('heartbeat', { STUB_AWS_FAILURES: '1', R53DYN_MAX_ATTEMPTS: '1' });

      expect(failed.status).toBe(4);
      expect(failed.sent).toEqual([bodyOf.deregister]);
      expect(check.state()).toBe(stateText('published', 3));

      const retried = await gate('heartbeat', { STUB_AWS_FAILURES: '1' });

      expect(retried.status).toBe(5);
      expect(retried.sent).toEqual([bodyOf.deregister]);
      expect(retried.stdout).toContain('message id msg-2');
      expect(check.state()).toBe(stateText('unpublished', 4));
    });

    /** Two heartbeats at once, one failure short of the limit, with checks slow enough to overlap. */
    async function twoHeartbeatsAtOnce(env: Record<string, string | undefined> = {}) {
      check.writeState('published', 2);
      check.delay(0.5);

      const results = await Promise.all([run('heartbeat', gateEnv(env)), run('heartbeat', gateEnv(env))]);

      expect(results.map((r) => r.status)).toEqual([5, 5]);
      expect(bodies(awsCalls())).toEqual([bodyOf.deregister]);
      const stderr = results.map((r) => r.stderr).sort();
      expect(stderr).toEqual([
        expect.stringMatching(
          /^r53dyn-register: readiness check failed \(3 in a row, deregistering at 3; exit 7: unhealthy \(check [12]\)\): deregistering\nr53dyn-register: state: unpublished \(failures: 3\)\n$/,
        ),
        expect.stringMatching(
          /^r53dyn-register: readiness check failed \(4 in a row; exit 7: unhealthy \(check [12]\)\): not published, nothing sent\n$/,
        ),
      ]);
      expect(check.runs()).toBe(2);
      expect(check.state()).toBe(stateText('unpublished', 4));
    }

    test('two heartbeats at once take turns (flock): one deregistration, both failures counted', async () => {
      await twoHeartbeatsAtOnce();

      expect(existsSync(`${check.stateFile}.lock`)).toBe(true);
    });

    describe('without flock', () => {
      let bin: string;

      beforeEach(() => {
        // Everything on this machine's PATH except flock, so the script falls back to its symlink lock.
        bin = join(workDir, 'no-flock-bin');
        mkdirSync(bin);
        for (const dir of (process.env.PATH ?? '').split(':')) {
          if (!dir || !existsSync(dir)) continue;
          for (const name of readdirSync(dir)) {
            if (name === 'flock' || existsSync(join(bin, name))) continue;
            symlinkSync(join(dir, name), join(bin, name));
          }
        }
      });

      test('two heartbeats at once take turns (symlink lock), which is gone afterwards', async () => {
        await twoHeartbeatsAtOnce({ PATH: `${stubDir}:${bin}` });

        expect(existsSync(`${check.stateFile}.lock`)).toBe(false);
      });

      test('a lock left by a run that is gone is taken over', async () => {
        check.writeState('published', 0);
        check.setHealthy(true);
        symlinkSync('99999999', `${check.stateFile}.lock`);

        const result = await gate('heartbeat', { PATH: `${stubDir}:${bin}`, R53DYN_LOCK_WAIT_SECONDS: '0' });

        expect(result.status).toBe(0);
        expect(result.sent).toEqual([bodyOf.heartbeat]);
        expect(result.stderr).toBe(
          line(`taking over ${check.stateFile}.lock from process 99999999, which is gone`),
        );
      });
    });

    describe('while another run holds the lock', () => {
      let holder: ReturnType<typeof spawn>;
      const lock = () => `${check.stateFile}.lock`;

      beforeEach(async () => {
        mkdirSync(dirname(check.stateFile), { recursive: true });
        holder = spawn('flock', [lock(), 'sleep', '30'], { stdio: 'ignore' });
        // Held once a non-blocking attempt fails.
        for (let i = 0; i < 100; i++) {
          try {
            execFileSync('flock', ['-n', lock(), 'true']);
          } catch {
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error('the test could not take the lock');
      });

      afterEach(() => {
        holder.kill();
      });

      test('a heartbeat gives up after R53DYN_LOCK_WAIT_SECONDS with exit 6, checking and sending nothing', async () => {
        check.writeState('published', 0);

        const result = await gate('heartbeat', { R53DYN_LOCK_WAIT_SECONDS: '1' });

        expect(result.status).toBe(6);
        expect(result.stderr).toBe(line(`another run has held ${lock()} for 1s: nothing checked or sent`));
        expect(result.sent).toEqual([]);
        expect(check.runs()).toBe(0);
        expect(check.state()).toBe(stateText('published', 0));
      });

      test('a deregister is sent anyway', async () => {
        const result = await gate('deregister', { R53DYN_LOCK_WAIT_SECONDS: '1' });

        expect(result.status).toBe(0);
        expect(result.sent).toEqual([bodyOf.deregister]);
        expect(result.stderr).toBe(
          line(`another run has held ${lock()} for 1s: deregistering anyway`) +
            line('state: withdrawn (failures: 0)'),
        );
      });
    });

    test.each([
      [
        'a non-numeric R53DYN_READINESS_FAILURES',
        { R53DYN_READINESS_FAILURES: 'three' },
        'R53DYN_READINESS_FAILURES must be 1 to 999 (failed checks in a row before deregistering): three',
      ],
      [
        'R53DYN_READINESS_FAILURES=0',
        { R53DYN_READINESS_FAILURES: '0' },
        'R53DYN_READINESS_FAILURES must be 1 to 999 (failed checks in a row before deregistering): 0',
      ],
      [
        'a negative R53DYN_READINESS_FAILURES',
        { R53DYN_READINESS_FAILURES: '-1' },
        'R53DYN_READINESS_FAILURES must be 1 to 999 (failed checks in a row before deregistering): -1',
      ],
      [
        'R53DYN_READINESS_TIMEOUT_SECONDS=0',
        { R53DYN_READINESS_TIMEOUT_SECONDS: '0' },
        'R53DYN_READINESS_TIMEOUT_SECONDS must be 1 to 9999: 0',
      ],
      [
        'a fractional R53DYN_READINESS_WAIT_SECONDS',
        { R53DYN_READINESS_WAIT_SECONDS: '1.5' },
        'R53DYN_READINESS_WAIT_SECONDS must be 0 to 99999: 1.5',
      ],
      [
        'a word for R53DYN_LOCK_WAIT_SECONDS',
        { R53DYN_LOCK_WAIT_SECONDS: 'long' },
        'R53DYN_LOCK_WAIT_SECONDS must be 0 to 9999: long',
      ],
      [
        'a relative R53DYN_STATE_FILE',
        { R53DYN_STATE_FILE: 'readiness.state' },
        'R53DYN_STATE_FILE must be an absolute file name: readiness.state',
      ],
    ])('exits 2 with %s, before asking metadata or running the check', async (_what, env, message) => {
      const result = await gate('heartbeat', env);

      expect(result.status).toBe(2);
      expect(result.stderr).toBe(line(message));
      expect(server.requests).toEqual([]);
      expect(result.sent).toEqual([]);
      expect(check.runs()).toBe(0);
    });

    test('exits 2 when the state file is a folder, or its folder cannot be made', async () => {
      writeFileSync(join(workDir, 'plain-file'), '');

      const folder = await gate('heartbeat', { R53DYN_STATE_FILE: workDir });
      const blocked = await gate('heartbeat', {
        R53DYN_STATE_FILE: join(workDir, 'plain-file', 'readiness.state'),
      });

      expect([folder.status, blocked.status]).toEqual([2, 2]);
      expect(folder.stderr).toBe(line(`R53DYN_STATE_FILE is not a regular file: ${workDir}`));
      expect(blocked.stderr).toBe(
        line(`cannot write the readiness state in ${join(workDir, 'plain-file')} (set R53DYN_STATE_FILE)`),
      );
      expect(check.runs()).toBe(0);
    });

    test.each([
      ['unset', undefined],
      ['blank', '  '],
    ])(
      'with the command %s, nothing changes: no check, no state, gate settings unread',
      async (_what, command) => {
        const result = await gate('heartbeat', {
          R53DYN_READINESS_COMMAND: command,
          R53DYN_READINESS_FAILURES: 'three',
        });

        expect(result.status).toBe(0);
        expect(result.sent).toEqual([bodyOf.heartbeat]);
        expect(result.stderr).toBe('');
        expect(existsSync(dirname(check.stateFile))).toBe(false);
        expect(check.runs()).toBe(0);
      },
    );

    test('reads the command from the env file, as systemd does', async () => {
      const envFile = join(workDir, 'r53dyn.env');
      writeFileSync(
        envFile,
        [
          `R53DYN_READINESS_COMMAND="${check.command} --quiet"`,
          'R53DYN_READINESS_FAILURES=1',
          `R53DYN_STATE_FILE=${check.stateFile}`,
        ].join('\n'),
      );
      check.writeState('published', 0);

      const result = await gate('heartbeat', {
        R53DYN_ENV_FILE: envFile,
        R53DYN_READINESS_COMMAND: undefined,
        R53DYN_STATE_FILE: undefined,
      });

      expect(result.status).toBe(5);
      expect(result.sent).toEqual([bodyOf.deregister]);
      expect(check.state()).toBe(stateText('unpublished', 1));
    });
  });
});
