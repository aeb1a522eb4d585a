// Client for the Route 53 API limits that infra/local/hooks/route53-limits.py adds to LocalStack (that file says
// what each setting means and where the figures come from). Every function takes LocalStack's endpoint, except
// `zoneUnderLimits`, which sets up a test file.
import { CreateHostedZoneCommand } from '@aws-sdk/client-route-53';
import { endpoint as localEndpoint, route53 } from './localstack';

export interface BucketSettings {
  capacity: number;
  refillPerSecond: number;
}

export interface ChangeBucketSettings extends BucketSettings {
  /** Tokens one UPSERT Change takes (CREATE and DELETE take 1). */
  upsertWeight: number;
}

/** The settings in force, as GET /_r53dyn/route53/limits answers them. */
export interface Route53LimitSettings {
  enabled: boolean;
  account: BucketSettings;
  /** The bucket of every operation not in `operations`. */
  operation: BucketSettings;
  operations: Record<string, BucketSettings>;
  /** null: change throughput is not enforced. */
  changes: ChangeBucketSettings | null;
}

/** A partial update, merged into the settings in force; null removes an operation's own bucket or the change limit. */
export interface Route53LimitsUpdate {
  enabled?: boolean;
  account?: Partial<BucketSettings>;
  operation?: Partial<BucketSettings>;
  operations?: Record<string, Partial<BucketSettings> | null>;
  changes?: Partial<ChangeBucketSettings> | null;
}

export interface Route53Counters {
  enabled: boolean;
  /** Every Route 53 call by operation, throttled or not. */
  calls: Record<string, number>;
  throttled: Record<string, number>;
  totalCalls: number;
  totalThrottled: number;
  /** The bucket that throttled each call (the first empty one, in this order). */
  throttledBy: { account: number; operation: number; changes: number };
  /** Changes of the ChangeResourceRecordSets calls that succeeded, UPSERTs counted with upsertWeight. */
  recordChanges: number;
}

const path = '/_r53dyn/route53';

async function call<T>(endpoint: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${endpoint}${path}/${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${path}/${route} answered ${response.status}: ${text}`);
  }
  return JSON.parse(text) as T;
}

export const getRoute53Limits = (endpoint: string) => call<Route53LimitSettings>(endpoint, 'limits');

/** Merges `update` into the settings in force and fills every bucket; answers the settings in force. */
export const setRoute53Limits = (endpoint: string, update: Route53LimitsUpdate) =>
  call<Route53LimitSettings>(endpoint, 'limits', update);

export const readRoute53Counters = (endpoint: string) => call<Route53Counters>(endpoint, 'counters');

/** Back to LocalStack's state at start: limits off, default settings, counters zero, buckets full. */
export const resetRoute53Limits = (endpoint: string) => call<Route53Counters>(endpoint, 'reset', {});

/**
 * A hosted zone of the test file's own, created before its tests, with the limits back to the start state before
 * each test and after the file. The zone's id is read from the answer once `beforeAll` has run.
 */
export function zoneUnderLimits(zoneName: string): { id: string } {
  const zone = { id: '' };
  beforeAll(async () => {
    await resetRoute53Limits(localEndpoint);
    const created = await route53.send(
      new CreateHostedZoneCommand({ Name: zoneName, CallerReference: zoneName }),
    );
    zone.id = created.HostedZone?.Id?.replace('/hostedzone/', '') ?? '';
  });
  beforeEach(() => resetRoute53Limits(localEndpoint));
  afterAll(() => resetRoute53Limits(localEndpoint));
  return zone;
}
