// Plain-text rendering for the r53dyn CLI: aligned tables, times and durations. Pure, so that what operators
// read is unit-tested; `--json` prints the data itself instead.

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `1h02m`, `3m05s`, `42s`, `850ms`: the largest two units that matter. */
export function duration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${Math.round(abs)}ms`;
  const seconds = Math.floor(abs / 1000);
  if (seconds < 60) return `${sign}${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${sign}${minutes}m${pad2(seconds % 60)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${sign}${hours}h${pad2(minutes % 60)}m`;
  return `${sign}${Math.floor(hours / 24)}d${pad2(hours % 24)}h`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `2026-11-29 09:53:12Z`: UTC to the second, readable in a table. */
export function clock(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** `in 12s` or `3m05s ago`, relative to now. */
export function relative(ms: number, now: number): string {
  return ms >= now ? `in ${duration(ms - now)}` : `${duration(now - ms)} ago`;
}

/** One line of at most `max` characters: whitespace runs collapsed, an ellipsis where it was cut. */
export function oneLine(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** `1 message`, `3 messages`. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** A record name as operators type it: without the trailing dot. */
export function bare(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}
