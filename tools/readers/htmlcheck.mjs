// Opens opscope's HTML report in headless Chromium (Debian's, driven by puppeteer-core: never a downloaded
// Chrome) and checks its DOM contract (docs/exports.md, "html") against the profile's JSON.
// Usage: node htmlcheck.mjs OPSCOPE WORKDIR WORKLOAD...        every workload under every policy (readers.sh)
//        node htmlcheck.mjs --file REPORT.html PROFILE.json [PNG [FLAME.png]]   one report; optional screenshots
//        node htmlcheck.mjs --diff OPSCOPE WORKDIR WORKLOAD...  `opscope diff --format html` (readers.sh diff-html)
// Each report is loaded twice, with JavaScript on and off, offline and with request interception: any
// request that is not file:, data:, blob: or about:, any console error or warning, page error or dialog fails,
// as does any src/href that leaves the page. Then: the flame graph's frames (data-frame -> data-value) equal the
// JSON's call_stacks summed by stack prefix, the root equals the total samples; every #source row's data-count
// equals lines[].count; the function, opcode, call graph and memory rows equal the JSON's entries; groups the
// profile lacks are omitted sections; the SVG and the tables are laid out (visible) with JavaScript off. With
// JavaScript on, a click zooms, a heading sorts and the search box finds `main`, all without an error.
// --diff: each workload against itself half as large again; the diff's page (same loading rules) has every row's
// data- attributes equal to `opscope diff --format json`'s rows and its frames equal to `--format folded`'s
// stacks summed by prefix, coloured by the sign of the change (checkDiffs).
import puppeteer from 'puppeteer-core';
import { execSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const exe = process.env.CHROMIUM ?? execSync('command -v chromium', { shell: '/bin/sh' }).toString().trim();
let failures = 0, checks = 0;
const reader = process.argv[2] === '--diff' ? 'diff-html' : 'html';
const fail = (what, message) => { failures++; console.error(`FAIL ${reader} ${what}: ${message}`); };
const same = (what, got, want) => {
  checks++;
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) fail(what, `page shows ${g}, the profile says ${w}`);
  return g === w;
};
const truth = (what, ok, message) => { checks++; if (!ok) fail(what, message); };
const sorted = (map) => Object.fromEntries(Object.entries(map).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));

// What the JSON says the page must show.
function expected(doc) {
  const want = { frames: null, total: null, lines: null, functions: null, opcodes: null, edges: null, memory: null };
  if (doc.call_stacks) {
    const frames = { all: 0 };
    for (const s of doc.call_stacks) {
      if (!s.samples || !s.frames.length) continue;
      frames.all += s.samples;
      for (let i = 1; i <= s.frames.length; i++) {
        const key = s.frames.slice(0, i).join(';');
        frames[key] = (frames[key] ?? 0) + s.samples;
      }
    }
    want.frames = sorted(frames); want.total = frames.all;
  }
  if (doc.lines) want.lines = sorted(Object.fromEntries(doc.lines.map(l => [String(l.line), l.count])));
  if (doc.functions) want.functions = sorted(Object.fromEntries(doc.functions.map(f => [f.name, f.calls])));
  if (doc.opcodes) want.opcodes = sorted(Object.fromEntries(doc.opcodes.map(o => [o.name, o.count])));
  if (doc.call_graph) want.edges = doc.call_graph.length;
  if (doc.memory) want.memory = sorted(Object.fromEntries(doc.memory.by_type.map(t => [t.type, t.bytes])));
  return want;
}

