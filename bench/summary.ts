/**
 * `node dist/bench/summary.js RESULTS [FAILED...]`: the one table `npm run bench` ends with — every
 * figure the benchmarks recorded (see `figure` in bench/lib/report.ts), its ratio, goal and
 * verdict, as Markdown (the README's Benchmarks table is this output). Benchmarks named after the
 * file failed to run and are listed as such.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { goalText, verdict, type FigureRecord } from './lib/report.js';

const [file, ...failed] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: summary RESULTS [FAILED_BENCH...]');
const records = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as FigureRecord);

const num = (x: number, digits: number): string =>
  x
    .toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    .replace(/,/g, ' ');
const rows = records.map((r) => {
  const ratio = r.ours / r.reference;
  return `| ${r.bench} | ${r.name} | ${num(r.ours, r.digits)} ${r.unit} | ${num(r.reference, r.digits)} ${r.unit} | ${ratio.toFixed(2)}× | ${goalText(r.goal)} | ${verdict(ratio, r.goal)} |`;
});
const withGoal = records.filter((r) => r.goal !== undefined);
const missed = withGoal.filter((r) => verdict(r.ours / r.reference, r.goal) !== 'met');
console.log(
  `\n## Summary: ${records.length} figures, ${withGoal.length} with a goal, ${withGoal.length - missed.length} met, ${missed.length} not met${failed.length ? `; failed to run: ${failed.join(', ')}` : ''} (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} cores, load average ${(loadavg()[0] ?? 0).toFixed(1)})\n`,
);
console.log('| Bench | Figure | Ours | Reference | Ratio | Goal | Verdict |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
