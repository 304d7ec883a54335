// Validate every response the integration tests received against
// doc/openapi.json, in one pass after the suite.
//
//   node t/contract/validate.mjs RESPONSES.jsonl [--doc doc/openapi.json] [--pending FILE]
//
// RESPONSES.jsonl is what t/itlib.c appends when MP_TEST_RECORD names a
// file: one JSON object per response, {method, target, status, headers
// (lower-cased names), body (text)}.  A response fails when the document
// does not describe it: an unknown route or method, a status the
// operation (or x-responses-for-any-request / -unknown-routes) does not
// list, a required header missing or malformed, a Content-Type the
// response does not declare, a body where none is declared, or a body
// that does not match the schema.  Exit status 1 on any failure.
//
// t/contract/pending.json may list differences that are known and owned
// by a branch not merged yet ({operation, status, match, reason}): a
// response of that operation and status whose every error contains one
// of the match strings is reported as pending instead of failing (any
// other error still fails it), and an entry that matches nothing fails
// the run, so the list cannot go stale.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
function option(name, def) {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}
const docPath = option('--doc', join(here, '..', '..', 'doc', 'openapi.json'));
const pendingPath = option('--pending', join(here, 'pending.json'));
const recPath = args[0];
if (!recPath || args.length !== 1) {
  console.error('usage: validate.mjs RESPONSES.jsonl [--doc openapi.json] [--pending pending.json]');
  process.exit(2);
}
const pending = existsSync(pendingPath) ? JSON.parse(readFileSync(pendingPath, 'utf8')) : [];

const doc = JSON.parse(readFileSync(docPath, 'utf8'));
const SCHEMAS_ID = 'mp:schemas';

// Component schemas under one id; every '#/components/schemas/X' points
// there, so inline schemas of responses compile on their own.
function rewriteRefs(v) {
  if (Array.isArray(v)) return v.map(rewriteRefs);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string' && x.startsWith('#/components/schemas/'))
        o[k] = `${SCHEMAS_ID}#/$defs/${x.slice('#/components/schemas/'.length)}`;
      else o[k] = rewriteRefs(x);
    }
    return o;
  }
  return v;
}
const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
addFormats(ajv);
ajv.addSchema({ $id: SCHEMAS_ID, $defs: rewriteRefs(doc.components.schemas) });

