// The execution input and its size budget (docs/design.md §5.3, §8.1): parts are added while the input, plus the
// state the workflow adds per record and in all, stays within Step Functions' 256 KiB.
import { zoneEntry } from '../../handlers/core/allowlist';
import { STATE_DATA_LIMIT_BYTES } from '../../handlers/core/contract';
import { planRecordWrite, type RecordWrite } from '../../handlers/core/plan';
import { registryName } from '../../handlers/core/registry';
import {
  budgetedInput,
  STATE_GROWTH_FIXED_BYTES,
  STATE_GROWTH_PER_RECORD_BYTES,
} from '../../handlers/core/workflow-input';
import { dynZone, fleet, fqdn, OWNER, SENT, upEntry } from '../helpers/messages';

const handles = [{ Id: 'd0', ReceiptHandle: 'h-0' }];
const base = {
  hostedZoneId: dynZone.hostedZoneId,
  zone: zoneEntry(dynZone),
  release: {
    delete: handles,
    later: handles.map((h) => ({ ...h, VisibilityTimeout: 7 })),
  },
  summary: { round: 'receive 1 of 1 delta(s) from d-0', messages: 3, applied: 3, secondsSentToPlan: 12 },
};

/** A record of `machines` new machines, written from nothing. */
function newRecord(label: string, machines: number): RecordWrite {
  const write = planRecordWrite({
    record: fqdn(label),
    relativeName: label,
    current: {},
    registryName: registryName(fqdn(label)),
    ttl: dynZone.ttl,
    types: dynZone.types,
    entries: fleet(machines).map((m) => upEntry(m, SENT)),
    foreign: [],
    ownerId: OWNER,
  });
  if (write === undefined || 'reason' in write) throw new Error('expected a write');
  return write;
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');
const grown = (input: unknown, records: number) =>
  bytes(input) + STATE_GROWTH_FIXED_BYTES + records * STATE_GROWTH_PER_RECORD_BYTES;

describe('budgetedInput', () => {
  it('carries every part within the budget: records by relative name and slots, and their summary', () => {
    const parts = [[newRecord('api', 1), newRecord('web', 2)], [newRecord('www', 1)]];

    const result = budgetedInput(base, parts);

    expect(result.input).toEqual({
      ...base,
      parts: parts.map((part) => ({ records: part.map((w) => ({ name: w.relativeName, slots: w.slots })) })),
      summary: {
        ...base.summary,
        records: parts.flat().map((w) => ({ record: w.record, added: w.added, removed: w.removed })),
      },
    });
    expect(result.writes).toEqual(parts.flat());
    expect(result.deferred).toEqual([]);
  });

  it('stops before the part that would pass the budget, and defers the rest', () => {
    const parts = ['a', 'b', 'c', 'd'].map((label) => [newRecord(label, 20)]);
    // the least limit at which two parts go
    let limit = grown(budgetedInput(base, parts.slice(0, 1)).input, 1);
    while (budgetedInput(base, parts, limit).input.parts.length < 2) limit += 1;

    const two = budgetedInput(base, parts, limit);
    const one = budgetedInput(base, parts, limit - 1);

    expect(two.input.parts.map((p) => p.records[0]?.name)).toEqual(['a', 'b']);
    expect(two.deferred).toEqual(parts.slice(2).flat());
    expect(grown(two.input, 2)).toBeLessThanOrEqual(limit);
    expect(one.input.parts.map((p) => p.records[0]?.name)).toEqual(['a']);
    expect(one.deferred).toEqual(parts.slice(1).flat());
  });

  it('always carries at least one record, even when the budget is smaller', () => {
    const parts = [[newRecord('a', 40), newRecord('b', 1)], [newRecord('c', 1)]];

    const result = budgetedInput(base, parts, 1);

    expect(result.input.parts.map((p) => p.records.map((r) => r.name))).toEqual([['a']]);
    expect(result.deferred.map((w) => w.relativeName)).toEqual(['b', 'c']);
  });

  it('cuts a first part too large for the budget to the records that fit, and defers the rest', () => {
    const part = ['a', 'b', 'c', 'd'].map((label) => newRecord(label, 10));
    const limit = grown(budgetedInput(base, [part.slice(0, 2)]).input, 2) + 10;

    const result = budgetedInput(base, [part, [newRecord('e', 1)]], limit);

    expect(result.input.parts.map((p) => p.records.map((r) => r.name))).toEqual([['a', 'b']]);
    expect(result.deferred.map((w) => w.relativeName)).toEqual(['c', 'd', 'e']);
    expect(grown(result.input, 2)).toBeLessThanOrEqual(limit);
  });

  it('budgets against Step Functions’ limit by default', () => {
    const parts = Array.from({ length: 30 }, (_, i) => [newRecord(`r${i}`, 40)]);

    const result = budgetedInput(base, parts);

    expect(result.input.parts.length).toBeLessThan(30);
    expect(grown(result.input, result.writes.length)).toBeLessThanOrEqual(STATE_DATA_LIMIT_BYTES);
    expect([...result.writes, ...result.deferred]).toEqual(parts.flat());
  });
});
