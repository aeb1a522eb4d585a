// The real boot script against fake metadata servers and a stub `aws` that records its arguments.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('r53dyn-register.sh', () => {
  test('is POSIX sh', () => {
    expect(() => execFileSync('sh', ['-n', bootScriptPath])).not.toThrow();
  });

  describe('on EC2', () => {
    test('register sends the exact body, with the region from IMDS, using an IMDSv2 token', async () => {
      const server = await imds();

      const result = await run('register', { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint });

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

      const result = await run('register', {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint,
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

        const result = await run('register', { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint, ...env });

        expect(result.status).toBe(0);
        const body = `{"v":1,"action":"register","record":"web.dyn.example.com","instanceId":"${instanceId}","ipv4":"203.0.113.10"}`;
        expect(awsCalls()).toEqual([sendArgs(body, 'eu-west-1', endpoint)]);
      },
    );

    test('ipv4 and ipv6 together, IPv6 found under the interface when meta-data/ipv6 is missing', async () => {
      const server = await imds({ ipv6: '2001:db8:1234::10\n2001:db8:1234::11', ipv6OnlyUnderMac: true });

      const result = await run('register', {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint,
        R53DYN_ADDRESS_FAMILIES: 'ipv4 ipv6',
      });

      expect(result.status).toBe(0);
      const body =
        `{"v":1,"action":"register","record":"web.dyn.example.com","instanceId":"${instanceId}",` +
        '"ipv4":"203.0.113.10","ipv6":"2001:db8:1234::10"}';
      expect(awsCalls()).toEqual([sendArgs(body, 'eu-west-1')]);
      expect(server.rejected()).toBe(0);
    });

    test('ipv6 only needs no public IPv4', async () => {
      const server = await imds({ publicIpv4: undefined, ipv6: '2001:db8::7' });

      const result = await run('heartbeat', {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint,
        R53DYN_ADDRESS_FAMILIES: 'ipv6',
      });

      expect(result.status).toBe(0);
      const body = `{"v":1,"action":"heartbeat","record":"web.dyn.example.com","instanceId":"${instanceId}","ipv6":"2001:db8::7"}`;
      expect(awsCalls()).toEqual([sendArgs(body, 'eu-west-1')]);
    });

    test('heartbeat carries the address like register', async () => {
      const server = await imds();

      const result = await run('heartbeat', { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint });

      expect(result.status).toBe(0);
      const body = `{"v":1,"action":"heartbeat","record":"web.dyn.example.com","instanceId":"${instanceId}","ipv4":"203.0.113.10"}`;
      expect(awsCalls()).toEqual([sendArgs(body, 'eu-west-1')]);
    });

    test('deregister carries no address and does not need one', async () => {
      const server = await imds({ publicIpv4: undefined });

      const result = await run('deregister', { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint });

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

      const result = await run('register', { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint });

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

      const result = await run('register', { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint });

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

      const result = await run('register', {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint,
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

      const result = await run('register', {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint,
        STUB_AWS_FAILURES: '7',
      });

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

      const result = await run('register', {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint,
        STUB_AWS_FAILURES: '99',
        R53DYN_MAX_ATTEMPTS: '3',
      });

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

      const result = await run('register', { AWS_EC2_METADATA_SERVICE_ENDPOINT: server.endpoint, ...env });

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

    test('register uses the task id and the address from checkip, trimmed', async () => {
      const { metadata, checkip } = await ecs('  198.51.100.23 \n');

      const result = await run('register', {
        ECS_CONTAINER_METADATA_URI_V4: metadata.endpoint,
        R53DYN_CHECKIP_URL: checkip.endpoint,
        AWS_REGION: 'eu-north-1',
      });

      expect(result.status).toBe(0);
      const body = `{"v":1,"action":"register","record":"web.dyn.example.com","instanceId":"${taskId}","ipv4":"198.51.100.23"}`;
      expect(awsCalls()).toEqual([sendArgs(body, 'eu-north-1')]);
      expect(metadata.requests.map((r) => r.path)).toEqual([`${new URL(metadata.endpoint).pathname}/task`]);
      expect(checkip.requests).toHaveLength(1);
    });

    test('without a region setting, the region comes from the task ARN', async () => {
      const { metadata, checkip } = await ecs('198.51.100.23\n');

      const result = await run('heartbeat', {
        ECS_CONTAINER_METADATA_URI_V4: metadata.endpoint,
        R53DYN_CHECKIP_URL: checkip.endpoint,
      });

      expect(result.status).toBe(0);
      expect(awsCalls()[0]?.slice(-2)).toEqual(['--region', 'ap-southeast-2']);
    });

    test('deregister does not ask checkip', async () => {
      const { metadata, checkip } = await ecs('198.51.100.23\n');

      const result = await run('deregister', {
        ECS_CONTAINER_METADATA_URI_V4: metadata.endpoint,
        R53DYN_CHECKIP_URL: checkip.endpoint,
      });

      expect(result.status).toBe(0);
      const body = `{"v":1,"action":"deregister","record":"web.dyn.example.com","instanceId":"${taskId}"}`;
      expect(awsCalls()).toEqual([sendArgs(body, 'ap-southeast-2')]);
      expect(checkip.requests).toEqual([]);
    });

    test.each(['198.51.100.23","x":"y', '<html>captive portal</html>', ''])(
      'refuses checkip answering %j with exit 3',
      async (answer) => {
        const { metadata, checkip } = await ecs(answer);

        const result = await run('register', {
          ECS_CONTAINER_METADATA_URI_V4: metadata.endpoint,
          R53DYN_CHECKIP_URL: checkip.endpoint,
        });

        expect(result.status).toBe(3);
        expect(result.stderr).toContain(`${checkip.endpoint} did not answer an IPv4 address`);
        expect(awsCalls()).toEqual([]);
      },
    );
  });
});
