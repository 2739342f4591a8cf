// Opens opscope's speedscope exports with speedscope 1.25.0's own importer (its release bundle, as
// `speedscope FILE` loads it) in Debian's headless Chromium, driven by puppeteer-core, offline.
// Usage: node sscheck.mjs OPSCOPE WORKDIR WORKLOAD...     (tools/readers.sh)
// Each workload is profiled as JSON under timing and full (reusing check.mjs's files), exported with
// `opscope export --format speedscope --weight samples` (speedscope shows unit "none" weights exactly, as
// toLocaleString) and with the default `--weight time`. Checks: the file imports (the title becomes
// "<name> - speedscope"; a file speedscope rejects leaves the title unchanged, silently), no page error,
// dialog or request leaving the page; the sandwich view of the sampled profile lists every function with
// self and total samples equal to the JSON's call_stacks (self: summed by leaf; total: by stack containing
// it); with --weight time the same in nanoseconds within the display's rounding; under full, the evented
// profile (key `n`) imports and its frames balance: every close matches the open on top (checked here and by
// speedscope, which refuses a mismatch) and its self times equal those replayed from the file's events.
import puppeteer from 'puppeteer-core';
import { execSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [opscope, work, ...workloads] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const index = path.join(here, 'node_modules/speedscope/dist/release/index.html');
const exe = process.env.CHROMIUM ?? execSync('command -v chromium', { shell: '/bin/sh' }).toString().trim();
let failures = 0, checks = 0;
const fail = (what, message) => { failures++; console.error(`FAIL speedscope ${what}: ${message}`); };
const truth = (what, ok, message) => { checks++; if (!ok) fail(what, message); return ok; };
const sorted = (map) => Object.fromEntries(Object.entries(map).filter(([, v]) => v !== 0).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
const add = (map, key, value) => { map[key] = (map[key] ?? 0) + value; };

function must(command, args, what) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${what}: exited ${r.status}: ${r.stderr}`);
  return r;
}
function profileJson(workload, policy) {
  const file = path.join(work, `${path.basename(workload)}.${policy}.json`);
  if (!fs.existsSync(file))
    must(opscope, ['profile', workload, '--policy', policy, '--format', 'json', '-o', file, '--sample-rate', '20000'], `profiling ${workload}`);
  return { file, doc: JSON.parse(fs.readFileSync(file, 'utf8')), name: `${path.basename(workload)} ${policy}` };
}

// What the JSON says: per function, self (by leaf) and total (stacks containing it, once each).
function expectedSampled(doc, field) {
  const self = {}, total = {};
  for (const s of doc.call_stacks ?? []) {
    const w = s[field] ?? 0;
    if (!w || !s.frames.length) continue;
    add(self, s.frames[s.frames.length - 1], w);
    for (const f of new Set(s.frames)) add(total, f, w);
  }
  return { self: sorted(self), total: sorted(total) };
}
// The evented profile of our file replayed: balance (every C closes the frame on top, none left open,
// times never go back) and self time per frame name.
function replayEvented(file, profile) {
  const names = file.shared.frames.map(f => f.name), stack = [], self = {}, total = {};
  let last = profile.startValue, problem = null;
  for (const e of profile.events) {
    if (e.at < last) problem ??= `time goes back at ${e.at}`;
    if (stack.length) add(self, names[stack[stack.length - 1].frame], e.at - last);
    if (e.type === 'O') stack.push({ frame: e.frame, at: e.at });
    else {
      const top = stack.pop();
      if (!top || top.frame !== e.frame) problem ??= `close of ${names[e.frame]} with ${top ? names[top.frame] : 'nothing'} on top`;
      else if (!stack.some(s => s.frame === e.frame)) add(total, names[e.frame], e.at - top.at);
    }
    last = e.at;
  }
  if (stack.length) problem ??= `${stack.length} frames left open`;
  return { problem, self: sorted(self), total: sorted(total), opens: profile.events.filter(e => e.type === 'O').length };
}

// "1,234" (unit none) or "140.00ms", "2.23s", "590.52µs", "12ns" in nanoseconds.
function parseValue(text) {
  const m = /^([\d,.]+)\s*(ns|µs|us|ms|s|min)?$/.exec(text.trim());
  if (!m) return NaN;
  const n = Number(m[1].replaceAll(',', ''));
  return n * ({ undefined: 1, ns: 1, 'µs': 1e3, us: 1e3, ms: 1e6, s: 1e9, min: 60e9 })[m[2]];
}
// The sandwich table's rows: name -> { total, self } (rows of one name, e.g. per line, added).
async function sandwich(page) {
  await page.keyboard.press('3');
  await new Promise(r => setTimeout(r, 400));
  const rows = await page.evaluate(() => [...document.querySelectorAll('tr')].map(tr => [...tr.querySelectorAll('td')].map(td => td.innerText.trim())));
  const out = { total: {}, self: {}, raw: [] };
  for (const cells of rows) {
    // Sandwich rows: "TOTAL (P%)", "SELF (P%)", name (the profile list's rows have no percentages).
    if (cells.length < 3 || !/%\)$/.test(cells[0]) || !/%\)$/.test(cells[1])) continue;
    const value = (cell) => parseValue(cell.replace(/\s*\([<>\d.]+%\)\s*$/, ''));
    const name = cells[cells.length - 1];
    add(out.total, name, value(cells[0])); add(out.self, name, value(cells[1]));
    out.raw.push(cells.join(' | '));
    if (process.env.SSDEBUG) console.log(JSON.stringify(cells));  // SSDEBUG=1: print the rows read
  }
  out.total = sorted(out.total); out.self = sorted(out.self);
  return out;
}
function near(what, got, want, tolerance) {
  const keys = [...new Set([...Object.keys(got), ...Object.keys(want)])].sort();
  const bad = keys.filter(k => !(Math.abs((got[k] ?? 0) - (want[k] ?? 0)) <= tolerance(want[k] ?? 0)));
  return truth(what, bad.length === 0, `speedscope shows ${JSON.stringify(got)}, the profile says ${JSON.stringify(want)} (differ: ${bad.join(', ')})`);
}

const browser = await puppeteer.launch({ executablePath: exe, headless: true, args: ['--no-sandbox', '--allow-file-access-from-files'] });
async function load(file) {
  const page = await browser.newPage(), bad = [];
  page.on('dialog', d => { bad.push('dialog ' + d.message()); d.dismiss(); });
  page.on('pageerror', e => bad.push('pageerror ' + e.message));
  page.on('request', r => { if (!/^(file|data|blob|about):/.test(r.url())) bad.push('network ' + r.url()); });
  const js = path.join(os.tmpdir(), `ss-${process.pid}-${path.basename(file)}.js`);
  fs.writeFileSync(js, `speedscope.loadFileFromBase64(${JSON.stringify(path.basename(file))},${JSON.stringify(fs.readFileSync(file).toString('base64'))})`);
  await page.setViewport({ width: 1400, height: 1200 });
  await page.goto(`file://${index}#localProfilePath=${js}`);
  const imported = await page.waitForFunction(() => document.title !== 'speedscope', { timeout: 15000 }).then(() => true, () => false);
  fs.unlinkSync(js);
  return { page, bad, imported, title: await page.title() };
}

for (const workload of workloads) {
  for (const policy of ['timing', 'full']) {
    const json = profileJson(workload, policy);
    for (const weight of ['samples', 'time']) {
      const out = json.file.replace(/\.json$/, '') + `.${weight}.speedscope.json`;
      must(opscope, ['export', json.file, '--format', 'speedscope', '--weight', weight, '-o', out], `exporting ${json.name}`);
      const file = JSON.parse(fs.readFileSync(out, 'utf8'));
      const what = `${json.name} --weight ${weight}`;
      const { page, bad, imported, title } = await load(out);
      truth(`${what} import`, imported && title === `${file.name} - speedscope`, `title "${title}" (speedscope did not import the file)`);
      truth(`${what} page`, bad.length === 0, bad.join('; '));
      const want = expectedSampled(json.doc, weight === 'samples' ? 'samples' : 'time_ns');
      const got = await sandwich(page);
      // Samples are shown exactly; times with 2-3 significant decimals of their unit.
      const tol = weight === 'samples' ? () => 0 : (v) => Math.max(v * 0.006, 10);
      near(`${what} sampled self`, got.self, want.self, tol);
      // With per-frame lines a function has a frame (a sandwich row) per line: totals by row overlap, selves add.
      const withLines = (json.doc.call_stacks ?? []).some(st => (st.lines ?? []).length > 0);
      if (!withLines) near(`${what} sampled total`, got.total, want.total, tol);
      let evented = '';
      const eventedProfile = file.profiles.find(p => p.type === 'evented');
      truth(`${what} evented present`, (policy === 'full') === Boolean(eventedProfile), `evented profile ${eventedProfile ? 'present' : 'absent'} under ${policy}`);
      if (eventedProfile && weight === 'time') {
        const replay = replayEvented(file, eventedProfile);
        truth(`${what} evented balance`, replay.problem === null, replay.problem);
        const enters = (json.doc.timeline?.events ?? []).filter(e => e.kind === 'enter').length;
        truth(`${what} evented opens`, replay.opens >= enters, `${replay.opens} opens for ${enters} recorded enters`);
        await page.keyboard.press('n');
        await new Promise(r => setTimeout(r, 400));
        const shownEvented = await sandwich(page);
        near(`${what} evented self`, shownEvented.self, replay.self, (v) => Math.max(v * 0.006, 10));
        truth(`${what} evented page`, bad.length === 0, bad.join('; '));
        evented = `; evented: ${replay.opens} frames opened (${enters} recorded enters), balanced, self times as replayed (${Object.keys(replay.self).length} functions)`;
      }
      console.log(`speedscope ${what}: imported "${title}", sandwich ${JSON.stringify(weight === 'samples' ? got.self : Object.keys(got.self).length + ' functions')} = call_stacks by leaf${evented}`);
      await page.close();
    }
  }
}
await browser.close();
console.log(`speedscope: ${checks} checks, ${failures} failures`);
process.exit(failures ? 1 : 0);
