// Opens opscope's exports with a real reader and checks what the reader shows against the profile's JSON.
// Usage (tools/readers.sh runs it): node check.mjs READER OPSCOPE WORKDIR WORKLOAD...
// READER: pprof-go | pprof-format | callgrind | flamegraph | flamegraph-diff. Each workload is profiled once per policy as JSON
// (`opscope profile --format json`, kept in WORKDIR for the other readers) and exported from that JSON
// (`opscope export`, `opscope merge`), so the reader's figures and the JSON's come from the same run.
// Prints one line per profile with the totals compared; exits 1 on any mismatch.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const [reader, opscope, work, ...workloads] = process.argv.slice(2);
const policies = ['counting', 'timing', 'full'];
const sampled = ['timing', 'full'];  // the policies that record call stacks
const counted = ['counting', 'full'];  // profiled with --inclusive: exact inclusive instructions too
let failures = 0, checks = 0;

const fail = (what, message) => { failures++; console.error(`FAIL ${reader} ${what}: ${message}`); };
const same = (what, got, want) => {
  checks++;
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) fail(what, `reader shows ${g}, the profile says ${w}`);
  return g === w;
};
const sorted = (map) => Object.fromEntries(Object.entries(map).filter(([, v]) => v !== 0).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
const add = (map, key, value) => { map[key] = (map[key] ?? 0) + value; };
const number = (text) => Number(String(text).replaceAll(',', ''));

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: options.binary ? 'buffer' : 'utf8', maxBuffer: 1 << 28, cwd: options.cwd, env: process.env });
  if (r.error) throw r.error;
  return r;
}
function must(command, args, what, options) {
  const r = run(command, args, options);
  if (r.status !== 0) throw new Error(`${what}: ${command} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

// --- the profile side ---

function profileJson(workload, policy) {
  const file = path.join(work, `${path.basename(workload)}.${policy}.json`);
  if (!fs.existsSync(file))
    must(opscope, ['profile', workload, '--policy', policy, '--format', 'json', '-o', file, '--sample-rate', '20000',
                   ...(counted.includes(policy) ? ['--inclusive'] : [])],
         `profiling ${workload}`);
  return { file, doc: JSON.parse(fs.readFileSync(file, 'utf8')), name: `${path.basename(workload)} ${policy}` };
}
function exported(json, format, args, suffix) {
  const out = json.file.replace(/\.json$/, '') + suffix;
  must(opscope, ['export', json.file, '--format', format, ...args, '-o', out], `exporting ${json.name} as ${format}`);
  return out;
}
const stacks = (doc) => doc.call_stacks ?? [];
const totalSamples = (doc) => stacks(doc).reduce((sum, s) => sum + s.samples, 0);
const totalTime = (doc) => stacks(doc).reduce((sum, s) => sum + (s.time_ns ?? 0), 0);
function leafTotals(doc, field) {
  const out = {};
  for (const s of stacks(doc)) add(out, s.frames[s.frames.length - 1], s[field] ?? 0);
  return sorted(out);
}
function instructionsByFunction(doc) {
  const out = {};
  for (const h of doc.hotspots ?? []) add(out, h.function, h.count);
  return sorted(out);
}
function instructionsByLine(doc) {
  const out = {};
  for (const l of doc.lines ?? []) add(out, String(l.line), l.count);
  return sorted(out);
}
const sumOf = (map) => Object.values(map).reduce((a, b) => a + b, 0);

// --- go tool pprof ---

// `go tool pprof -raw`: the samples' values (leaf-first location ids) and each location's function.
function pprofRaw(args, what) {
  const text = must('go', ['tool', 'pprof', '-raw', ...args], what).stdout;
  const samples = [], functions = {};
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^(Samples|Locations|Mappings):?\s*$/.exec(line);
    if (header) { section = header[1]; continue; }
    if (section === 'Samples') {
      const m = /^\s*(-?\d+(?:\s+-?\d+)*): ((?:\d+ ?)+)\s*$/.exec(line);
      if (m) samples.push({ values: m[1].trim().split(/\s+/).map(Number), locations: m[2].trim().split(' ').map(Number) });
    } else if (section === 'Locations') {
      const m = /^\s*(\d+): 0x[0-9a-f]+ M=\d+ (\S+) /.exec(line);
      if (m) functions[m[1]] = m[2];
    }
  }
  const leaf = (index) => {
    const out = {};
    for (const s of samples) add(out, functions[s.locations[0]], s.values[index]);
    return sorted(out);
  };
  return { text, samples, leaf };
}
// `go tool pprof -top`: the total of "Showing nodes accounting for X, P% of TOTAL total".
function pprofTopTotal(args, what) {
  const text = must('go', ['tool', 'pprof', '-top', ...args], what).stdout;
  const m = /of (\S+) total/.exec(text);
  return m ? number(m[1]) : 0;
}

function checkPprofGo() {
  for (const workload of workloads) {
    for (const policy of sampled) {
      const json = profileJson(workload, policy);
      const pb = exported(json, 'pprof', ['--metric', 'cpu'], '.cpu.pb.gz');
      const raw = pprofRaw([pb], `go tool pprof -raw ${json.name}`);
      same(`${json.name} cpu: samples per leaf function`, raw.leaf(0), leafTotals(json.doc, 'samples'));
      same(`${json.name} cpu: nanoseconds per leaf function`, raw.leaf(1), leafTotals(json.doc, 'time_ns'));
      const total = totalSamples(json.doc);
      if (total > 0) same(`${json.name} cpu: -top total samples`, pprofTopTotal(['-sample_index=samples', pb], 'top'), total);
      console.log(`pprof-go ${json.name}: cpu samples ${sumOf(raw.leaf(0))} = ${total}, ns ${sumOf(raw.leaf(1))} = ${totalTime(json.doc)}`);
    }
    for (const policy of policies) {
      const json = profileJson(workload, policy);
      const pb = exported(json, 'pprof', ['--metric', 'instructions'], '.instructions.pb.gz');
      const raw = pprofRaw([pb], `go tool pprof -raw ${json.name}`);
      const want = instructionsByFunction(json.doc);
      same(`${json.name} instructions per function`, raw.leaf(0), want);
      const total = json.doc.summary.total_instructions;
      same(`${json.name} -top total instructions`, pprofTopTotal(['-sample_index=instructions', pb], 'top'), total);
      // -tagfocus on the opcode label: exactly the hotspots of that opcode.
      const calls = (json.doc.hotspots ?? []).filter(h => h.opcode === 'call').reduce((s, h) => s + h.count, 0);
      const focused = pprofRaw(['-tagfocus=opcode=^call$', pb], 'tagfocus');
      same(`${json.name} -tagfocus=opcode=call total`, sumOf(focused.leaf(0)), calls);
      // -list: the annotated source of every function, each line's flat count == the JSON's line count.
      const listed = {};
      for (const l of must('go', ['tool', 'pprof', '-list=.', pb], 'list').stdout.split('\n')) {
        const m = /^\s+(\.|\d+)\s+(\.|\d+)\s+(\d+):/.exec(l);
        if (m && m[1] !== '.') add(listed, m[3], Number(m[1]));
      }
      same(`${json.name} -list: instructions per source line`, sorted(listed), instructionsByLine(json.doc));
      let line = `pprof-go ${json.name}: instructions ${sumOf(raw.leaf(0))} = ${total}, call opcodes ${sumOf(focused.leaf(0))} = ${calls}, ${Object.keys(listed).length} listed lines equal`;
      if (policy === 'full') {
        // merge: opscope's merge of a profile with itself == go's own merge of the two exports; -diff_base
        // of the merged against one run leaves one run.
        const merged = { file: json.file.replace(/\.json$/, '.merged.json'), name: `${json.name} merged` };
        must(opscope, ['merge', json.file, json.file, '-o', merged.file], 'merge');
        const mpb = exported(merged, 'pprof', ['--metric', 'instructions'], '.instructions.pb.gz');
        const twice = Object.fromEntries(Object.entries(want).map(([k, v]) => [k, 2 * v]));
        same(`${json.name} merge == go's merge of A and A`, pprofRaw([mpb], 'merged').leaf(0), pprofRaw([pb, pb], 'go merge').leaf(0));
        same(`${json.name} merge == 2 x per function`, pprofRaw([mpb], 'merged').leaf(0), twice);
        const diff = pprofRaw([`-diff_base=${pb}`, mpb], 'diff_base');
        same(`${json.name} -diff_base: merged - one run per function`, diff.leaf(0), want);
        line += `, merged ${sumOf(twice)}, diff_base ${sumOf(diff.leaf(0))} = ${total}`;
      }
      console.log(line);
    }
  }
}

