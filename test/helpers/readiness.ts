// A readiness command for the boot script's gate that a test steers through files: it counts its runs,
// passes while `healthy` exists (or from the run named in `pass-from`), and otherwise fails with exit 7
// and a line on stderr, as `curl -fsS` would.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const script = `#!/bin/sh
dir=$(dirname "$0")
n=$(cat "$dir/checks" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >"$dir/checks"
if [ -e "$dir/delay" ]; then sleep "$(cat "$dir/delay")"; fi
if [ -e "$dir/healthy" ]; then echo ok; exit 0; fi
if [ -e "$dir/pass-from" ] && [ "$n" -ge "$(cat "$dir/pass-from")" ]; then echo ok; exit 0; fi
echo "unhealthy (check $n)" >&2
exit 7
`;

export type PublishedState = 'published' | 'unpublished' | 'withdrawn';

/** The state file as the script writes it. */
export function stateText(state: PublishedState, failures: number): string {
  return `# r53dyn-register.sh readiness state; replaced whole on every run\nstate=${state}\nfailures=${failures}\n`;
}

export interface ReadinessCheck {
  /** the value for R53DYN_READINESS_COMMAND */
  command: string;
  /** the value for R53DYN_STATE_FILE (its folder does not exist until the script makes it) */
  stateFile: string;
  setHealthy(healthy: boolean): void;
  /** fail until the n-th run of the command (counted from its first run), then pass */
  passFrom(n: number): void;
  /** make every run take this long first */
  delay(seconds: number): void;
  /** how often the command ran */
  runs(): number;
  /** the state file's text, undefined while there is none */
  state(): string | undefined;
  writeState(state: PublishedState, failures: number): void;
}

export function makeReadinessCheck(dir: string): ReadinessCheck {
  const checkDir = join(dir, 'check');
  mkdirSync(checkDir, { recursive: true });
  const path = join(checkDir, 'health.sh');
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  const stateFile = join(dir, 'run', 'r53dyn', 'readiness.state');
  const file = (name: string) => join(checkDir, name);
  return {
    command: path,
    stateFile,
    setHealthy: (healthy) =>
      healthy ? writeFileSync(file('healthy'), '') : rmSync(file('healthy'), { force: true }),
    passFrom: (n) => writeFileSync(file('pass-from'), String(n)),
    delay: (seconds) => writeFileSync(file('delay'), String(seconds)),
    runs: () => (existsSync(file('checks')) ? Number(readFileSync(file('checks'), 'utf8')) : 0),
    state: () => (existsSync(stateFile) ? readFileSync(stateFile, 'utf8') : undefined),
    writeState: (state, failures) => {
      mkdirSync(join(dir, 'run', 'r53dyn'), { recursive: true });
      writeFileSync(stateFile, stateText(state, failures));
    },
  };
}