function pointer(ref) {
  if (!ref.startsWith('#/')) throw new Error(`external $ref ${ref}`);
  return ref.slice(2).split('/').reduce((o, p) => o?.[p.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}
function deref(o) {
  while (o && o.$ref) o = pointer(o.$ref);
  return o;
}
const compiled = new Map();
function validator(schema) {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile(rewriteRefs(schema)));
  return compiled.get(key);
}

// Path templates, most literal segments first (so /api/users/me wins
// over /api/users/{username}).
const templates = Object.keys(doc.paths).map((t) => {
  const segs = t.split('/').slice(1);
  return { t, segs, literals: segs.filter((s) => !s.startsWith('{')).length };
}).sort((a, b) => b.literals - a.literals);

function matchPath(rawPath) {
  let p = rawPath;
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  if (!p.startsWith('/')) return null;
  let segs;
  try {
    segs = p === '/' ? [] : p.slice(1).split('/').map((s) => {
      const d = decodeURIComponent(s);
      if (d === '' || d.includes('\0')) throw new Error('bad segment');
      return d;
    });
  } catch {
    return null;
  }
  for (const tp of templates) {
    if (tp.segs.length !== segs.length) continue;
    if (tp.segs.every((s, i) => s.startsWith('{') || s === segs[i])) return tp.t;
  }
  return null;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];
const anyRequest = doc['x-responses-for-any-request'].responses;
const unknownRoute = doc['x-responses-for-unknown-routes'].responses;
const optionsResponses = doc['x-responses-for-options'].responses;

function mediaType(ct) {
  return (ct || '').split(';')[0].trim().toLowerCase();
}

// Check one recorded response against response object r; returns a
// list of messages (empty when it conforms).
function checkResponse(rec, r, isHead) {
  const errs = [];
  r = deref(r);
  for (const [name, h0] of Object.entries(r.headers || {})) {
    const h = deref(h0);
    const v = rec.headers[name.toLowerCase()];
    if (v === undefined) {
      if (h.required) errs.push(`header ${name} is missing`);
      continue;
    }
    const schema = h.schema || {};
    let value = v;
    if (schema.type === 'integer') {
      if (!/^[0-9]+$/.test(v)) { errs.push(`header ${name}: "${v}" is not an integer`); continue; }
      value = Number(v);
    }
    const val = validator(schema);
    if (!val(value)) errs.push(`header ${name}: "${v}" ${ajv.errorsText(val.errors)}`);
  }
  const hasBody = rec.body !== '' && rec.body !== undefined && rec.body !== null;
  if (isHead || rec.status === 204 || rec.status === 304) {
    if (hasBody) errs.push('a body on a response that has none');
    return errs;
  }
  const content = r.content || {};
  const types = Object.keys(content);
  if (types.length === 0) {
    if (hasBody) errs.push(`a body (${mediaType(rec.headers['content-type'])}) where the document declares none`);
    return errs;
  }
  const mt = mediaType(rec.headers['content-type']);
  if (!types.includes(mt)) {
    errs.push(`Content-Type ${mt || '(none)'} is not one of ${types.join(', ')}`);
    return errs;
  }
  const schema = content[mt].schema || {};
  let body = rec.body;
  if (mt.endsWith('json')) {
    try { body = JSON.parse(rec.body); } catch (e) { errs.push(`body is not JSON: ${e.message}`); return errs; }
  }
  const val = validator(schema);
  if (!val(body)) {
    for (const e of val.errors.slice(0, 8))
      errs.push(`body${e.instancePath} ${e.message}${e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : ''}`);
  }
  return errs;
}

const lines = readFileSync(recPath, 'utf8').split('\n').filter((l) => l.trim() !== '');
const failures = [];
const pendingHits = new Map();
const seenOps = new Map();
let validated = 0;

for (const [i, line] of lines.entries()) {
  let rec;
  try { rec = JSON.parse(line); } catch (e) {
    failures.push({ op: 'record', status: '-', where: `line ${i + 1}`, errs: [`unreadable record: ${e.message}`] });
    continue;
  }
  const method = String(rec.method || '').toLowerCase();
  const target = String(rec.target || '');
  const path = target.split('?')[0];
  const status = String(rec.status);
  const template = matchPath(path);
  const item = template ? doc.paths[template] : null;
  const isHead = method === 'head';
  const opMethod = isHead ? 'get' : method;
  const op = item && METHODS.includes(opMethod) ? item[opMethod] : null;
  let resp = null, opName;
  if (op) {
    opName = `${opMethod.toUpperCase()} ${template}`;
    resp = op.responses[status] ?? anyRequest[status];
  } else if (item) {
    opName = `${method.toUpperCase()} ${template} (no such operation)`;
    resp = (method === 'options' ? optionsResponses[status] : undefined) ?? anyRequest[status];
  } else {
    opName = '(no route)';
    resp = unknownRoute[status] ?? anyRequest[status];
  }
  const key = `${opName} ${status}`;
  seenOps.set(key, (seenOps.get(key) || 0) + 1);
  const errs = resp ? checkResponse(rec, resp, isHead) :
    [`status ${status} is not described for ${opName}`];
  if (errs.length === 0) { validated++; continue; }
  const p = pending.find((e) => e.operation === opName && String(e.status) === status &&
    errs.every((m) => e.match.some((x) => m.includes(x))));
  if (p) {
    pendingHits.set(p, (pendingHits.get(p) || 0) + 1);
    continue;
  }
  failures.push({ op: opName, status, where: `${rec.method} ${target}`, errs, body: rec.body });
}

// Coverage: which documented operations and statuses the suite reached.
const ops = [];
for (const [t, item] of Object.entries(doc.paths))
  for (const m of METHODS) if (item[m]) ops.push(`${m.toUpperCase()} ${t}`);
const reached = new Set([...seenOps.keys()].map((k) => k.replace(/ [0-9]{3}$/, '')));
const notReached = ops.filter((o) => !reached.has(o));
const statuses = {};
for (const [k, n] of seenOps) {
  const m = k.match(/^(.*) ([0-9]{3})$/);
  (statuses[m[1]] ||= []).push(`${m[2]}×${n}`);
}

if (process.env.MP_CONTRACT_VERBOSE) {
  for (const o of Object.keys(statuses).sort()) console.log(`  ${o}: ${statuses[o].sort().join(' ')}`);
}
// Failures grouped by operation, status and what is wrong, with one
// example each.
const groups = new Map();
for (const f of failures) {
  const k = `${f.op} ${f.status}: ${f.errs.join('; ')}`;
  if (!groups.has(k)) groups.set(k, { n: 0, f });
  groups.get(k).n++;
}
for (const { n, f } of groups.values()) {
  console.error(`contract: FAIL ${n} × ${f.op} ${f.status}, e.g. ${f.where}`);
  for (const e of f.errs) console.error(`    ${e}`);
  if (f.body) console.error(`    body: ${String(f.body).slice(0, 400)}`);
}
for (const p of pending) {
  const n = pendingHits.get(p) || 0;
  if (n === 0) {
    console.error(`contract: FAIL stale entry in t/contract/pending.json (nothing matches it): ${p.operation} ${p.status}`);
    failures.push({ op: 'pending.json', status: '-', where: `${p.operation} ${p.status}`, errs: ['stale entry'] });
  } else {
    console.log(`contract: pending ${n} × ${p.operation} ${p.status}: ${p.reason}`);
  }
}
console.log(`contract: ${validated} responses validated against doc/openapi.json, ` +
  `${failures.length} not described, ${[...pendingHits.values()].reduce((a, b) => a + b, 0)} pending; ` +
  `${ops.length - notReached.length} of ${ops.length} operations exercised`);
if (notReached.length) console.log(`contract: not exercised by any test: ${notReached.join(', ')}`);
process.exit(failures.length > 0 || lines.length === 0 ? 1 : 0);