// --- npm pprof-format, with Parca's and Pyroscope's structural rules ---

async function checkPprofFormat() {
  const { Profile } = await import(path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules/pprof-format/dist/esm/index.js'));
  const decode = (file) => {
    const p = Profile.decode(zlib.gunzipSync(fs.readFileSync(file)));
    const S = p.stringTable.strings;
    const problems = [];
    if (S[0] !== '') problems.push('string_table[0] is not ""');
    p.function.forEach((f, i) => Number(f.id) === i + 1 || problems.push('function ids not 1..N'));
    p.mapping.forEach((m, i) => Number(m.id) === i + 1 || problems.push('mapping ids not 1..N'));
    p.location.forEach((l, i) => {
      Number(l.id) === i + 1 || problems.push('location ids not 1..N');
      l.line.forEach(x => (Number(x.functionId) >= 1 && Number(x.functionId) <= p.function.length) || problems.push('dangling function'));
      (Number(l.mappingId) >= 1 && Number(l.mappingId) <= p.mapping.length) || problems.push('dangling mapping');
    });
    p.sampleType.forEach(t => S[Number(t.type)].includes('-') && problems.push('"-" in a sample type name (Pyroscope)'));
    const strings = [...S].every(s => typeof s === 'string' && !s.includes('\uFFFD'));
    if (!strings) problems.push('a string is not valid UTF-8');
    const leaf = {};
    for (const s of p.sample) {
      s.value.length === p.sampleType.length || problems.push('value count != sample type count');
      s.locationId.forEach(id => (Number(id) >= 1 && Number(id) <= p.location.length) || problems.push(`dangling location ${id}`));
      s.label.forEach(l => (Number(l.key) !== 0 && (Number(l.str) !== 0 || Number(l.numUnit) !== 0)) || problems.push('label without key or value'));
      const f = p.function[Number(p.location[Number(s.locationId[0]) - 1].line[0].functionId) - 1];
      add(leaf, S[Number(f.name)], Number(s.value[0]));
    }
    return { types: p.sampleType.map(t => `${S[Number(t.type)]}/${S[Number(t.unit)]}`), problems: [...new Set(problems)], leaf: sorted(leaf), timeNanos: Number(p.timeNanos) };
  };
  for (const workload of workloads) {
    for (const policy of policies) {
      const json = profileJson(workload, policy);
      const metrics = sampled.includes(policy) ? ['cpu', 'instructions'] : ['instructions'];
      for (const metric of metrics) {
        const d = decode(exported(json, 'pprof', ['--metric', metric], `.${metric}.pb.gz`));
        same(`${json.name} ${metric}: structural problems`, d.problems, []);
        same(`${json.name} ${metric}: sample types`, d.types, metric === 'cpu' ? ['samples/count', 'cpu/nanoseconds'] : ['instructions/count']);
        const want = metric === 'cpu' ? leafTotals(json.doc, 'samples') : instructionsByFunction(json.doc);
        same(`${json.name} ${metric}: per leaf function`, d.leaf, want);
        checks++;
        if (!(d.timeNanos > 1.5e18)) fail(`${json.name} ${metric}`, `time_nanos ${d.timeNanos} is not a time of this century`);
        console.log(`pprof-format ${json.name} ${metric}: valid, total ${sumOf(d.leaf)} = ${sumOf(want)}`);
      }
    }
  }
}

// --- callgrind_annotate ---

// Its output: PROGRAM TOTALS, the per-function list ("file:function") and the auto-annotated source lines.
function parseAnnotate(text, events) {
  const column = String.raw`\s*(\.|[\d,]+)(?:\s+\(\s*[\d.]+%\))?`;
  const costs = new RegExp(`^${column.repeat(events)}\\s\\s?(.*)$`);
  const result = { totals: null, functions: {}, lines: {}, calls: {} };
  let part = 'head', lineNumber = 0;
  for (const line of text.split('\n')) {
    if (/PROGRAM TOTALS$/.test(line)) { result.totals = costs.exec(line)?.slice(1, events + 1).map(number); continue; }
    if (/file:function$/.test(line)) { part = 'functions'; continue; }
    if (/^-- Auto-annotated source:/.test(line)) { part = 'source'; lineNumber = 0; continue; }
    if (/^-- line (\d+) -+$/.test(line)) { lineNumber = Number(/\d+/.exec(line)[0]) - 1; continue; }
    if (/events annotated$/.test(line) || /^-+$/.test(line) || /^Ir\b/.test(line.trim()) || line === '') continue;
    const m = costs.exec(line);
    if (!m) continue;
    // A call's inclusive cost under its line ("=> file:callee (Nx)"), not a line of its own.
    const call = /^\s*=> .*:([^:]+) \(([\d,]+)x\)$/.exec(m[events + 1]);
    if (call) {
      result.calls[`line ${lineNumber} -> ${call[1]}`] = `${number(m[1])} in ${number(call[2])} calls`;
      continue;
    }
    if (part === 'functions') result.functions[m[events + 1].trim()] = number(m[1]);
    else if (part === 'source') {
      lineNumber++;
      if (m[1] !== '.') add(result.lines, String(lineNumber), number(m[1]));
    }
  }
  return result;
}

// The functions that can reach themselves through the call graph (direct or mutual recursion).
function recursiveFunctions(doc) {
  const callees = {};
  for (const e of doc.call_graph) if (e.caller !== '') (callees[e.caller] ??= new Set()).add(e.callee);
  const reaches = (from, target) => {
    const seen = new Set(), todo = [...(callees[from] ?? [])];
    while (todo.length) {
      const f = todo.pop();
      if (f === target) return true;
      if (seen.has(f)) continue;
      seen.add(f);
      todo.push(...(callees[f] ?? []));
    }
    return false;
  };
  return new Set(Object.keys(callees).filter((f) => reaches(f, f)));
}

function checkCallgrind() {
  for (const workload of workloads) {
    for (const policy of policies) {
      const json = profileJson(workload, policy);
      const file = exported(json, 'callgrind', [], '.callgrind');
      const events = /^events: (.*)$/m.exec(fs.readFileSync(file, 'utf8'))[1].trim().split(/\s+/).length;
      const r = run('callgrind_annotate', ['--auto=yes', '--threshold=100', file], { cwd: path.dirname(workload) });
      checks++;
      if (r.status !== 0 || /WARNING/.test(r.stderr)) fail(json.name, `callgrind_annotate exited ${r.status}: ${r.stderr}`);
      const a = parseAnnotate(r.stdout, events);
      const total = json.doc.summary.total_instructions;
      same(`${json.name}: PROGRAM TOTALS Ir`, a.totals?.[0], total);
      const want = {};
      for (const [f, n] of Object.entries(instructionsByFunction(json.doc))) want[f] = n;
      const shown = {};
      for (const [name, n] of Object.entries(a.functions)) add(shown, name.slice(name.lastIndexOf(':') + 1), n);
      same(`${json.name}: Ir per function`, sorted(shown), want);
      same(`${json.name}: Ir per annotated source line`, sorted(a.lines), instructionsByLine(json.doc));
      let line = `callgrind ${json.name}: PROGRAM TOTALS ${a.totals?.[0]} = ${total}, ${Object.keys(a.lines).length} lines equal`;
      const hasInclusive = counted.includes(policy);
      same(`${json.name}: calls= lines present`, /^calls=/m.test(fs.readFileSync(file, 'utf8')),
           hasInclusive && json.doc.call_graph.some((e) => e.caller !== '' && (e.sites ?? []).length > 0));
      if (hasInclusive) {
        const inc = run('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { cwd: path.dirname(workload) });
        const shownInclusive = {};
        for (const [name, n] of Object.entries(parseAnnotate(inc.stdout, events).functions))
          add(shownInclusive, name.slice(name.lastIndexOf(':') + 1), n);
        same(`${json.name}: main's inclusive Ir (--inclusive=yes)`, shownInclusive.main, total);
        const inclusive = {}, calls = {}, sites = {};
        for (const e of json.doc.call_graph)
          for (const site of e.sites ?? []) {
            const key = `line ${site.line} -> ${e.callee}`;
            add(inclusive, key, site.inclusive_instructions);
            add(calls, key, site.calls);
            sites[key] = `${inclusive[key]} in ${calls[key]} calls`;
          }
        same(`${json.name}: each call line's inclusive Ir and calls (=> lines)`, sorted(a.calls), sorted(sites));
        // callgrind_annotate adds up every calls= line, so a function that can reach itself (recursion)
        // shows its nested activations again; any other shows exactly the profile's inclusive count.
        const recursive = recursiveFunctions(json.doc);
        const want = {}, shown = {};
        for (const f of json.doc.functions)
          if (!f.native && !recursive.has(f.name) && f.inclusive_instructions > 0) {
            want[f.name] = f.inclusive_instructions;
            shown[f.name] = shownInclusive[f.name];
          }
        same(`${json.name}: inclusive Ir of the functions that do not recurse (--inclusive=yes)`, shown, want);
        line += `, main inclusive ${shownInclusive.main} = ${total}, ${Object.keys(want).length} more functions' inclusive equal`;
      } else {
        line += ', no calls= lines (the policy counts no inclusive instructions)';
      }
      console.log(line);
    }
  }
}

// --- flamegraph.pl ---

function checkFlamegraph() {
  const fg = process.env.FLAMEGRAPH_PL;
  for (const workload of workloads) {
    for (const policy of sampled) {
      const json = profileJson(workload, policy);
      const variants = [['samples', [], totalSamples(json.doc)], ['samples', ['--no-lines'], totalSamples(json.doc)],
                        ['ns', ['--weight', 'time'], totalTime(json.doc)]];
      const shown = [];
      for (const [unit, args, want] of variants) {
        const folded = exported(json, 'folded', args, `${args.join('')}.folded`);
        if (want === 0) {  // no sample landed: nothing to draw (flamegraph.pl refuses an empty input)
          same(`${json.name} ${args.join(' ')}: folded of no samples is empty`, fs.readFileSync(folded, 'utf8'), '');
          shown.push(`0 ${unit} (nothing to draw)`);
          continue;
        }
        const r = run('perl', [fg, '--countname', unit, folded]);
        checks++;
        if (r.status !== 0 || r.stderr !== '') fail(`${json.name} ${args.join(' ')}`, `flamegraph.pl exited ${r.status}: ${r.stderr}`);
        const m = new RegExp(`<title>all \\(([\\d,]+) ${unit}, 100%\\)`).exec(r.stdout);
        same(`${json.name} ${args.join(' ')}: SVG total`, m ? number(m[1]) : null, want);
        shown.push(`${m ? number(m[1]) : '?'} = ${want} ${unit}`);
      }
      console.log(`flamegraph ${json.name}: ${shown.join(', ')}`);
    }
  }
}

// --- flamegraph.pl on `opscope diff --format folded` (two count columns: base, new) ---

// Each workload profiled twice (a second run, as a CI gate compares two); the differential folded stacks of
// the two, by samples and by exact instructions, drawn by flamegraph.pl: exit 0, empty stderr, and the SVG's
// total == the new profile's (flamegraph.pl draws the widths from the second column, colours from the delta).
function checkFlamegraphDiff() {
  const fg = process.env.FLAMEGRAPH_PL;
  for (const workload of workloads) {
    const base = profileJson(workload, 'timing');
    const nextFile = base.file.replace(/\.json$/, '.again.json');
    must(opscope, ['profile', workload, '--policy', 'timing', '--format', 'json', '-o', nextFile, '--sample-rate', '20000'],
         `profiling ${workload} again`);
    const next = JSON.parse(fs.readFileSync(nextFile, 'utf8'));
    const shown = [];
    for (const [metric, unit, want] of [['samples', 'samples', totalSamples(next)],
                                        ['instructions', 'instructions', next.summary.total_instructions]]) {
      const out = base.file.replace(/\.json$/, `.diff.${metric}.folded`);
      must(opscope, ['diff', base.file, nextFile, '--format', 'folded', '--metric', metric, '-o', out],
           `diffing ${base.name} (${metric})`);
      const text = fs.readFileSync(out, 'utf8');
      checks++;
      if (!/^(.+ \d+ \d+\n)*$/.test(text)) fail(`${base.name} diff ${metric}`, 'a line is not `stack base new`');
      if (want === 0) { shown.push(`0 ${unit} (nothing to draw)`); continue; }
      const r = run('perl', [fg, '--countname', unit, out]);
      checks++;
      if (r.status !== 0 || r.stderr !== '') fail(`${base.name} diff ${metric}`, `flamegraph.pl exited ${r.status}: ${r.stderr}`);
      const m = new RegExp(`<title>all \\(([\\d,]+) ${unit}, 100%\\)`).exec(r.stdout);
      same(`${base.name} diff ${metric}: SVG total`, m ? number(m[1]) : null, want);
      shown.push(`${m ? number(m[1]) : '?'} = ${want} ${unit}`);
    }
    console.log(`flamegraph-diff ${base.name}: ${shown.join(', ')}`);
  }
}

try {
  if (reader === 'pprof-go') checkPprofGo();
  else if (reader === 'pprof-format') await checkPprofFormat();
  else if (reader === 'callgrind') checkCallgrind();
  else if (reader === 'flamegraph') checkFlamegraph();
  else if (reader === 'flamegraph-diff') checkFlamegraphDiff();
  else throw new Error(`unknown reader ${reader}`);
} catch (e) {
  fail('run', e.message);
}
console.log(`${reader}: ${checks} checks, ${failures} failed`);
process.exit(failures ? 1 : 0);
