// Client for infra/local/hooks/call-counter.py (every AWS call LocalStack serves, by service and operation, and
// SQS's billed requests), and the observer mark: a client made an observer sends `x-r53dyn-observer` with every
// request, so that neither that hook nor route53-limits.py counts or throttles it. A benchmark watches and sets up
// through observers, so that what it counts is what the system under test did.

export const OBSERVER_HEADER = 'x-r53dyn-observer';

export interface CallCounters {
  /** service -> operation -> calls */
  calls: Record<string, Record<string, number>>;
  sqs: {
    /** billed requests: one per call and per started 64 KB of payload, by kind of queue */
    billed: { standard: number; fifo: number };
    /** ReceiveMessage calls that returned nothing (a poller's idle cost), by kind of queue */
    emptyReceives: { standard: number; fifo: number };
  };
}

async function call<T>(endpoint: string, route: string, post: boolean): Promise<T> {
  const response = await fetch(`${endpoint}/_r53dyn/${route}`, {
    method: post ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json' },
    ...(post ? { body: '{}' } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`/_r53dyn/${route} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

export const readCallCounters = (endpoint: string) => call<CallCounters>(endpoint, 'calls', false);
export const resetCallCounters = (endpoint: string) => call<CallCounters>(endpoint, 'calls/reset', true);

/** What was counted between two readings. */
export function callsBetween(before: CallCounters, after: CallCounters): CallCounters {
  const calls: CallCounters['calls'] = {};
  for (const [service, operations] of Object.entries(after.calls)) {
    for (const [operation, n] of Object.entries(operations)) {
      const delta = n - (before.calls[service]?.[operation] ?? 0);
      if (delta > 0) calls[service] = { ...calls[service], [operation]: delta };
    }
  }
  const minus = (a: { standard: number; fifo: number }, b: { standard: number; fifo: number }) => ({
    standard: a.standard - b.standard,
    fifo: a.fifo - b.fifo,
  });
  return {
    calls,
    sqs: {
      billed: minus(after.sqs.billed, before.sqs.billed),
      emptyReceives: minus(after.sqs.emptyReceives, before.sqs.emptyReceives),
    },
  };
}

/** The part of an SDK v3 client this needs: its middleware stack. */
interface WithMiddleware {
  middlewareStack: {
    add: (
      middleware: (
        next: (args: { request: unknown }) => Promise<unknown>,
      ) => (args: { request: unknown }) => Promise<unknown>,
      options: { step: 'build'; name: string },
    ) => void;
  };
}

/** Marks every request of `client` as an observer's; returns the client. */
export function asObserver<C>(client: C): C {
  (client as unknown as WithMiddleware).middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers[OBSERVER_HEADER] = '1';
      return next(args);
    },
    { step: 'build', name: 'r53dynObserver' },
  );
  return client;
}
