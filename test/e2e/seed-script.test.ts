// The seed baseline (test/bench/seed-script.ts): machines booting at once, each UPSERTing its own A record with
// the AWS CLI's retries, against LocalStack's Route 53 with Route 53's limits on (infra/local/hooks/route53-limits.py).
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { runSeedStorm, type SeedMachine, type SeedStormOptions } from '../bench/seed-script';
import { endpoint, route53 } from '../helpers/localstack';
import { setRoute53Limits, zoneUnderLimits } from '../helpers/route53-limits';

const zoneName = `seed-${Date.now()}.example.test`;
const zone = zoneUnderLimits(zoneName);

/** The seed's storm on this file's zone. */
const storm = (options: Omit<SeedStormOptions, 'route53Endpoint' | 'hostedZoneId'>) =>
  runSeedStorm({ route53Endpoint: endpoint, hostedZoneId: zone.id, ...options });

const fleet = (prefix: string, count: number, names: string[]): SeedMachine[] =>
  Array.from({ length: count }, (_, i) => ({
    instanceId: `i-${prefix}${String(i).padStart(16, '0')}`.slice(0, 19),
    ipv4: `198.51.100.${i + 1}`,
    name: names[i % names.length] ?? '',
  }));

describe('the per-machine UPSERT boot script, a fleet booting at once', () => {
  it('within the burst: every UPSERT lands, and the last writer of each name takes it', async () => {
    await setRoute53Limits(endpoint, { enabled: true });
    const names = ['a.', 'b.', 'c.'].map((label) => `${label}${zoneName}`);

    const result = await storm({
      names,
      machines: fleet('a', 6, names),
    });

    expect(result).toMatchObject({
      machines: 6,
      calls: 6,
      throttledAttempts: 0,
      failedMachines: [],
      addressesPresent: 3,
      addressesExpected: 6,
    });
    expect(result.secondsUntilLastUpsert).toBeGreaterThan(0);
  });

  it('past the burst: throttled machines retry twice, as the CLI does, then give up', async () => {
    // only ChangeResourceRecordSets runs dry (no refill), so reading the zone afterwards is not throttled
    await setRoute53Limits(endpoint, {
      enabled: true,
      operations: { ChangeResourceRecordSets: { capacity: 5, refillPerSecond: 0 } },
    });
    const names = [`storm.${zoneName}`];
    const machines = fleet('b', 12, names);

    const result = await storm({
      names,
      machines,
      random: () => 0.5, // waits of 0.5 s, then 1 s
    });

    expect(result).toMatchObject({
      machines: 12,
      calls: 5 + 7 * 3,
      throttledAttempts: 7 * 2 + 7,
      addressesPresent: 1,
      addressesExpected: 12,
    });
    expect(result.failedMachines).toHaveLength(7);
    expect(machines.map((m) => m.instanceId)).toEqual(expect.arrayContaining(result.failedMachines));
    expect(result.secondsUntilLastUpsert).toBeGreaterThanOrEqual(1.5);
    expect(result.secondsUntilLastUpsert).toBeLessThan(5);
  });

  it('one machine at a time: the name ends with the last machine to boot', async () => {
    const names = [`serial.${zoneName}`];
    const machines = fleet('c', 3, names);

    const result = await storm({
      names,
      machines,
      concurrency: 1,
    });
    const records = await route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zone.id,
        StartRecordName: names[0],
        MaxItems: 1,
      }),
    );

    expect(result).toMatchObject({
      calls: 3,
      throttledAttempts: 0,
      addressesPresent: 1,
      addressesExpected: 3,
    });
    expect(records.ResourceRecordSets?.[0]?.ResourceRecords).toEqual([{ Value: '198.51.100.3' }]);
  });

  it('refuses a machine whose name is not among the names read back', async () => {
    await expect(
      storm({
        names: [`one.${zoneName}`],
        machines: fleet('d', 1, [`other.${zoneName}`]),
      }),
    ).rejects.toThrow(`machine i-d0000000000000000 writes other.${zoneName}, which is not among names`);
  });
});
