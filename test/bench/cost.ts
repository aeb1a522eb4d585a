// Cost estimates from measured counts, with the public us-east-1 prices of prices.json (each with its source, the
// date it was read and whether it is confirmed). Pure: counts and prices in, dollars out.
//
// Two kinds of cost:
//   - per machine and month: what one machine's messages cost (SQS requests, batcher invocations and duration,
//     workflow state transitions, log ingestion and storage, Route 53 requests), from a measured run scaled to the
//     messages a machine sends in a month (a heartbeat every 5 minutes is 8,760 messages in a 730-hour month);
//   - fixed, per month: what exists whatever the fleet's size (hosted zones, alarms, dashboards, custom metrics).
// Free tiers are per account and shared with everything else in it, so they are not subtracted: these are marginal
// costs. Units: 1 GB = 2^30 bytes; Lambda memory 1 GB = 1024 MB (as Lambda's GB-second counts it).
import pricesJson from './prices.json';

export type PriceName = keyof typeof pricesJson.prices;
export type Prices = Record<PriceName, number>;

/** The figures of prices.json (or of another table of the same shape), by name. */
export function priceTable(table: { prices: Record<PriceName, { value: number }> } = pricesJson): Prices {
  // the keys are prices.json's own, so the entries make a whole Prices
  return Object.fromEntries(
    Object.entries(table.prices).map(([name, entry]) => [name, entry.value]),
  ) as Prices;
}

export const hoursPerMonth = 730;
const bytesPerGb = 2 ** 30;

/** Messages a machine sends in a month with one message every `intervalMinutes`. */
export const messagesPerMonth = (intervalMinutes: number, hours: number = hoursPerMonth): number =>
  (hours * 60) / intervalMinutes;

/** SQS billed requests for `calls` API calls each carrying `payloadBytes`: one request per started 64 KB chunk. */
export const sqsBilledRequests = (
  calls: number,
  payloadBytes: number,
  prices: Prices = priceTable(),
): number => calls * Math.max(1, Math.ceil(payloadBytes / prices.sqsBillingChunkBytes));

/** What a measured run did, for `messages` machine messages (registrations or heartbeats). */
export interface MeasuredRun {
  messages: number;
  /** Billed requests (API calls × 64 KB chunks; see sqsBilledRequests): sends, receives, deletes, requeues. */
  sqsRequests: { standard: number; fifo: number };
  lambda: { invocations: number; averageDurationMs: number; memoryMb: number };
  /** Step Functions Standard state transitions, retries included. */
  stateTransitions: number;
  logBytes: number;
  route53Requests: number;
}

export interface UsageCost {
  sqs: number;
  lambdaRequests: number;
  lambdaDuration: number;
  stepFunctions: number;
  logsIngestion: number;
  logsStorage: number;
  route53Requests: number;
  total: number;
}

export interface FixedResources {
  hostedZones: number;
  alarms: number;
  dashboards: number;
  customMetrics: number;
}

export interface FixedCost {
  hostedZones: number;
  alarms: number;
  dashboards: number;
  customMetrics: number;
  total: number;
}

const sum = (parts: Record<string, number>) => Object.values(parts).reduce((a, b) => a + b, 0);

/**
 * What a run's usage costs. Logs are kept `logRetentionMonths` (default 1): a month's ingestion is stored that many
 * months, so in the steady state each month pays storage for that many months of logs.
 */
export function runCost(run: MeasuredRun, prices: Prices = priceTable(), logRetentionMonths = 1): UsageCost {
  const logGb = run.logBytes / bytesPerGb;
  const gbSeconds =
    run.lambda.invocations * (run.lambda.averageDurationMs / 1000) * (run.lambda.memoryMb / 1024);
  const parts = {
    sqs:
      (run.sqsRequests.standard * prices.sqsStandardPerMillionRequests +
        run.sqsRequests.fifo * prices.sqsFifoPerMillionRequests) /
      1e6,
    lambdaRequests: (run.lambda.invocations * prices.lambdaPerMillionRequests) / 1e6,
    lambdaDuration: gbSeconds * prices.lambdaArm64PerGbSecond,
    stepFunctions: (run.stateTransitions * prices.stepFunctionsStandardPerThousandTransitions) / 1000,
    logsIngestion: logGb * prices.cloudWatchLogsIngestionPerGb,
    logsStorage: logGb * logRetentionMonths * prices.cloudWatchLogsStoragePerGbMonth,
    route53Requests: (run.route53Requests * prices.route53PerMillionApiRequests) / 1e6,
  };
  return { ...parts, total: sum(parts) };
}

