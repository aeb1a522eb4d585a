// Cost estimates from measured counts (test/bench/cost.ts) with the prices of test/bench/prices.json.
import {
  fixedMonthlyCost,
  type MeasuredRun,
  messagesPerMonth,
  monthlyEstimate,
  perMachineMonthlyCost,
  priceTable,
  runCost,
  sqsBilledRequests,
} from '../bench/cost';
import pricesJson from '../bench/prices.json';

/** Every figure to 12 decimal places: exact for dollars, without floating-point noise. */
const expectDollars = (actual: Record<string, number>, expected: Record<string, number>) => {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [part, usd] of Object.entries(expected)) {
    expect([part, actual[part]]).toEqual([part, expect.closeTo(usd, 12)]);
  }
};

/** A run that did nothing but what `figures` say: every other count is 0. */
const measuredRun = (figures: Partial<MeasuredRun>): MeasuredRun => ({
  messages: 0,
  stateTransitions: 0,
  logBytes: 0,
  route53Requests: 0,
  sqsRequests: { standard: 0, fifo: 0 },
  lambda: { invocations: 0, averageDurationMs: 0, memoryMb: 0 },
  ...figures,
});

// 1,000 registrations: 2,000 billed SQS requests, 10 batcher invocations of 200 ms at 512 MB (1 GB-s in all),
// 60 state transitions, 10 MiB of logs, 30 Route 53 requests
const run: MeasuredRun = {
  messages: 1000,
  sqsRequests: { standard: 2000, fifo: 0 },
  lambda: { invocations: 10, averageDurationMs: 200, memoryMb: 512 },
  stateTransitions: 60,
  logBytes: 10 * 2 ** 20,
  route53Requests: 30,
};
const runDollars = {
  sqs: 0.0008, // 2,000 × $0.40 / 1e6
  lambdaRequests: 0.000002, // 10 × $0.20 / 1e6
  lambdaDuration: 0.0000133334, // 1 GB-s × $0.0000133334
  stepFunctions: 0.0015, // 60 × $0.025 / 1,000
  logsIngestion: 0.0048828125, // 10/1024 GB × $0.50
  logsStorage: 0.00029296875, // 10/1024 GB × 1 month × $0.03
  route53Requests: 0,
  total: 0.00749111465,
};

describe('prices.json', () => {
  it('gives every price a value, a unit, a known status, the date it was read and an https source', () => {
    const statuses = Object.keys(pricesJson.statuses);
    for (const [name, entry] of Object.entries(pricesJson.prices)) {
      expect([name, typeof entry.value, statuses.includes(entry.status)]).toEqual([name, 'number', true]);
      expect(entry.read).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(entry.unit.length).toBeGreaterThan(0);
      expect(entry.sources.length).toBeGreaterThan(0);
      for (const source of entry.sources) expect(source).toMatch(/^https:\/\//);
    }
  });

  it('is read as a table of figures', () => {
    expect(priceTable()).toEqual({
      sqsStandardPerMillionRequests: 0.4,
      sqsFifoPerMillionRequests: 0.5,
      sqsBillingChunkBytes: 65536,
      lambdaPerMillionRequests: 0.2,
      lambdaArm64PerGbSecond: 0.0000133334,
      stepFunctionsStandardPerThousandTransitions: 0.025,
      cloudWatchLogsIngestionPerGb: 0.5,
      cloudWatchLogsStoragePerGbMonth: 0.03,
      cloudWatchCustomMetricPerMonth: 0.3,
      cloudWatchAlarmPerMonth: 0.1,
      cloudWatchDashboardPerMonth: 3,
      route53HostedZonePerMonth: 0.5,
      route53PerMillionApiRequests: 0,
    });
  });
});

describe('cost estimates', () => {
  it('bill SQS per started 64 KB chunk of each call', () => {
    expect([
      sqsBilledRequests(3, 0),
      sqsBilledRequests(3, 100),
      sqsBilledRequests(3, 65_536),
      sqsBilledRequests(3, 65_537),
      sqsBilledRequests(2, 262_144),
    ]).toEqual([3, 3, 3, 6, 8]);
  });

  it('price each part of a run', () => {
    expectDollars({ ...runCost(run) }, runDollars);
  });

  it('price FIFO requests at the FIFO rate and keep logs as many months as retained', () => {
    const cost = runCost({ ...run, sqsRequests: { standard: 0, fifo: 1_000_000 } }, priceTable(), 3);

    expect(cost.sqs).toBeCloseTo(0.5, 12);
    expect(cost.logsStorage).toBeCloseTo(0.00087890625, 12);
  });

  it('count 8,760 heartbeats a month at one every 5 minutes', () => {
    expect([messagesPerMonth(5), messagesPerMonth(60), messagesPerMonth(5, 720)]).toEqual([8760, 730, 8640]);
  });

  it('scale a run to one machine sending a heartbeat every 5 minutes for a month', () => {
    const factor = 8760 / 1000;
    const expected = Object.fromEntries(
      Object.entries(runDollars).map(([part, usd]) => [part, usd * factor]),
    );

    expectDollars({ ...perMachineMonthlyCost(run, messagesPerMonth(5)) }, expected);
    expect(perMachineMonthlyCost(run, messagesPerMonth(5)).total).toBeCloseTo(0.065622164334, 12);
  });

  it('refuse a run without messages', () => {
    expect(() => perMachineMonthlyCost({ ...run, messages: 0 }, 8760)).toThrow(
      'a measured run needs at least one message',
    );
  });

  it('price the fixed resources by the month', () => {
    expectDollars(
      { ...fixedMonthlyCost({ hostedZones: 1, alarms: 3, dashboards: 1, customMetrics: 2 }) },
      { hostedZones: 0.5, alarms: 0.3, dashboards: 3, customMetrics: 0.6, total: 4.4 },
    );
  });

  it('add a fleet of 1,000 machines to the fixed costs', () => {
    const estimate = monthlyEstimate({
      run,
      machines: 1000,
      intervalMinutes: 5,
      fixed: { hostedZones: 1, alarms: 3, dashboards: 1, customMetrics: 2 },
    });

    expect(estimate.machines).toBe(1000);
    expect(estimate.perMachine.total).toBeCloseTo(0.065622164334, 12);
    expect(estimate.fixed.total).toBeCloseTo(4.4, 12);
    expect(estimate.total).toBeCloseTo(70.022164334, 9);
  });

  it('leave the seed script only its hosted zone, Route 53 requests being priced at zero', () => {
    const seed = measuredRun({ messages: 1000, route53Requests: 1450 });

    const estimate = monthlyEstimate({
      run: seed,
      machines: 1000,
      intervalMinutes: 5,
      fixed: { hostedZones: 1, alarms: 0, dashboards: 0, customMetrics: 0 },
    });

    expect([estimate.perMachine.total, estimate.total]).toEqual([0, 0.5]);
  });
});
