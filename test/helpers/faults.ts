// Client for the fault rules that infra/local/hooks/faults.py adds to LocalStack (that file says what each field
// means and how each service's error is shaped). Every function takes LocalStack's endpoint.

export type FaultService = 'route53' | 'ssm' | 'sqs' | 'stepfunctions';

export interface FaultRuleInput {
  service: FaultService;
  /** the API operation, e.g. ChangeResourceRecordSets, GetParameter, DeleteMessageBatch */
  operation: string;
  /** the error code answered, e.g. Throttling, InvalidChangeBatch, ParameterNotFound, RequestThrottled */
  code?: string;
  /** HTTP status; 400 when not given */
  status?: number;
  message?: string;
  /** answer this many matching requests, then stop matching; until cleared when not given */
  count?: number;
  /** request field (dotted path) -> text its value (JSON text for an object or list) must contain */
  match?: Record<string, string>;
  /**
   * `workflow`: the workflow's Tasks (LocalStack's internal clients); `client`: the handlers and the local event
   * sources; `test`: the tests' own clients (test/helpers/localstack.ts marks their user agent)
   */
  caller?: 'any' | 'workflow' | 'client' | 'test';
  /** hold each matching request this long (or until the rule is cleared) before answering */
  holdSeconds?: number;
  /** only count (and hold) matching requests, and serve them as usual: no error */
  observe?: boolean;
}

export interface FaultRule extends Required<Omit<FaultRuleInput, 'count' | 'code'>> {
  code: string;
  id: string;
  count: number | null;
  hits: number;
  /** matches left before the rule stops; null: until cleared */
  left: number | null;
}

export interface FaultHit {
  rule: string;
  service: FaultService;
  operation: string;
  caller: 'workflow' | 'client' | 'test';
  /** seconds since the epoch */
  at: number;
}

const path = '/_r53dyn/faults';

async function call<T>(endpoint: string, method: string, route = '', body?: unknown): Promise<T> {
  const response = await fetch(`${endpoint}${path}${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}${route} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

export const addFault = (endpoint: string, rule: FaultRuleInput) =>
  call<FaultRule>(endpoint, 'POST', '', rule);

export const listFaults = (endpoint: string) =>
  call<{ rules: FaultRule[]; hits: FaultHit[] }>(endpoint, 'GET');

/** Clears one rule; requests it holds are answered at once. Answers the rule as it was. */
export const clearFault = (endpoint: string, id: string) =>
  call<FaultRule>(endpoint, 'DELETE', `/${encodeURIComponent(id)}`);

/** Clears every rule and the hit log. */
export const clearFaults = (endpoint: string) => call<{ rules: FaultRule[] }>(endpoint, 'DELETE');

/** How many requests a rule has answered so far (0 for a rule cleared meanwhile). */
export async function faultHits(endpoint: string, id: string): Promise<number> {
  const { rules } = await listFaults(endpoint);
  return rules.find((r) => r.id === id)?.hits ?? 0;
}

/** Waits until a rule has answered at least `hits` requests; throws after `timeoutSeconds`. */
export async function waitForFaultHits(
  endpoint: string,
  id: string,
  hits: number,
  timeoutSeconds = 120,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while ((await faultHits(endpoint, id)) < hits) {
    if (Date.now() > deadline)
      throw new Error(`fault rule ${id} was not hit ${hits} time(s) in ${timeoutSeconds} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
