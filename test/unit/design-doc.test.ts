// docs/design.md is the contract the code cites: every `docs/design.md §N` in the repository must name one of its
// headings, nothing cites the SPEC the project started from, and the doc's table of reason codes must be the closed
// list in handlers/core/contract.ts, word for word. The README's map of test/helpers stays complete.
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

test('nothing cites a contract outside the repository (sections of the SPEC the project started from)', () => {
  // Arrange
  const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => /\.(ts|js|py|sh|yml)$/.test(f));

  // Act
  const outside = files.filter((file) => /SPEC\s§/.test(readFileSync(join(root, file), 'utf8')));

  // Assert
  expect(files.length).toBeGreaterThan(100);
  expect(outside).toEqual([]);
});

test('the reason-code table is the closed list of the contract module, word for word', () => {
  // Arrange
  const table = design.split('<!-- reason-codes:start -->')[1]?.split('<!-- reason-codes:end -->')[0] ?? '';

  // Act
  const rows = [...table.matchAll(/^\| `([a-z0-9-]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);

  // Assert
  expect(rows).toEqual(Object.entries(REASONS));
});

test("the README's map of test/helpers names every helper there is, and no other", () => {
  // Arrange
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const map = readme.split('`test/helpers/`, by what a test needs:')[1]?.split('\n## ')[0] ?? '';
  const helpers = execFileSync('git', ['ls-files', 'test/helpers'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace('test/helpers/', ''));

  // Act
  const named = [...map.matchAll(/`([a-z0-9-]+\.ts)`/g)].map((m) => m[1]);

  // Assert
  expect(helpers.length).toBeGreaterThan(10);
  expect([...new Set(named)].sort()).toEqual(helpers.sort());
});
