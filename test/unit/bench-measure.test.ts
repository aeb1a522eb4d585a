// The benchmark's pure pieces: the steady-state monthly cost model, the design's floor of Route 53 calls, how far
// a zone is from exact, what the call counters say between two readings, and the zones a stage leaves to the
// local deploy.
import { stageZones } from '../../infra/local/deploy';
import { type SteadyRun, steadyMonthlyPerMachine } from '../bench/cost';
import { LogMeter, presence } from '../bench/measure';
import { floorCalls } from '../bench/scenarios';
import { callsBetween } from '../helpers/call-counter';
import type { Machine } from '../helpers/fleet';

describe('steadyMonthlyPerMachine', () => {
  // 1000 heartbeats in 2 batches: 1200 standard requests, 6 FIFO requests, 4 invocations of 50 ms at 256 MB,
  // no transitions, 4000 bytes of logs, 2 Route 53 reads
  const run: SteadyRun = {
    messages: 1000,
    batches: 2,
    sqsRequests: { standard: 1200, fifo: 6 },
    lambda: { invocations: 4, averageDurationMs: 50, memoryMb: 256 },
    stateTransitions: 0,
    logBytes: 4000,
    route53Requests: 2,
  };

  test('scales the standard queue by messages and everything else by the batches of a month', () => {
    // Act: 1000 machines every 5 minutes (8,760,000 messages), at most 525,600 batches
    const cost = steadyMonthlyPerMachine(run, {
      machines: 1000,
      intervalMinutes: 5,
      batchesPerMonth: 525_600,
    });

    // Assert: standard 10,512,000 requests × $0.40/M; FIFO 1,576,800 × $0.50/M; 1,051,200 invocations;
    // 1,051,200 × 0.05 s × 0.25 GB GB-s; 1,051,200,000 bytes of logs; all divided by 1000 machines
    expect(cost.sqs).toBeCloseTo((10_512_000 * 0.4 + 1_576_800 * 0.5) / 1e6 / 1000, 12);
    expect(cost.lambdaRequests).toBeCloseTo((1_051_200 * 0.2) / 1e6 / 1000, 12);
    expect(cost.lambdaDuration).toBeCloseTo((1_051_200 * 0.05 * 0.25 * 1.33334e-5) / 1000, 12);
    expect(cost.stepFunctions).toBe(0);
    expect(cost.logsIngestion).toBeCloseTo(((1_051_200_000 / 2 ** 30) * 0.5) / 1000, 12);
  });

  test('never counts more batches than messages', () => {
    // Act: 10 machines every 5 minutes send 87,600 messages, fewer than the batches the window allows
    const few = steadyMonthlyPerMachine(run, { machines: 10, intervalMinutes: 5, batchesPerMonth: 525_600 });

    // Assert: 87,600 batches of one message, 2 invocations each
    expect(few.lambdaRequests).toBeCloseTo((87_600 * 2 * 0.2) / 1e6 / 10, 12);
  });
});

describe('floorCalls', () => {
  test('one read, the fewest ChangeBatches for the characters and elements held, one GetChange', () => {
    // Arrange: 2 names, each 600 addresses of 13 characters and a registry of 600 strings of 60
    const rrsets = [0, 1].flatMap((n) => [
      {
        Name: `w${n}.z.`,
        Type: 'A',
        ResourceRecords: Array.from({ length: 600 }, () => ({ Value: 'x'.repeat(13) })),
      },
      {
        Name: `_r53dyn.w${n}.z.`,
        Type: 'TXT',
        ResourceRecords: Array.from({ length: 600 }, () => ({ Value: 'y'.repeat(60) })),
      },
    ]);
    const apex = [{ Name: 'z.', Type: 'SOA', ResourceRecords: [{ Value: 'soa' }] }];

    // Act / Assert: 87,600 characters -> 3 batches (2,400 elements -> 3 as well)
    expect(floorCalls([...apex, ...rrsets])).toBe(5);
  });
});

