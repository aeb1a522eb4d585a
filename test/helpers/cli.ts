// The r53dyn CLI as an operator runs it: a child process of its `bin` entry, against the LocalStack stack.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpoint, region } from './localstack';

export const cliBin = join(__dirname, '..', '..', 'infra', 'cli', 'r53dyn.js');

export interface CliRun {
  args: string[];
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A HOME without ~/.aws, so that only what a test passes decides the credentials. */
const home = mkdtempSync(join(tmpdir(), 'r53dyn-cli-home-'));

/** The environment of an operator pointed at LocalStack; `env` adds or (with undefined) removes variables. */
export function cliEnvironment(env: Record<string, string | undefined> = {}): Record<string, string> {
  const base: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: home,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_CONFIG_FILE: join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
    ...env,
  };
  return Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined));
}

/** `r53dyn --endpoint-url <LocalStack> --region us-east-1 --stage local <args>`, to its end. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; stack?: boolean } = {},
): Promise<CliRun> {
  const global =
    options.stack === false ? [] : ['--endpoint-url', endpoint, '--region', region, '--stage', 'local'];
  const all = [...global, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...all], {
      env: cliEnvironment(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ args: all, status, signal, stdout, stderr }));
  });
}

/** The JSON a `--json` run printed; fails the test with the run's stderr when it printed none. */
export function jsonOf<T>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`r53dyn ${run.args.join(' ')} printed no JSON (exit ${run.status}): ${run.stderr}`);
  }
}
