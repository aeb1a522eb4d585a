// Route 53's API limits on LocalStack (infra/local/hooks/route53-limits.py): token buckets for the request rate
// (account-wide and per operation) and for change throughput, answered with Route 53's Throttling error.
// Refill rates here are slow enough that no token comes back while a burst is being answered, so counts are exact.
import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Route53ServiceException,
} from '@aws-sdk/client-route-53';
import { localClientConfig } from '../../infra/local/connection';
import { endpoint, route53 } from '../helpers/localstack';
import {
  type Route53LimitSettings,
  readRoute53Counters,
  setRoute53Limits,
  zoneUnderLimits,
} from '../helpers/route53-limits';

/** No SDK retries: each send is exactly one Route 53 call. */
const once = new Route53Client({ ...localClientConfig, maxAttempts: 1 });
const zoneName = `limits-${Date.now()}.example.test`;
const zone = zoneUnderLimits(zoneName);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const listRecords = (client: Route53Client = once) =>
  client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.id }));

/** Sends `count` calls at once; how many succeeded, and every failure's error. */
async function burst(count: number, send: () => Promise<unknown>) {
  const settled = await Promise.allSettled(Array.from({ length: count }, send));
  const failures = settled.flatMap((result) =>
    result.status === 'rejected' ? [result.reason as Route53ServiceException] : [],
  );
  return { succeeded: count - failures.length, failures };
}

const failureShape = (error: Route53ServiceException) => ({
  name: error.name,
  message: error.message,
  status: error.$metadata.httpStatusCode,
  fault: error.$fault,
});
const throttled = { name: 'Throttling', message: 'Rate exceeded', status: 400, fault: 'client' };

const aRecords = (action: 'CREATE' | 'UPSERT', from: number, count: number): Change[] =>
  Array.from({ length: count }, (_, i) => ({
    Action: action,
    ResourceRecordSet: {
      Name: `host${from + i}.${zoneName}`,
      Type: 'A',
      TTL: 60,
      ResourceRecords: [{ Value: `203.0.113.${from + i}` }],
    },
  }));
const changeRecords = (changes: Change[]) =>
  once.send(
    new ChangeResourceRecordSetsCommand({ HostedZoneId: zone.id, ChangeBatch: { Changes: changes } }),
  );

afterAll(() => once.destroy());