// What the page shows (evaluated in the page: no page script needed).
function shown() {
  const rows = (selector, key, value) => {
    const out = {};
    for (const tr of document.querySelectorAll(selector)) out[tr.getAttribute(key)] = Number(tr.getAttribute(value));
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
  };
  const visible = (selector) => { const e = document.querySelector(selector); if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const omitted = (id) => document.querySelector(`section#${id}[data-omitted="true"]`) !== null;
  const svg = document.getElementById('flamegraph-svg');
  const external = [...document.querySelectorAll('[src],[href]')]
    .map(e => e.getAttribute('src') ?? e.getAttribute('href')).filter(u => !/^(#|data:)/.test(u));
  return {
    csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null,
    external,
    frames: svg ? rows('#flamegraph-svg g.frame[data-frame]', 'data-frame', 'data-value') : null,
    total: svg ? Number(svg.dataset.totalSamples) : null,
    lines: document.getElementById('source-table') ? rows('#source tr[data-line]', 'data-line', 'data-count') : null,
    functions: document.getElementById('functions-table') ? rows('#functions tr[data-function]', 'data-function', 'data-calls') : null,
    opcodes: document.getElementById('opcodes-table') ? rows('#opcodes tr[data-opcode]', 'data-opcode', 'data-count') : null,
    edges: document.getElementById('callgraph-table') ? document.querySelectorAll('#callgraph tr[data-caller]').length : null,
    memory: document.getElementById('memory-table') ? rows('#memory tr[data-type]', 'data-type', 'data-bytes') : null,
    omitted: { flamegraph: omitted('flamegraph'), source: omitted('source'), functions: omitted('functions'), memory: omitted('memory') },
    flameNote: document.querySelector('#flamegraph .note')?.textContent ?? '',
    visible: { svg: visible('#flamegraph-svg'), source: visible('#source-table'), functions: visible('#functions-table') },
    search: getComputedStyle(document.querySelector('nav')).display !== 'none',
  };
}

const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

// The page loaded offline with every request intercepted; `bad` collects any request that leaves the page,
// console error or warning, page error and dialog.
async function openPage(browser, html, js) {
  const bad = [];
  const page = await browser.newPage();
  await page.setJavaScriptEnabled(js);
  await page.setOfflineMode(true);
  await page.setRequestInterception(true);
  page.on('request', r => { if (/^(file|data|blob|about):/.test(r.url())) r.continue(); else { bad.push('network ' + r.url()); r.abort(); } });
  page.on('console', m => { if (['error', 'warn', 'warning'].includes(m.type())) bad.push(`console ${m.type()} ${m.text()}`); });
  page.on('pageerror', e => bad.push('pageerror ' + e.message));
  page.on('dialog', d => { bad.push('dialog ' + d.message()); d.dismiss(); });
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto('file://' + path.resolve(html), { waitUntil: 'load' });
  return { page, bad };
}

// The script's three jobs, each without an error: zoom into the widest frame narrower than the root (it must
// then fill the width), sort the first sortable table, search for `main`.
async function exerciseScript(page, mode, summary) {
  const zoomed = await page.evaluate(() => {
    const svg = document.getElementById('flamegraph-svg');
    if (!svg) return null;
    const frames = [...svg.querySelectorAll('g.frame')], total = +(svg.dataset.totalSamples ?? svg.dataset.total);
    const target = frames.filter(g => +g.dataset.value > 0 && +g.dataset.value < total).sort((a, b) => b.dataset.value - a.dataset.value)[0];
    if (!target) return null;
    target.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    return { width: +target.querySelector('rect').getAttribute('width'), full: +svg.dataset.viewWidth - 2 * +svg.dataset.pad,
             hidden: frames.filter(g => g.style.display === 'none').length, frame: target.dataset.frame };
  });
  if (zoomed) {
    truth(`${mode}: zoom`, Math.abs(zoomed.width - zoomed.full) < 0.01, `the clicked frame is ${zoomed.width} wide, not ${zoomed.full}`);
    summary.push(`zoom into ${zoomed.frame} hid ${zoomed.hidden} frames`);
  }
  await page.evaluate(() => {
    document.querySelector('table.sortable th:nth-child(2)')?.click();
    const input = document.getElementById('search'); input.value = 'main'; input.dispatchEvent(new Event('input'));
  });
  const after = await page.evaluate(() => ({ result: document.getElementById('search-result').textContent }));
  truth(`${mode}: search`, /\d+ frames, \d+ rows match/.test(after.result), `search shows "${after.result}"`);
  summary.push(`search "${after.result}"`);
}

// The page (PNG) and its flame graph (FLAME.png), search cleared and zoom reset, for a reviewer to open.
async function screenshots(page, [png, flamePng]) {
  await page.evaluate(() => { const i = document.getElementById('search'); i.value = ''; i.dispatchEvent(new Event('input')); document.getElementById('flame-reset')?.click(); });
  await page.setViewport({ width: 1280, height: 1500 });
  await page.screenshot({ path: png });
  const flame = await page.$('#flamegraph');
  if (flamePng && flame) await flame.screenshot({ path: flamePng });
}

async function checkReport(browser, html, doc, name, pngs = []) {
  const raw = fs.readFileSync(html, 'utf8');
  truth(`${name}: no URL in the file`, !/https?:\/\//i.test(raw), 'the file contains http(s)://');
  const want = expected(doc);
  const summary = [];
  for (const js of [true, false]) {
    const mode = `${name} (JavaScript ${js ? 'on' : 'off'})`;
    const { page, bad } = await openPage(browser, html, js);
    const got = await page.evaluate(shown);
    same(`${mode}: CSP`, got.csp, CSP);
    same(`${mode}: external src/href`, got.external, []);
    if (want.frames) {
      same(`${mode}: flame graph frames`, got.frames, want.frames);
      same(`${mode}: flame graph total samples`, got.total, want.total);
      truth(`${mode}: flame graph laid out`, got.visible.svg, 'the SVG has no size');
    } else {
      truth(`${mode}: flame graph omitted`, got.omitted.flamegraph && /timing or full/.test(got.flameNote),
            `no omitted section naming --policy timing or full: ${got.flameNote}`);
    }
    if (want.lines) { same(`${mode}: source line counts`, got.lines, want.lines); truth(`${mode}: source laid out`, got.visible.source, 'no size'); }
    else truth(`${mode}: source omitted`, got.omitted.source, 'no omitted section');
    if (want.functions) { same(`${mode}: function rows`, got.functions, want.functions); truth(`${mode}: functions laid out`, got.visible.functions, 'no size'); }
    if (want.opcodes) same(`${mode}: opcode rows`, got.opcodes, want.opcodes);
    if (want.edges !== null) same(`${mode}: call graph rows`, got.edges, want.edges);
    if (want.memory) same(`${mode}: memory rows`, got.memory, want.memory); else truth(`${mode}: memory omitted`, got.omitted.memory, 'no omitted section');
    same(`${mode}: search box shown only with JavaScript`, got.search, js);
    if (js) await exerciseScript(page, mode, summary);
    if (js && pngs[0]) await screenshots(page, pngs);
    for (const b of bad) fail(mode, b);
    checks++;
    await page.close();
  }
  const frames = want.frames ? Object.entries(want.frames).slice(0, 4).map(([k, v]) => `${k}:${v}`).join(', ') : 'no stacks (omitted)';
  console.log(`html ${name}: frames ${frames}; ${want.lines ? Object.keys(want.lines).length : 0} lines, ` +
              `${want.functions ? Object.keys(want.functions).length : 0} functions; ${summary.join('; ')}`);
}

// --- the diff's page (`opscope diff --format html`, docs/exports.md "opscope diff") ---

const TOP = 10;  // opscope diff's default --top: the page shows each group's first TOP rows of the JSON's

// The workload at a larger size (the first `let NAME = NUMBER;` of a .ops file, the `push NUMBER ; @size` of a
// .opasm file, half as large again): a real change for the diff to show. Without a size, the same program.
function larger(workload) {
  const text = fs.readFileSync(workload, 'utf8');
  const grow = (n) => String(Number(n) + Math.max(1, Math.floor(Number(n) / 2)));
  const edited = workload.endsWith('.ops')
    ? text.replace(/^(let [A-Za-z_]+ = )(\d+);/m, (_, head, n) => `${head}${grow(n)};`)
    : text.replace(/push (\d+)( +; @size)/, (_, n, tail) => `push ${grow(n)}${tail}`);
  const out = workload.replace(/(\.[a-z]+)$/, '.larger$1');
  fs.writeFileSync(out, edited);
  return out;
}

function runOpscope(opscope, args, what) {
  const r = spawnSync(opscope, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${what}: opscope ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// What the diff's JSON and folded output say the page must show.
function expectedDiff(json, folded) {
  const rows = {};
  for (const r of json.rows) (rows[r.group] ??= []).push(r);
  const tables = {};
  for (const [group, list] of Object.entries(rows))
    tables[group] = list.slice(0, group === 'summary' ? list.length : TOP).map(r => ({
      key: r.key, base: r.base, new: r.new, delta: r.delta, delta_percent: r.delta_percent, changed: r.changed, z: r.z ?? null }));
  let frames = null;
  if (folded !== null) {
    frames = { all: [0, 0] };
    for (const line of folded.split('\n').filter(Boolean)) {
      const m = /^(.*) (\d+) (\d+)$/.exec(line), b = Number(m[2]), n = Number(m[3]), parts = m[1].split(';');
      for (let i = 0; i <= parts.length; i++) {
        const key = i === 0 ? 'all' : parts.slice(0, i).join(';');
        const f = (frames[key] ??= [0, 0]); f[0] += b; f[1] += n;
      }
    }
    frames = sorted(Object.fromEntries(Object.entries(frames).filter(([key, [, n]]) => key === 'all' || n > 0)));  // base-only stacks are not drawn
  }
  return { tables: sorted(tables), frames };
}

// What the diff's page shows (evaluated in the page, no page script needed).
function shownDiff(metric) {
  const number = (a) => a === null ? null : Number(a);
  const tables = {};
  for (const tr of document.querySelectorAll('tr[data-group]')) {
    const d = tr.dataset;
    if (d.group === 'summary' && d.metric !== metric) continue;  // the JSON has the metric's rows only
    (tables[d.group] ??= []).push({ key: d.key, base: number(tr.getAttribute('data-base')), new: number(tr.getAttribute('data-new')),
      delta: Number(d.delta), delta_percent: number(tr.getAttribute('data-delta-percent')), changed: d.changed === 'true',
      z: number(tr.getAttribute('data-z')) });
  }
  const svg = document.getElementById('flamegraph-svg');
  let frames = null, colours = { grew: 0, shrank: 0, wrong: [] };
  if (svg) {
    frames = {};
    for (const g of svg.querySelectorAll('g.frame')) {
      frames[g.dataset.frame] = [Number(g.dataset.base), Number(g.dataset.value)];
      const [r, gr, b] = g.querySelector('rect').getAttribute('fill').match(/\d+/g).map(Number), delta = Number(g.dataset.delta);
      if (delta > 0) { if (r === 255 && gr < 255 && b < 255) colours.grew++; else colours.wrong.push(g.dataset.frame); }
      if (delta < 0) { if (b === 255 && r < 255 && gr < 255) colours.shrank++; else colours.wrong.push(g.dataset.frame); }
    }
    frames = Object.fromEntries(Object.entries(frames).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
  }
  const visible = (selector) => { const e = document.querySelector(selector); if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const external = [...document.querySelectorAll('[src],[href]')]
    .map(e => e.getAttribute('src') ?? e.getAttribute('href')).filter(u => !/^(#|data:)/.test(u));
  return {
    csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null,
    external, metric: document.getElementById('header')?.dataset.metric ?? null,
    tables: Object.fromEntries(Object.entries(tables).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)),
    frames, total: svg ? Number(svg.dataset.total) : null, colours,
    flameOmitted: document.querySelector('section#flamegraph[data-omitted="true"]') !== null,
    visible: { svg: visible('#flamegraph-svg'), lines: visible('#lines-table'), summary: visible('#summary-table') },
    search: getComputedStyle(document.querySelector('nav')).display !== 'none',
  };
}

// Each workload profiled (timing: exact counts and sampled stacks) at its size and half as large again; the
// diff's page by instructions and by samples, and by instructions the other way round (frames shrink), loaded
// with JavaScript on and off: its rows equal `opscope diff
// --format json`'s and its frames `--format folded`'s.
async function checkDiffs(browser, opscope, work, workloads) {
  for (const workload of workloads) {
    const name = path.basename(workload);
    const base = path.join(work, `${name}.diffbase.json`), next = path.join(work, `${name}.diffnew.json`);
    try {
      for (const [program, out] of [[workload, base], [larger(workload), next]])
        runOpscope(opscope, ['profile', program, '--policy', 'timing', '--format', 'json', '-o', out, '--sample-rate', '20000'], `profiling ${name}`);
    } catch (e) { fail(name, e.message); continue; }
    const shownLine = [];
    // Larger as the new profile (frames grow) and, by instructions, as the base (frames shrink).
    for (const [metric, from, to, label] of [['instructions', base, next, 'instructions'], ['samples', base, next, 'samples'],
                                             ['instructions', next, base, 'instructions, reversed']]) {
      const html = path.join(work, `${name}.diff.${label.replace(/\W+/g, '-')}.html`), what = `diff ${name} --metric ${label}`;
      let want;
      try {
        runOpscope(opscope, ['diff', from, to, '--format', 'html', '--metric', metric, '-o', html], what);
        const json = JSON.parse(runOpscope(opscope, ['diff', from, to, '--format', 'json', '--metric', metric], what));
        want = expectedDiff(json, runOpscope(opscope, ['diff', from, to, '--format', 'folded', '--metric', metric], what));
      } catch (e) { fail(what, e.message); continue; }
      truth(`${what}: no URL in the file`, !/https?:\/\//i.test(fs.readFileSync(html, 'utf8')), 'the file contains http(s)://');
      const summary = [];
      for (const js of [true, false]) {
        const mode = `${what} (JavaScript ${js ? 'on' : 'off'})`;
        const { page, bad } = await openPage(browser, html, js);
        const got = await page.evaluate(shownDiff, metric);
        same(`${mode}: CSP`, got.csp, CSP);
        same(`${mode}: external src/href`, got.external, []);
        same(`${mode}: metric`, got.metric, metric);
        same(`${mode}: rows (data- attributes) == the JSON's`, got.tables, want.tables);
        same(`${mode}: frames (base, new) == the folded stacks`, got.frames, want.frames);
        same(`${mode}: root == the new total`, got.total, want.frames.all[1]);
        same(`${mode}: frames red where grown, blue where shrunk`, got.colours.wrong, []);
        truth(`${mode}: laid out`, got.visible.svg && got.visible.summary && (got.visible.lines || !want.tables.lines),
              `not laid out: ${JSON.stringify(got.visible)}`);
        same(`${mode}: search box shown only with JavaScript`, got.search, js);
        if (js) await exerciseScript(page, mode, summary);
        for (const b of bad) fail(mode, b);
        checks++;
        await page.close();
        if (js) shownLine.push(`${label}: ${Object.values(got.tables).flat().length} rows, ${Object.keys(got.frames).length} frames ` +
                               `(${got.colours.grew} grew, ${got.colours.shrank} shrank), ${summary.join('; ')}`);
      }
    }
    console.log(`diff-html ${name}: ${shownLine.join(' | ')}`);
  }
}

const browser = await puppeteer.launch({ executablePath: exe, headless: true, args: ['--no-sandbox'] });
try {
  const args = process.argv.slice(2);
  if (args[0] === '--diff') {
    const [, opscope, work, ...workloads] = args;
    await checkDiffs(browser, opscope, work, workloads);
  } else if (args[0] === '--file') {
    const [, html, json, png, flame] = args;
    await checkReport(browser, html, JSON.parse(fs.readFileSync(json, 'utf8')), path.basename(html), [png, flame]);
  } else {
    const [opscope, work, ...workloads] = args;
    for (const workload of workloads)
      for (const policy of ['counting', 'timing', 'full']) {
        const base = path.join(work, `${path.basename(workload)}.${policy}`);
        if (!fs.existsSync(base + '.json')) {
          const r = spawnSync(opscope, ['profile', workload, '--policy', policy, '--format', 'json', '-o', base + '.json', '--sample-rate', '20000'], { encoding: 'utf8' });
          if (r.status !== 0) { fail(`${workload} ${policy}`, `opscope profile exited ${r.status}: ${r.stderr}`); continue; }
        }
        const r = spawnSync(opscope, ['export', base + '.json', '--format', 'html', '-o', base + '.html'], { encoding: 'utf8' });
        if (r.status !== 0) { fail(`${workload} ${policy}`, `opscope export exited ${r.status}: ${r.stderr}`); continue; }
        await checkReport(browser, base + '.html', JSON.parse(fs.readFileSync(base + '.json', 'utf8')), `${path.basename(workload)} ${policy}`);
      }
  }
} catch (e) {
  fail('run', e.stack ?? e.message);
} finally {
  await browser.close();
}
console.log(`${reader}: ${checks} checks, ${failures} failed`);
process.exit(failures ? 1 : 0);
