// The baseline r53dyn replaces: every machine's boot script runs
//   aws route53 change-resource-record-sets --hosted-zone-id Z… --change-batch '{"Changes":[{"Action":"UPSERT",…}]}'
// with its own address as the whole A record. runSeedStorm plays N machines booting at once against a Route 53
// endpoint (LocalStack with infra/local/hooks/route53-limits.py) and reports what the storm cost and left behind.
//
// Each machine's call retries as the AWS CLI v2 does by default
// (https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-retries.html): retry mode `standard`, 3 attempts in
// all, throttling and transient errors retried, truncated binary exponential backoff with full jitter and a 20 s cap,
// i.e. before retry n it waits rand(0,1) × min(2^(n-1), 20) seconds (botocore's botocore/retries/standard.py,
// ExponentialBackoff, which the CLI runs). The CLI's retry quota (500 tokens, 5 per retry) belongs to each machine's
// own CLI process and 2 retries can never exhaust it, so it is left out; the strategy keeps no state, so one SDK
// client serves every machine while each machine's call retries on its own.
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandOutput,
  Route53Client,
  type Route53ClientConfig,
} from '@aws-sdk/client-route-53';
import { localClientConfig } from '../../infra/local/connection';
import { asObserver } from '../helpers/call-counter';
import { readRoute53Counters } from '../helpers/route53-limits';

type ClientRetryStrategy = NonNullable<Route53ClientConfig['retryStrategy']>;
/** The SDK's token-based retry strategy interface (RetryStrategyV2). */
export type TokenRetryStrategy = Extract<ClientRetryStrategy, { acquireInitialRetryToken: unknown }>;
type RetryToken = Awaited<ReturnType<TokenRetryStrategy['acquireInitialRetryToken']>>;

/** AWS CLI v2 defaults, "standard" retry mode. */
export const cliRetryDefaults = { maxAttempts: 3, backoffBase: 2, maxBackoffSeconds: 20 } as const;

/** The CLI's wait before retry `retry` (1 for the first retry), in milliseconds, for a draw `random` in [0, 1). */
export const cliBackoffMs = (retry: number, random: number): number =>
  random * Math.min(cliRetryDefaults.backoffBase ** (retry - 1), cliRetryDefaults.maxBackoffSeconds) * 1000;

/** The AWS CLI v2's standard retry mode as an SDK v3 retry strategy; stateless, so it can be shared by callers. */
export function cliRetryStrategy(
  random: () => number = Math.random,
  maxAttempts: number = cliRetryDefaults.maxAttempts,
): TokenRetryStrategy {
  const token = (retries: number, delayMs: number): RetryToken => ({
    getRetryCount: () => retries,
    getRetryDelay: () => delayMs,
  });
  return {
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (previous, errorInfo) => {
      const retryable = errorInfo.errorType === 'THROTTLING' || errorInfo.errorType === 'TRANSIENT';
      const retry = previous.getRetryCount() + 1;
      if (!retryable || retry >= maxAttempts) {
        throw errorInfo.error ?? new Error(`not retried: ${errorInfo.errorType}`);
      }
      return token(retry, cliBackoffMs(retry, random()));
    },
    recordSuccess: () => {},
  };
}

export interface SeedMachine {
  instanceId: string;
  ipv4: string;
  /** The A record the machine's boot script UPSERTs, e.g. web.dyn.example.com. */
  name: string;
}

export interface SeedStormOptions {
  /** LocalStack's endpoint: Route 53 and the limits hook's counters are both read there. */
  route53Endpoint: string;
  hostedZoneId: string;
  /** Every record name the machines write (each machine's name must be one of them); read back afterwards. */
  names: string[];
  machines: SeedMachine[];
  /** Machines whose boot script runs at the same moment; default: all of them. */
  concurrency?: number;
  /** The backoff's jitter draw, in [0, 1); default Math.random. */
  random?: () => number;
  /** TTL of the records the boot script writes; default 60. */
  ttl?: number;
}