describe('Route 53 API limits on LocalStack', () => {
  it('are off by default, with the documented buckets ready, and count every call', async () => {
    const defaults = await setRoute53Limits(endpoint, {});

    const calls = await burst(60, () => listRecords());

    expect(defaults).toMatchObject<Partial<Route53LimitSettings>>({
      enabled: false,
      account: { capacity: 50, refillPerSecond: 10 },
      operation: { capacity: 50, refillPerSecond: 10 },
      changes: null,
    });
    expect(defaults.operations.CreateHostedZone).toEqual({ capacity: 40, refillPerSecond: 2 });
    expect(defaults.operations.ListResourceRecordSets).toBeUndefined();
    expect(calls.succeeded).toBe(60);
    expect(await readRoute53Counters(endpoint)).toEqual({
      enabled: false,
      calls: { ListResourceRecordSets: 60 },
      throttled: {},
      totalCalls: 60,
      totalThrottled: 0,
      throttledBy: { account: 0, operation: 0, changes: 0 },
      recordChanges: 0,
    });
  });

  it('let a burst of 50 calls through and throttle the rest as Route 53 does', async () => {
    await setRoute53Limits(endpoint, {
      enabled: true,
      account: { refillPerSecond: 0.1 },
      operation: { refillPerSecond: 0.1 },
    });

    const calls = await burst(80, () => listRecords());

    expect(calls.succeeded).toBe(50);
    expect(calls.failures.map(failureShape)).toEqual(Array(30).fill(throttled));
    expect(await readRoute53Counters(endpoint)).toEqual({
      enabled: true,
      calls: { ListResourceRecordSets: 80 },
      throttled: { ListResourceRecordSets: 30 },
      totalCalls: 80,
      totalThrottled: 30,
      throttledBy: { account: 30, operation: 0, changes: 0 },
      recordChanges: 0,
    });
  });

  it("answer a throttled call with Route 53's error document", async () => {
    await setRoute53Limits(endpoint, { enabled: true, account: { capacity: 0 } });

    // Route 53 signs nothing on LocalStack; the Authorization header only names the service.
    const response = await fetch(`${endpoint}/2013-04-01/hostedzone/${zone.id}/rrset`, {
      headers: {
        authorization:
          'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=0',
      },
    });
    const requestId = response.headers.get('x-amz-request-id');

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('text/xml');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.text()).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">' +
        '<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>' +
        `<RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
  });

  it("are retried by the SDK's standard retry strategy, each attempt counted", async () => {
    await setRoute53Limits(endpoint, { enabled: true, account: { capacity: 0, refillPerSecond: 0 } });

    const error = await listRecords(route53).then(
      () => undefined,
      (reason: Route53ServiceException) => reason,
    );

    expect(error && failureShape(error)).toEqual(throttled);
    expect(error?.$metadata.attempts).toBe(3);
    expect((await readRoute53Counters(endpoint)).throttled).toEqual({ ListResourceRecordSets: 3 });
  });

  it('keep a bucket per operation beside the account bucket', async () => {
    await setRoute53Limits(endpoint, {
      enabled: true,
      operations: { ListResourceRecordSets: { capacity: 3 } },
    });

    const lists = await burst(5, () => listRecords());
    const other = await once.send(new GetHostedZoneCommand({ Id: zone.id }));

    expect(lists.succeeded).toBe(3);
    expect(lists.failures.map(failureShape)).toEqual([throttled, throttled]);
    expect(other.HostedZone?.Name).toBe(`${zoneName}.`);
    expect(await readRoute53Counters(endpoint)).toMatchObject({
      calls: { GetHostedZone: 1, ListResourceRecordSets: 5 },
      throttled: { ListResourceRecordSets: 2 },
      throttledBy: { account: 0, operation: 2, changes: 0 },
    });
  });

  it('refill: after an empty bucket gains a token, exactly one more call passes', async () => {
    await setRoute53Limits(endpoint, { enabled: true, account: { capacity: 2, refillPerSecond: 0.5 } });

    const first = await burst(4, () => listRecords());
    const atOnce = await burst(1, () => listRecords());
    await sleep(2_500); // 1.25 tokens; a second one would take until 4 s
    const refilled = await burst(4, () => listRecords());

    expect([first.succeeded, atOnce.succeeded, refilled.succeeded]).toEqual([2, 0, 1]);
    expect(await readRoute53Counters(endpoint)).toMatchObject({
      calls: { ListResourceRecordSets: 9 },
      throttled: { ListResourceRecordSets: 6 },
    });
  });

  it('throttle a ChangeResourceRecordSets whose record changes exceed the change-throughput bucket', async () => {
    await setRoute53Limits(endpoint, { enabled: true, changes: { capacity: 10, refillPerSecond: 0.01 } });

    const tooMany = await changeRecords(aRecords('CREATE', 0, 11)).catch(failureShape);
    const fits = await changeRecords(aRecords('CREATE', 0, 10));
    const emptied = await changeRecords(aRecords('CREATE', 10, 1)).catch(failureShape);
    const records = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.id }));

    expect(tooMany).toEqual(throttled);
    expect(fits.ChangeInfo?.Id).toMatch(/^\/change\/C/);
    expect(emptied).toEqual(throttled);
    expect(
      records.ResourceRecordSets?.filter((r) => r.Type === 'A')
        .map((r) => r.Name)
        .sort(),
    ).toEqual(Array.from({ length: 10 }, (_, i) => `host${i}.${zoneName}.`).sort());
    expect(await readRoute53Counters(endpoint)).toMatchObject({
      calls: { ChangeResourceRecordSets: 3, ListResourceRecordSets: 1 },
      throttled: { ChangeResourceRecordSets: 2 },
      throttledBy: { account: 0, operation: 0, changes: 2 },
      recordChanges: 10,
    });
  });

  it('count an UPSERT as upsertWeight changes when asked to', async () => {
    await setRoute53Limits(endpoint, {
      enabled: true,
      changes: { capacity: 10, refillPerSecond: 0.01, upsertWeight: 2 },
    });

    const tooMany = await changeRecords(aRecords('UPSERT', 20, 6)).catch(failureShape);
    const fits = await changeRecords(aRecords('UPSERT', 20, 5));

    expect(tooMany).toEqual(throttled);
    expect(fits.ChangeInfo?.Status).toBe('INSYNC');
    expect(await readRoute53Counters(endpoint)).toMatchObject({
      throttled: { ChangeResourceRecordSets: 1 },
      recordChanges: 10,
    });
  });

  it("cover calls served by LocalStack's provider and by moto alike, beside the preconditions hook", async () => {
    await setRoute53Limits(endpoint, {
      enabled: true,
      operations: { GetChange: { capacity: 1, refillPerSecond: 0.01 } },
      changes: { capacity: 100, refillPerSecond: 0.01 },
    });

    // moto serves ChangeResourceRecordSets; route53-preconditions.py refuses a CREATE of an existing record
    const created = await changeRecords(aRecords('CREATE', 40, 2));
    const conflict = await changeRecords(aRecords('CREATE', 40, 1)).catch(
      (error: Route53ServiceException) => error.name,
    );
    // LocalStack's provider serves GetChange, through the preconditions hook's change ids
    const changeId = created.ChangeInfo?.Id ?? '';
    const polls = await burst(2, () => once.send(new GetChangeCommand({ Id: changeId })));

    expect(conflict).toBe('InvalidChangeBatch');
    expect(polls.succeeded).toBe(1);
    expect(polls.failures.map(failureShape)).toEqual([throttled]);
    expect(await readRoute53Counters(endpoint)).toMatchObject({
      calls: { ChangeResourceRecordSets: 2, GetChange: 2 },
      throttled: { GetChange: 1 },
      throttledBy: { account: 0, operation: 1, changes: 0 },
      recordChanges: 2, // the refused batch changed nothing
    });
  });

  it('refuse malformed settings and keep the ones in force', async () => {
    const response = await fetch(`${endpoint}/_r53dyn/route53/limits`, {
      method: 'POST',
      body: JSON.stringify({ enabled: true, account: { capacity: -1 } }),
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'account.capacity must be a number >= 0' });
    expect((await setRoute53Limits(endpoint, {})).enabled).toBe(false);
  });
});