describe('presence', () => {
  const machine = (n: number, record: string): Machine => ({
    instanceId: `i-${n}`,
    ipv4: `52.0.0.${n}`,
    record,
  });
  const live = [machine(1, 'a.z'), machine(2, 'a.z'), machine(3, 'a.z'), machine(4, 'b.z')];
  const a = (...values: string[]) => ({
    Name: 'a.z.',
    Type: 'A',
    ResourceRecords: values.map((Value) => ({ Value })),
  });
  const b = (...values: string[]) => ({
    Name: 'b.z.',
    Type: 'A',
    ResourceRecords: values.map((Value) => ({ Value })),
  });

  test('exact when every name serves as many of its own machines as fit, and nothing else', () => {
    // Act: a limit of 2 a record; any two of a.z's three machines fit
    const p = presence([a('52.0.0.3', '52.0.0.1'), b('52.0.0.4')], live, 2);

    // Assert
    expect(p).toEqual({ present: 3, expected: 3, exact: true });
  });

  test('last writer wins: one address a name is not exact', () => {
    // Act
    const p = presence([a('52.0.0.2'), b('52.0.0.4')], live, 100);

    // Assert
    expect(p).toEqual({ present: 2, expected: 4, exact: false });
  });

  test('a foreign value makes a name inexact', () => {
    // Act
    const p = presence([a('52.0.0.1', '52.0.0.2', '52.0.0.3'), b('52.0.0.4', '198.51.100.1')], live, 100);

    // Assert
    expect(p).toEqual({ present: 4, expected: 4, exact: false });
  });
});

describe('callsBetween', () => {
  test('answers what was counted between two readings, operations that did not move left out', () => {
    // Arrange
    const before = {
      calls: { sqs: { ReceiveMessage: 3, SendMessage: 1 } },
      sqs: { billed: { standard: 4, fifo: 0 }, emptyReceives: { standard: 1, fifo: 0 } },
    };
    const after = {
      calls: { sqs: { ReceiveMessage: 5, SendMessage: 1 }, stepfunctions: { StartExecution: 1 } },
      sqs: { billed: { standard: 6, fifo: 2 }, emptyReceives: { standard: 1, fifo: 1 } },
    };

    // Act / Assert
    expect(callsBetween(before, after)).toEqual({
      calls: { sqs: { ReceiveMessage: 2 }, stepfunctions: { StartExecution: 1 } },
      sqs: { billed: { standard: 2, fifo: 2 }, emptyReceives: { standard: 0, fifo: 1 } },
    });
  });
});

describe('stageZones', () => {
  test('finds every zone whose hosted zone id comes from the environment, with its suffix', () => {
    // Arrange: a stage file's text, as infra/stages/bench.yml writes it
    const env = (name: string) => `$${'{'}env:${name}}`;
    const text = [
      'zones:',
      `  - hostedZoneId: ${env('ONE_ID')}`,
      '    suffix: one.example.test',
      '    ttl: 60',
      '  - hostedZoneId: Z0123456789ABCDEFGHIJ',
      '    suffix: fixed.example.test',
      `  - hostedZoneId: ${env('TWO_ID')}`,
      '    ttl: 30',
      '    suffix: two.example.test',
    ].join('\n');

    // Act / Assert
    expect(stageZones(text)).toEqual([
      { name: 'one.example.test', env: 'ONE_ID' },
      { name: 'two.example.test', env: 'TWO_ID' },
    ]);
  });
});

describe('LogMeter', () => {
  test("counts the handlers' log lines and embedded-metric lines as log bytes, and passes other output through", () => {
    // Arrange
    const passed: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      passed.push(String(chunk));
      return true;
    });
    const meter = new LogMeter();
    const echoed: string[] = [];
    const lines = [
      '{"level":"INFO","message":"round"}\n',
      '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"Rounds":1}\n',
      '{"level":"WARN","message":"the previous execution failed"}\n',
      '[bench] a progress line\n',
    ];

    // Act
    meter.start((line) => echoed.push(line));
    for (const line of lines) process.stdout.write(line);
    meter.stop();
    write.mockRestore();

    // Assert
    expect([meter.lines, meter.bytes]).toEqual([3, lines.slice(0, 3).join('').length]);
    expect(echoed).toEqual(['{"level":"WARN","message":"the previous execution failed"}']);
    expect(passed).toEqual(['[bench] a progress line\n']);
  });
});
