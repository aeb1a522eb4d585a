// The execution name of a zone round (docs/design.md §4.4): `<zone>-<head delta id>-r<receive count>`, new on every
// receive, so the planner finds the previous round's execution by name.
import { executionName } from '../../handlers/core/execution-name';

const HEAD = '7f3c2a9e-1b4d-4c8a-9f2e-5d6a7b8c9d0e';

describe('executionName', () => {
  it('reads as zone, head delta and receive count', () => {
    expect(executionName('Z1TESTZONE00000000001', HEAD, 1)).toBe(`Z1TESTZONE00000000001-${HEAD}-r1`);
  });

  it('is new on every receive of the same deltas', () => {
    const names = [1, 2, 3].map((n) => executionName('Z1TESTZONE00000000001', HEAD, n));

    expect(names).toEqual([1, 2, 3].map((n) => `Z1TESTZONE00000000001-${HEAD}-r${n}`));
  });

  it('drops the /hostedzone/ prefix and replaces what Step Functions does not allow', () => {
    expect(executionName('/hostedzone/Z1TEST', 'a:b/c d', 12)).toBe('Z1TEST-a_b_c_d-r12');
  });

  it('stays within 80 characters, shortening the delta id and keeping the receive count', () => {
    const name = executionName('Z1TESTZONE00000000001', 'x'.repeat(100), 123);

    expect(name).toBe(`Z1TESTZONE00000000001-${'x'.repeat(53)}-r123`);
    expect(name).toHaveLength(80);
  });

  it('keeps the whole name for the longest zone id the allowlist accepts, an SQS message id and any receive count', () => {
    const zone = 'Z'.repeat(32);

    expect(executionName(zone, HEAD, 99_999)).toBe(`${zone}-${HEAD}-r99999`);
  });
});