/** Scales every part of a cost by `factor`. */
export const scaleCost = (cost: UsageCost, factor: number): UsageCost => ({
  sqs: cost.sqs * factor,
  lambdaRequests: cost.lambdaRequests * factor,
  lambdaDuration: cost.lambdaDuration * factor,
  stepFunctions: cost.stepFunctions * factor,
  logsIngestion: cost.logsIngestion * factor,
  logsStorage: cost.logsStorage * factor,
  route53Requests: cost.route53Requests * factor,
  total: cost.total * factor,
});

/** One machine's monthly cost: the run's cost per message times the messages a machine sends in a month. */
export function perMachineMonthlyCost(
  run: MeasuredRun,
  machineMessagesPerMonth: number,
  prices: Prices = priceTable(),
  logRetentionMonths = 1,
): UsageCost {
  if (run.messages <= 0) {
    throw new Error('a measured run needs at least one message');
  }
  return scaleCost(runCost(run, prices, logRetentionMonths), machineMessagesPerMonth / run.messages);
}

export function fixedMonthlyCost(resources: FixedResources, prices: Prices = priceTable()): FixedCost {
  const parts = {
    hostedZones: resources.hostedZones * prices.route53HostedZonePerMonth,
    alarms: resources.alarms * prices.cloudWatchAlarmPerMonth,
    dashboards: resources.dashboards * prices.cloudWatchDashboardPerMonth,
    customMetrics: resources.customMetrics * prices.cloudWatchCustomMetricPerMonth,
  };
  return { ...parts, total: sum(parts) };
}

export interface MonthlyEstimate {
  perMachine: UsageCost;
  fixed: FixedCost;
  machines: number;
  /** perMachine.total × machines + fixed.total */
  total: number;
}

/** A fleet's monthly cost: `machines` machines each sending one message every `intervalMinutes`. */
export function monthlyEstimate(input: {
  run: MeasuredRun;
  machines: number;
  intervalMinutes: number;
  fixed: FixedResources;
  prices?: Prices;
  logRetentionMonths?: number;
}): MonthlyEstimate {
  const prices = input.prices ?? priceTable();
  const perMachine = perMachineMonthlyCost(
    input.run,
    messagesPerMonth(input.intervalMinutes),
    prices,
    input.logRetentionMonths,
  );
  const fixed = fixedMonthlyCost(input.fixed, prices);
  return {
    perMachine,
    fixed,
    machines: input.machines,
    total: perMachine.total * input.machines + fixed.total,
  };
}

/** A measured run of steady messages (heartbeats), with the number of batches the batcher made of them. */
export interface SteadyRun extends MeasuredRun {
  batches: number;
}

/**
 * One machine's monthly cost in a fleet whose machines each send a message every `intervalMinutes`. What scales
 * with messages (the standard queue's requests: the machine's send, the batcher's receives and deletes) is
 * scaled by messages; everything else (invocations, the zone queue, logs, transitions, Route 53 reads) comes once
 * per batch and is scaled by the batches the fleet makes in a month: at most one per batching window and poller
 * (`batchesPerMonth`), never more than one per message.
 */
export function steadyMonthlyPerMachine(
  run: SteadyRun,
  fleet: { machines: number; intervalMinutes: number; batchesPerMonth: number },
  prices: Prices = priceTable(),
  logRetentionMonths = 1,
): UsageCost {
  if (run.messages <= 0 || run.batches <= 0) throw new Error('a steady run needs messages and batches');
  const messages = fleet.machines * messagesPerMonth(fleet.intervalMinutes);
  const batches = Math.min(messages, fleet.batchesPerMonth);
  const perBatch = batches / run.batches;
  const month: MeasuredRun = {
    messages,
    sqsRequests: {
      standard: (run.sqsRequests.standard * messages) / run.messages,
      fifo: run.sqsRequests.fifo * perBatch,
    },
    lambda: { ...run.lambda, invocations: run.lambda.invocations * perBatch },
    stateTransitions: run.stateTransitions * perBatch,
    logBytes: run.logBytes * perBatch,
    route53Requests: run.route53Requests * perBatch,
  };
  return scaleCost(runCost(month, prices, logRetentionMonths), 1 / fleet.machines);
}
