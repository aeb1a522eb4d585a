// The seed baseline's retries: the AWS CLI v2's standard mode as an SDK retry strategy (test/bench/seed-script.ts).
import { cliBackoffMs, cliRetryStrategy } from '../bench/seed-script';

type ErrorType = 'THROTTLING' | 'TRANSIENT' | 'SERVER_ERROR' | 'CLIENT_ERROR';
const failure = (errorType: ErrorType) => ({
  errorType,
  error: Object.assign(new Error(errorType), { cause: undefined }),
});

/** Retries `errorType` until the strategy refuses; the delays it asked for, in ms. */
async function delaysUntilRefused(errorType: ErrorType, random: () => number, maxAttempts?: number) {
  const strategy = cliRetryStrategy(random, maxAttempts);
  let token = await strategy.acquireInitialRetryToken('');
  const delays: number[] = [];
  for (;;) {
    try {
      token = await strategy.refreshRetryTokenForRetry(token, failure(errorType));
    } catch (refused) {
      return { delays, refused: (refused as Error).message, retries: token.getRetryCount() };
    }
    delays.push(token.getRetryDelay());
  }
}

describe('the AWS CLI v2 standard retry mode, as an SDK retry strategy', () => {
  it('makes 3 attempts in all on throttling, waiting rand × 1 s then rand × 2 s', async () => {
    expect(await delaysUntilRefused('THROTTLING', () => 0.25)).toEqual({
      delays: [250, 500],
      refused: 'THROTTLING',
      retries: 2,
    });
  });

  it('retries transient errors the same way', async () => {
    expect(await delaysUntilRefused('TRANSIENT', () => 0.5)).toEqual({
      delays: [500, 1000],
      refused: 'TRANSIENT',
      retries: 2,
    });
  });

  it.each<ErrorType>(['SERVER_ERROR', 'CLIENT_ERROR'])('does not retry %s', async (errorType) => {
    expect(await delaysUntilRefused(errorType, () => 0.5)).toEqual({
      delays: [],
      refused: errorType,
      retries: 0,
    });
  });

  it('caps the backoff at 20 s when more attempts are configured', async () => {
    const { delays } = await delaysUntilRefused('THROTTLING', () => 0.5, 8);

    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(cliBackoffMs(6, 0.999)).toBeCloseTo(19_980, 6);
  });

  it('keeps no state: a second caller starts from its own first retry', async () => {
    const strategy = cliRetryStrategy(() => 1);
    const first = await strategy.refreshRetryTokenForRetry(
      await strategy.acquireInitialRetryToken(''),
      failure('THROTTLING'),
    );
    const second = await strategy.refreshRetryTokenForRetry(
      await strategy.acquireInitialRetryToken(''),
      failure('THROTTLING'),
    );

    expect([first.getRetryCount(), first.getRetryDelay()]).toEqual([1, 1000]);
    expect([second.getRetryCount(), second.getRetryDelay()]).toEqual([1, 1000]);
  });
});
