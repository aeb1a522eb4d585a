// docs/operator-guide.md shows the CLI's recorded output (npm run docs:cli writes docs/cli-output/*.txt and
// copies them in): the guide must hold exactly what was recorded, never text typed by hand.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { includedNames, includeOutputs } from '../docs/include';

const docs = join(__dirname, '..', '..', 'docs');
const guide = readFileSync(join(docs, 'operator-guide.md'), 'utf8');
const recorded = (name: string) => readFileSync(join(docs, 'cli-output', `${name}.txt`), 'utf8');

test('every output the guide includes was recorded, and the guide holds it as recorded', () => {
  // Arrange
  const names = includedNames(guide);

  // Act
  const missing = names.filter((name) => !existsSync(join(docs, 'cli-output', `${name}.txt`)));

  // Assert
  expect(names).toEqual([
    'help',
    'status',
    'status-record',
    'dlq',
    'plan',
    'plan-refused',
    'redrive-dry-run',
    'redrive',
    'executions',
  ]);
  expect(missing).toEqual([]);
  expect(includeOutputs(guide, recorded)).toBe(guide);
});

test('including replaces a marked block with the named output as a text block', () => {
  // Act
  const text = includeOutputs(
    'a\n<!-- cli-output:x -->\nold\n<!-- /cli-output -->\nb',
    () => '$ r53dyn x\nout\n',
  );

  // Assert
  expect(text).toBe('a\n<!-- cli-output:x -->\n```text\n$ r53dyn x\nout\n```\n<!-- /cli-output -->\nb');
});
