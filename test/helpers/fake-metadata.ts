// Stand-ins for what the boot script asks on a real machine (IMDSv2, ECS task metadata, checkip), served
// on loopback, and a runner for infra/boot/r53dyn-register.sh. The runner is asynchronous on purpose:
// a synchronous child would block this process's event loop and the fakes could never answer it.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
export const bootScriptPath = join(root, 'infra', 'boot', 'r53dyn-register.sh');

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** what the fake answered */
  status: number;
}

export interface FakeServer {
  /** base URL: the value for AWS_EC2_METADATA_SERVICE_ENDPOINT, ECS_CONTAINER_METADATA_URI_V4 or R53DYN_CHECKIP_URL */
  endpoint: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

type Answer = { status: number; body: string };
type Route = (req: IncomingMessage) => Answer;

async function serve(route: Route, basePath = ''): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // The script sends no bodies, but draining keeps keep-alive connections sane.
    req.resume();
    req.on('end', () => {
      const answer = route(req);
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        status: answer.status,
      });
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}${basePath}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

const text = (body: string, status = 200): Answer => ({ status, body });
const notFound = (): Answer => text('Not Found', 404);

export interface FakeImdsOptions {
  instanceId: string;
  /** absent: public-ipv4 answers 404, as on an instance without a public address */
  publicIpv4?: string;
  ipv6?: string;
  /** serve IPv6 only under network/interfaces/macs/<mac>/ipv6s, where meta-data/ipv6 is missing */
  ipv6OnlyUnderMac?: boolean;
  mac?: string;
  region?: string;
}

export interface FakeImds extends FakeServer {
  /** GETs answered 401 because they lacked the token from PUT /latest/api/token */
  rejected(): number;
}

/** A fake IMDSv2: a GET without a token from PUT /latest/api/token is answered 401, as with HttpTokens=required. */
export async function startFakeImds(options: FakeImdsOptions): Promise<FakeImds> {
  const tokens = new Set<string>();
  const mac = options.mac ?? '0e:12:34:56:78:9a';
  const items: Record<string, string | undefined> = {
    'instance-id': options.instanceId,
    'public-ipv4': options.publicIpv4,
    ipv6: options.ipv6OnlyUnderMac ? undefined : options.ipv6,
    mac,
    [`network/interfaces/macs/${mac}/ipv6s`]: options.ipv6,
    'placement/region': options.region,
  };
  const server = await serve((req) => {
    const path = req.url ?? '';
    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return text('', 405);
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return text('', 400);
      const token = randomBytes(24).toString('base64');
      tokens.add(token);
      return text(token);
    }
    if (req.method !== 'GET') return text('', 405);
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (typeof token !== 'string' || !tokens.has(token)) return text('', 401);
    const prefix = '/latest/meta-data/';
    if (!path.startsWith(prefix)) return notFound();
    const value = items[path.slice(prefix.length)];
    return value === undefined ? notFound() : text(value);
  });
  return { ...server, rejected: () => server.requests.filter((r) => r.status === 401).length };
}

/** ECS task metadata v4: `endpoint` is what ECS_CONTAINER_METADATA_URI_V4 holds; `${endpoint}/task` answers. */
export async function startFakeEcsMetadata(options: { taskArn: string }): Promise<FakeServer> {
  const base = `/v4/${randomBytes(8).toString('hex')}-r53dyn`;
  // Pretty-printed, as the agent does, with a container label that also mentions the ARN.
  const task = JSON.stringify(
    {
      Cluster: 'default',
      TaskARN: options.taskArn,
      Family: 'web',
      Containers: [{ Name: 'web', Labels: { 'com.amazonaws.ecs.task-arn': options.taskArn } }],
      LaunchType: 'FARGATE',
    },
    null,
    2,
  );
  return serve((req) => (req.method === 'GET' && req.url === `${base}/task` ? text(task) : notFound()), base);
}

/** checkip.amazonaws.com: answers `answer` (the address and a newline, unless told otherwise). */
export async function startFakeCheckip(answer: string): Promise<FakeServer> {
  return serve(() => text(answer));
}

export interface BootScriptResult {
  /** exit code (null when killed by a signal) */
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the boot script with `env` on top of a minimal environment (PATH and HOME from this process,
 * no env file), so nothing from the developer's shell (AWS_PROFILE, a real region) leaks in.
 */
export function runBootScript(
  action: string,
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number } = {},
): Promise<BootScriptResult> {
  const childEnv: Record<string, string> = {};
  const merged = { PATH: process.env.PATH, HOME: process.env.HOME, R53DYN_ENV_FILE: '', ...env };
  for (const [key, value] of Object.entries(merged)) if (value !== undefined) childEnv[key] = value;
  return new Promise((resolve) => {
    execFile(
      bootScriptPath,
      [action],
      { env: childEnv, timeout: options.timeoutMs ?? 60_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

let toolsBin: string | undefined;

/** The folder holding the real AWS CLI (infra/local/tools.sh installs it on first use). */
export function awsCliBinDir(): string {
  toolsBin ??= execFileSync(join(root, 'infra', 'local', 'tools.sh'), { encoding: 'utf8' }).trim();
  return toolsBin;
}
