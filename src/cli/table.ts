import { type Schemas } from './client';

type Item = Schemas['ConfigLeaderboardItemDto'];

const num = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined ? '–' : x.toFixed(digits);
const clip = (text: string, width: number): string => (text.length <= width ? text : `${text.slice(0, width - 1)}…`);

function promptText(prompt: unknown): string {
  const text = typeof prompt === 'string' ? prompt : JSON.stringify(prompt);
  return text.replace(/\s+/g, ' ');
}

/** The configuration leaderboard as a plain-text table, best first. */
export function leaderboardTable(items: readonly Item[]): string {
  const header = ['#', 'key', 'model', 'prompt', 'params', 'n', 'mean', 'ci95', 'pass', 'p50 ms'];
  const rows = items.map((item, i) => [
    String(i + 1),
    item.key.slice(0, 12),
    item.model ?? '–',
    clip(promptText(item.prompt), 40),
    clip(item.params && Object.keys(item.params).length > 0 ? JSON.stringify(item.params) : '{}', 30),
    String(item.n),
    num(item.mean),
    item.ci95_low === null ? '–' : `${num(item.ci95_low)}..${num(item.ci95_high)}`,
    num(item.pass_rate, 2),
    item.p50_duration_ms === null ? '–' : String(Math.round(item.p50_duration_ms)),
  ]);
  if (rows.length === 0) return 'No scored runs: the leaderboard is empty.\n';
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const numeric = new Set([0, 5, 6, 8, 9]);
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

/** The gate's verdict, one line per check. */
export function gateReport(gate: Schemas['GateResultDto']): string {
  const lines = [`gate: ${gate.passed ? 'PASSED' : 'FAILED'}`];
  for (const check of gate.checks) {
    const value = check.value === null ? 'n/a' : num(check.value, 4);
    let rule: string;
    if (check.name === 'max_mean_drop') {
      const p = check.p_value === null || check.p_value === undefined ? 'n/a' : check.p_value.toPrecision(3);
      rule = `mean_diff ${value} vs −${check.threshold}, p ${p} vs alpha ${check.alpha}`;
    } else {
      rule = `${value} ≥ ${check.threshold}`;
    }
    lines.push(`  ${check.passed ? 'ok  ' : 'FAIL'} ${check.name}: ${rule}${check.reason ? ` (${check.reason})` : ''}`);
  }
  if (gate.comparison) {
    const c = gate.comparison;
    lines.push(
      `  vs baseline ${c.baseline_experiment_id}: ${c.n_pairs} pairs, mean ${num(c.mean_a)} vs ${num(c.mean_b)}, ` +
        `${c.wins} better, ${c.losses} worse, ${c.ties} equal`,
    );
    for (const r of c.regressions.slice(0, 3)) {
      lines.push(`    drop ${num(r.value_b - r.value_a)} on ${clip(JSON.stringify(r.input_data), 60)}`);
    }
  }
  return lines.join('\n') + '\n';
}