export interface SeedStormResult {
  machines: number;
  /** Route 53 calls made during the storm, every attempt (the limits hook's counters). */
  calls: number;
  /** Of those calls, the ones throttled. */
  throttledAttempts: number;
  /** Instance ids whose UPSERT still failed after the CLI's retries, in the order given. */
  failedMachines: string[];
  /** From the first boot script's start until the last machine's UPSERT finished (succeeded or gave up). */
  secondsUntilLastUpsert: number;
  /** Machine addresses found in their own name's A record afterwards (last writer wins: about one per name). */
  addressesPresent: number;
  /** Addresses that should resolve: one per machine. */
  addressesExpected: number;
}

const bare = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** Every A record of the zone, as name (no trailing dot, lower case) -> values. */
async function readARecords(client: Route53Client, hostedZoneId: string): Promise<Map<string, string[]>> {
  const records = new Map<string, string[]>();
  let page: ListResourceRecordSetsCommandOutput | undefined;
  do {
    page = await client.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: hostedZoneId,
        StartRecordName: page?.NextRecordName,
        StartRecordType: page?.NextRecordType,
        StartRecordIdentifier: page?.NextRecordIdentifier,
      }),
    );
    for (const set of page.ResourceRecordSets ?? []) {
      if (set.Type === 'A' && set.Name) {
        records.set(
          bare(set.Name),
          (set.ResourceRecords ?? []).flatMap((r) => (r.Value ? [r.Value] : [])),
        );
      }
    }
  } while (page.IsTruncated);
  return records;
}

/** Runs `work` on every item with at most `limit` running at once. */
async function inPool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function runSeedStorm(options: SeedStormOptions): Promise<SeedStormResult> {
  const { route53Endpoint, hostedZoneId, names, machines } = options;
  const concurrency = Math.max(1, options.concurrency ?? machines.length);
  const known = new Set(names.map(bare));
  const stray = machines.find((m) => !known.has(bare(m.name)));
  if (stray) {
    throw new Error(`machine ${stray.instanceId} writes ${stray.name}, which is not among names`);
  }
  const connection = { ...localClientConfig, endpoint: route53Endpoint };
  const bootScripts = new Route53Client({
    ...connection,
    maxAttempts: cliRetryDefaults.maxAttempts,
    retryStrategy: cliRetryStrategy(options.random),
    // one connection per machine booting at once, as separate machines would have
    requestHandler: { httpAgent: { keepAlive: true, maxSockets: concurrency } },
  });
  // the measurement's own read is an observer's: neither counted nor throttled (infra/local/hooks/route53-limits.py)
  const reader = asObserver(new Route53Client({ ...connection, maxAttempts: 10 }));
  try {
    const before = await readRoute53Counters(route53Endpoint);
    const failed = new Set<string>();
    const started = performance.now();
    let lastFinished = started;
    await inPool(machines, concurrency, async (machine) => {
      try {
        await bootScripts.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: hostedZoneId,
            ChangeBatch: {
              Changes: [
                {
                  Action: 'UPSERT',
                  ResourceRecordSet: {
                    Name: machine.name,
                    Type: 'A',
                    TTL: options.ttl ?? 60,
                    ResourceRecords: [{ Value: machine.ipv4 }],
                  },
                },
              ],
            },
          }),
        );
      } catch {
        failed.add(machine.instanceId);
      }
      lastFinished = Math.max(lastFinished, performance.now());
    });
    const after = await readRoute53Counters(route53Endpoint);
    const zone = await readARecords(reader, hostedZoneId);
    return {
      machines: machines.length,
      calls: after.totalCalls - before.totalCalls,
      throttledAttempts: after.totalThrottled - before.totalThrottled,
      failedMachines: machines.filter((m) => failed.has(m.instanceId)).map((m) => m.instanceId),
      secondsUntilLastUpsert: (lastFinished - started) / 1000,
      addressesPresent: machines.filter((m) => zone.get(bare(m.name))?.includes(m.ipv4)).length,
      addressesExpected: machines.length,
    };
  } finally {
    bootScripts.destroy();
    reader.destroy();
  }
}
