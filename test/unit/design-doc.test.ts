// docs/design.md is the contract the code cites: every `docs/design.md §N` in the repository must name one of its
// headings, and its table of reason codes must be the closed list in handlers/core/contract.ts, word for word.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REASONS } from '../../handlers/core/contract';

const root = join(__dirname, '..', '..');
const design = readFileSync(join(root, 'docs', 'design.md'), 'utf8');

/** `## 4. Processing` -> `4`, `### 4.2 Folding a round` -> `4.2`. */
const sections = new Set([...design.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.? /gm)].map((match) => match[1]));

/** Every `docs/design.md §4.2` or `§4.2-4.5` in the tracked files, with where it stands. */
function citations(): { where: string; section: string }[] {
  const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => /\.(ts|js|py|sh|md|yml|json)$/.test(f) && !f.startsWith('docs/design.md'));
  const found: { where: string; section: string }[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const match of text.matchAll(/design\.md[^§\n]{0,40}§(\d+(?:\.\d+)*)(?:-(\d+(?:\.\d+)*))?/g)) {
      for (const section of [match[1], match[2]]) if (section) found.push({ where: file, section });
    }
    // a citation list inside a comment: "(docs/design.md §4.4, §4.5, §9)"
    for (const match of text.matchAll(/design\.md §[\d.]+((?:, §[\d.]+)+)/g)) {
      for (const more of (match[1] ?? '').matchAll(/§(\d+(?:\.\d+)*)/g)) {
        if (more[1]) found.push({ where: file, section: more[1] });
      }
    }
  }
  return found;
}

test('the design doc numbers its sections', () => {
  expect([...sections]).toEqual(expect.arrayContaining(['1', '2', '3', '3.6', '4', '4.5', '9', '11']));
});

test('every citation of docs/design.md names one of its sections', () => {
  // Act
  const all = citations();
  const unresolved = all.filter((c) => !sections.has(c.section.replace(/\.$/, '')));

  // Assert
  expect(all.length).toBeGreaterThan(40);
  expect(unresolved).toEqual([]);
});

test('the reason-code table is the closed list of the contract module, word for word', () => {
  // Arrange
  const table = design.split('<!-- reason-codes:start -->')[1]?.split('<!-- reason-codes:end -->')[0] ?? '';

  // Act
  const rows = [...table.matchAll(/^\| `([a-z0-9-]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);

  // Assert
  expect(rows).toEqual(Object.entries(REASONS));
});
