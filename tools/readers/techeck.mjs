// Opens opscope's Chrome Trace Event exports with the Chrome DevTools Performance panel's trace engine (npm
// @paulirish/trace_engine 0.0.65) under node. Usage: node techeck.mjs OPSCOPE WORKDIR WORKLOAD... (readers.sh)
// Each workload is profiled as JSON under full (the policy that records the timeline; reusing check.mjs's
// files) and exported with `opscope export --format chrome`. Checks, as the engine is lenient (it drops an
// unmatched E and accepts NaN times) and reports mis-nesting only on stderr: no "mismatch" message; the `vm`
// thread's slices number exactly the B events written, which are the timeline's enter events plus the
// frames opened without their enter (otherData.enters_not_recorded); every slice has finite ts and dur; the
// trace's bounds span the events; gaps appear as instant events, one per otherData.gaps entry. And under
// counting, `--format chrome` exits 2 naming the policy full.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as Trace from '@paulirish/trace_engine';

const [opscope, work, ...workloads] = process.argv.slice(2);
globalThis.DOMRect ??= class { constructor(x = 0, y = 0, w = 0, h = 0) { Object.assign(this, { x, y, width: w, height: h }); } };
let failures = 0, checks = 0;
const fail = (what, message) => { failures++; process.stdout.write(`FAIL chrome ${what}: ${message}\n`); };
const truth = (what, ok, message) => { checks++; if (!ok) fail(what, message); return ok; };
const engineErrors = [];
const consoleError = console.error, consoleWarn = console.warn;
console.error = (...a) => engineErrors.push(a.join(' '));
console.warn = (...a) => engineErrors.push(a.join(' '));

function run(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  return r;
}
function profileJson(workload, policy) {
  const file = path.join(work, `${path.basename(workload)}.${policy}.json`);
  if (!fs.existsSync(file)) {
    const r = run(opscope, ['profile', workload, '--policy', policy, '--format', 'json', '-o', file, '--sample-rate', '20000']);
    if (r.status !== 0) throw new Error(`profiling ${workload}: ${r.stderr}`);
  }
  return { file, doc: JSON.parse(fs.readFileSync(file, 'utf8')), name: `${path.basename(workload)} ${policy}` };
}

for (const workload of workloads) {
  const json = profileJson(workload, 'full');
  const out = json.file.replace(/\.json$/, '') + '.trace.json';
  const r = run(opscope, ['export', json.file, '--format', 'chrome', '-o', out]);
  if (!truth(`${json.name} export`, r.status === 0, r.stderr)) continue;
  const trace = JSON.parse(fs.readFileSync(out, 'utf8'));
  const written = trace.traceEvents.filter(e => e.ph === 'B').length;
  const ends = trace.traceEvents.filter(e => e.ph === 'E').length;
  const gaps = trace.traceEvents.filter(e => e.ph === 'i' && /^\[gap/.test(e.name)).length;
  const enters = (json.doc.timeline?.events ?? []).filter(e => e.kind === 'enter').length;
  const other = trace.otherData;
  engineErrors.length = 0;
  const model = Trace.TraceModel.Model.createWithAllHandlers();
  await model.parse(trace.traceEvents);
  const data = model.parsedTrace().data;
  const threads = [];
  for (const [, process] of data.Renderer.processes)
    for (const [, thread] of process.threads) threads.push({ name: thread.name, slices: thread.entries ?? [] });
  const vm = threads.find(t => t.name === 'vm');
  const what = json.name;
  truth(`${what} mismatch`, !engineErrors.some(e => /mismatch/i.test(e)), engineErrors.filter(e => /mismatch/i.test(e)).slice(0, 3).join('; '));
  if (truth(`${what} vm thread`, vm !== undefined, `threads ${JSON.stringify(threads.map(t => t.name))}`)) {
    truth(`${what} slices`, vm.slices.length === written, `engine built ${vm.slices.length} slices, ${written} B events written`);
    truth(`${what} finite`, vm.slices.every(s => Number.isFinite(s.ts) && Number.isFinite(s.dur ?? 0)), 'a slice with NaN ts or dur');
  }
  truth(`${what} balanced`, written === ends, `${written} B, ${ends} E`);
  truth(`${what} enters`, written === enters + other.enters_not_recorded && other.enter_events === enters,
        `${written} B events, ${enters} enter events in the timeline + ${other.enters_not_recorded} not recorded`);
  truth(`${what} gaps`, gaps === other.gaps.length, `${gaps} gap markers, otherData lists ${other.gaps.length}`);
  truth(`${what} otherData`, other.policy === 'full' && typeof other.exact === 'string' && typeof other.statistical === 'string' &&
        other.partial === Boolean(json.doc.partial), JSON.stringify(other).slice(0, 300));
  console.log(`chrome ${what}: ${vm?.slices.length} slices = ${written} B events (${enters} enters + ${other.enters_not_recorded} opened without their enter), ` +
              `${gaps} gaps marked, ${engineErrors.filter(e => /mismatch/i.test(e)).length} mismatches, ` +
              `events kept ${other.kept} of ${other.recorded} recorded (+${other.skipped} skipped, ${other.dropped} dropped)`);
}
// The policy that records no timeline: exit 2 naming full.
if (workloads.length) {
  const json = profileJson(workloads[0], 'counting');
  const r = run(opscope, ['export', json.file, '--format', 'chrome', '-o', path.join(work, 'counting.trace.json')]);
  truth('counting refused', r.status === 2 && /policy full/.test(r.stderr), `exit ${r.status}: ${r.stderr}`);
}
console.error = consoleError; console.warn = consoleWarn;
console.log(`chrome: ${checks} checks, ${failures} failures`);
process.exit(failures ? 1 : 0);
