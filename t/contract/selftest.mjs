// The validator itself: it must refuse what the document does not
// describe.  Runs validate.mjs on crafted records (deploy/dev test).
//
//   node --test t/contract/selftest.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mp-contract-'));
const noPending = join(dir, 'pending.json');
writeFileSync(noPending, '[]');
const rid = { 'x-request-id': 'abc123' };
const health = {
  method: 'GET', target: '/health', status: 200,
  headers: { ...rid, 'content-type': 'application/json' },
  body: '{"status":"ok","timestamp":"2026-11-25T19:06:27.123Z"}',
};

function run(records) {
  const f = join(dir, `r${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(f, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const p = spawnSync(process.execPath, [join(here, 'validate.mjs'), f, '--pending', noPending], { encoding: 'utf8' });
  return { code: p.status, out: p.stdout + p.stderr };
}
function refused(rec, why) {
  const r = run([health, rec]);
  assert.equal(r.code, 1, `accepted ${why}:\n${r.out}`);
}

test('a described response passes and is counted', () => {
  const r = run([health, { ...health, method: 'HEAD', body: '' }]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /2 responses validated/);
});
test('an undescribed route or status fails', () => {
  refused({ ...health, target: '/nowhere', status: 200 }, 'a 200 on an unknown route');
  refused({ ...health, status: 418 }, 'a status the operation does not list');
});
test('a member the schema does not have fails', () => {
  refused({ ...health, body: '{"status":"ok","timestamp":"2026-11-25T19:06:27.123Z","x":1}' }, 'an extra member');
});
test('a wrong type or a malformed timestamp fails', () => {
  refused({ ...health, body: '{"status":"ok","timestamp":"yesterday"}' }, 'a bad timestamp');
});
test('a missing required header fails', () => {
  refused({ ...health, headers: { 'content-type': 'application/json' } }, 'no X-Request-Id');
});
test('a content type the response does not declare fails', () => {
  refused({ ...health, headers: { ...rid, 'content-type': 'text/html' } }, 'text/html');
});
test('a problem type not listed for the status fails', () => {
  refused({
    method: 'GET', target: '/api/loops/6f1c0000-0000-4000-8000-000000000000', status: 404,
    headers: { ...rid, 'content-type': 'application/problem+json' },
    body: JSON.stringify({ type: 'https://api.musicplayground.dev/problems/forbidden', title: 'Not Found',
      status: 404, detail: 'x', error: 'Loop not found' }),
  }, 'a 404 typed forbidden');
});
test('a body on a 204 fails', () => {
  refused({ method: 'DELETE', target: '/api/loops/6f1c0000-0000-4000-8000-000000000000', status: 204,
    headers: rid, body: '{}' }, 'a body on 204');
});
test('no records at all fails', () => {
  assert.equal(run([]).code, 1);
});
test('a pending entry excuses only its own difference, and a stale one fails', () => {
  const pend = join(dir, 'p2.json');
  writeFileSync(pend, JSON.stringify([{ operation: 'GET /health', status: 200,
    match: ["must NOT have additional properties"], reason: 'test' }]));
  const extra = { ...health, body: '{"status":"ok","timestamp":"2026-11-25T19:06:27.123Z","x":1}' };
  const v = (recs) => spawnSync(process.execPath, [join(here, 'validate.mjs'),
    (writeFileSync(join(dir, 'p.jsonl'), recs.map((r) => JSON.stringify(r)).join('\n')), join(dir, 'p.jsonl')),
    '--pending', pend], { encoding: 'utf8' }).status;
  assert.equal(v([health, extra]), 0);
  assert.equal(v([health, { ...extra, headers: { 'content-type': 'application/json' } }]), 1);
  assert.equal(v([health]), 1);
});
