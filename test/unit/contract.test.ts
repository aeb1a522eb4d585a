// The contract module against the design: the closed list of reason codes is the table of docs/design.md §3.6,
// reasons are written and read one way, and every `docs/design.md §N` citation in the code names a section.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  POLICY_REASONS,
  REASON_CODES,
  REASONS,
  type ReasonCode,
  reason,
  reasonCode,
} from '../../handlers/core/contract';

const root = join(__dirname, '..', '..');
const design = readFileSync(join(root, 'docs', 'design.md'), 'utf8');

/** The rows of the reason-code table in docs/design.md §3.6, in order. */
function designReasonTable(): [string, string][] {
  const start = design.indexOf('<!-- reason-codes:start -->');
  const end = design.indexOf('<!-- reason-codes:end -->');
  return [...design.slice(start, end).matchAll(/^\| `([a-z0-9-]+)` \| (.+) \|$/gm)].map(
    (row): [string, string] => [row[1] ?? '', row[2] ?? ''],
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|js|py|sh)$/.test(name) ? [path] : [];
  });
}

describe('REASONS', () => {
  it('is exactly the table of docs/design.md §3.6, in its order, with its descriptions', () => {
    expect(Object.entries(REASONS)).toEqual(designReasonTable());
  });

  it('lists its codes in REASON_CODES, and the policy reasons among them', () => {
    expect(REASON_CODES).toEqual(Object.keys(REASONS));
    expect(REASON_CODES).toHaveLength(38);
    expect(POLICY_REASONS).toEqual(['too-many-values', 'stale']);
  });
});

describe('reason and reasonCode', () => {
  it('writes `<code>: <detail>`', () => {
    expect(reason('stale', 'register sent at 2025-01-01T00:00:00.000Z')).toBe(
      'stale: register sent at 2025-01-01T00:00:00.000Z',
    );
  });

  it.each(REASON_CODES)('reads %s back from a reason it wrote', (code: ReasonCode) => {
    expect(reasonCode(reason(code, 'a detail: with a colon'))).toBe(code);
  });

  it.each([
    ['a code without detail', 'stale', 'stale'],
    ['an unknown code', 'sender-is-instance: an old code', undefined],
    ['an empty reason', '', undefined],
    ['a property every object has', 'toString: x', undefined],
    ['a code with a space before the colon', 'stale : x', undefined],
  ])('reads %s as %s', (_, text, code) => {
    expect(reasonCode(text)).toBe(code);
  });
});

describe('citations of docs/design.md', () => {
  const headings = new Set([...design.matchAll(/^#{2,3} (\d+(?:\.\d+)?)[. ]/gm)].map((m) => m[1]));

  it('name sections that exist, in the code, the stack, the workflow and the tests', () => {
    const cited = ['handlers', 'infra', 'workflows', 'test'].flatMap((dir) =>
      sourceFiles(join(root, dir)).flatMap((file) =>
        [
          ...readFileSync(file, 'utf8').matchAll(/docs\/design\.md ((?:§[\d.]+(?:-[\d.]+)?(?:, )?)+)/g),
        ].flatMap((match) =>
          [...(match[1] ?? '').matchAll(/(\d+(?:\.\d+)?)/g)].map((n) => ({
            file: file.slice(root.length + 1),
            section: n[1] ?? '',
          })),
        ),
      ),
    );

    expect(cited.length).toBeGreaterThan(40);
    expect(cited.filter((c) => !headings.has(c.section))).toEqual([]);
  });
});
