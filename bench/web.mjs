// bench/web.mjs URL: page weight and speed of the composer (issue 12).
//
//  1. JavaScript of the first view: every script the page loads before it
//     is ready (the Tone.js chunk is loaded only on the first Play, and is
//     listed apart), raw, as nginx sends it gzipped, and at gzip -9.
//  2. First render on a throttled profile through CDP (Slow 4G: 150 ms
//     RTT, 1.6 Mbit/s down, 750 kbit/s up; CPU slowed 4x): first
//     contentful paint and "app ready" (the view rendered from local
//     storage), cold (new profile) and warm (the service worker's cache),
//     medians of BENCH_WEB_RUNS runs.
//  3. Back online → "All changes synced": 100 loops made offline (100
//     creates) and 100 edits of 20 synced loops (coalesced to 20 puts),
//     timed in the page from the `online` event to the status text; the
//     baseline is the same number of PUTs sent by Node over keep-alive
//     HTTP in the same run, so the ratio is the client's overhead.
//
// Prints a table; bench/web runs it against a private stack.
import { chromium } from '../web/node_modules/playwright-core/index.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import http from 'node:http';
import { randomUUID } from 'node:crypto';

const BASE = process.argv[2] ?? 'http://127.0.0.1:18191';
const RUNS = Number(process.env.BENCH_WEB_RUNS ?? 5);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

async function browser() {
  const dir = mkdtempSync(join(tmpdir(), 'mp-bench-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: process.env.MP_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ARGS, viewport: { width: 1280, height: 800 } });
  return { context, close: async () => { await context.close(); rmSync(dir, { recursive: true, force: true }); } };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

function rawGet(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

async function pageWeight() {
  const { context, close } = await browser();
  const page = context.pages()[0] ?? (await context.newPage());
  const scripts = new Set();
  page.on('request', (r) => { if (r.resourceType() === 'script' && r.url().startsWith('http')) scripts.add(r.url()); });
  await page.goto(`${BASE}/#/loops`);
  await page.waitForSelector('html[data-ready="true"]');
  const firstView = [...scripts];
  // The lazily loaded audio engine: what the first Play costs on top.
  await page.goto(`${BASE}/#/loop/new`);
  await page.waitForSelector('html[data-ready="true"]');
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await page.waitForFunction(() => document.querySelector('[aria-label="Playback"]')?.getAttribute('data-audio-state') === 'running', undefined, { timeout: 20000 }).catch(() => {});
  const lazy = [...scripts].filter((u) => !firstView.includes(u));
  await close();
  const measure = async (urls) => {
    let raw = 0, wire = 0, gz9 = 0;
    for (const u of urls) {
      const plain = await rawGet(u);
      const zipped = await rawGet(u, { 'Accept-Encoding': 'gzip' });
      raw += plain.body.length;
      wire += zipped.body.length;
      gz9 += gzipSync(plain.body, { level: 9 }).length;
    }
    return { files: urls.length, raw, wire, gz9 };
  };
  return { first: await measure(firstView), lazy: await measure(lazy) };
}

async function throttled(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 150, downloadThroughput: (1.6 * 1024 * 1024) / 8, uploadThroughput: (750 * 1024) / 8 });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  return cdp;
}

async function firstRender() {
  const cold = { fcp: [], ready: [] };
  const warm = { fcp: [], ready: [] };
  for (let i = 0; i < RUNS; i++) {
    const { context, close } = await browser();
    const page = context.pages()[0] ?? (await context.newPage());
    await throttled(page);
    const t = async (into) => {
      await page.waitForSelector('html[data-ready="true"]', { timeout: 60000 });
      const r = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        return { fcp: fcp ? fcp.startTime : NaN, ready: performance.now(), start: nav ? nav.startTime : 0 };
      });
      into.fcp.push(r.fcp);
      into.ready.push(r.ready - r.start);
    };
    await page.goto(`${BASE}/#/loops`);
    await t(cold);
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
    await page.waitForFunction(() => !!navigator.serviceWorker.controller, undefined, { timeout: 30000 });
    await page.reload();
    await t(warm);
    await close();
  }
  return { cold: { fcp: median(cold.fcp), ready: median(cold.ready) }, warm: { fcp: median(warm.fcp), ready: median(warm.ready) } };
}

async function api(method, path, token, body, headers = {}) {
  const r = await fetch(BASE + path, { method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function signUpUser() {
  const name = 'bench' + Date.now().toString(36) + Math.floor(Math.random() * 1e6).toString(36);
  const r = await api('POST', '/api/auth/signup', null, { email: `${name}@example.com`, username: name, password: 'correct horse battery staple' });
  if (r.status !== 201) throw new Error(`signup ${r.status} ${JSON.stringify(r.body)}`);
  return { name, token: r.body.token, user: r.body.user, expiresAt: r.body.expiresAt };
}

const loopBody = (name, i) => ({ name, bars: 1, color: '#FFD11A', bpm: 120, chordProgression: [{ bar: 0, chord: 'Am7' }], iconSequence: [{ bar: i % 16, row: 0, soundId: 'kick', velocity: 0.8, pitch: 36, duration16: 1 }], schemaVersion: 1, isPublic: false });

/** The baseline: n PUTs straight from Node, one after the other. */
async function rawPuts(n) {
  const u = await signUpUser();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await api('PUT', `/api/loops/${randomUUID()}`, u.token, loopBody(`raw ${i}`, i), { 'If-None-Match': '*' });
    if (r.status !== 201) throw new Error(`raw put ${r.status}`);
  }
  return performance.now() - t0;
}

/** Signs the page in with a fresh account (through the app's own path). */
async function signedInPage() {
  const { context, close } = await browser();
  const page = context.pages()[0] ?? (await context.newPage());
  const u = await signUpUser();
  await page.goto(`${BASE}/#/signin`);
  await page.waitForSelector('html[data-ready="true"]');
  await page.getByLabel('Email').fill(`${u.name}@example.com`);
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/#\/loops$/);
  return { context, page, close, u };
}

const waitSynced = (page) => page.waitForFunction(() => { const s = document.getElementById('sync-status'); return s && s.textContent === 'All changes synced' && s.dataset.pending === '0'; }, undefined, { timeout: 120000 });

/** Goes offline, runs `queue` in the page, comes back; ms from online to synced. */
async function backOnline(page, context, queue, arg) {
  await waitSynced(page);
  await context.setOffline(true);
  await page.evaluate(queue, arg);
  const pending = await page.evaluate(() => window.__mp.store.outboxCount());
  await page.evaluate(() => {
    window.__benchDone = new Promise((resolve) => {
      let t0 = 0;
      window.addEventListener('online', () => { t0 = performance.now(); }, { once: true });
      const s = document.getElementById('sync-status');
      const obs = new MutationObserver(() => {
        if (t0 && s.textContent === 'All changes synced' && s.dataset.pending === '0') { obs.disconnect(); resolve(performance.now() - t0); }
      });
      obs.observe(s, { childList: true, characterData: true, subtree: true, attributes: true });
    });
  });
  await context.setOffline(false);
  const ms = await page.evaluate(() => window.__benchDone);
  return { ms, pending };
}

async function main() {
  const kb = (n) => (n / 1024).toFixed(1);
  const w = await pageWeight();
  console.log('page weight (JavaScript)        files   raw KiB   nginx gzip KiB   gzip -9 KiB');
  console.log(`  first view                    ${String(w.first.files).padStart(5)}   ${kb(w.first.raw).padStart(7)}   ${kb(w.first.wire).padStart(14)}   ${kb(w.first.gz9).padStart(11)}`);
  console.log(`  first Play (Tone.js, lazy)    ${String(w.lazy.files).padStart(5)}   ${kb(w.lazy.raw).padStart(7)}   ${kb(w.lazy.wire).padStart(14)}   ${kb(w.lazy.gz9).padStart(11)}`);

  const r = await firstRender();
  console.log(`\nfirst render, Slow 4G (150 ms RTT, 1.6 Mbit/s) + CPU x4, median of ${RUNS}`);
  console.log(`  cold (new profile)   first contentful paint ${r.cold.fcp.toFixed(0)} ms   app ready ${r.cold.ready.toFixed(0)} ms`);
  console.log(`  warm (service worker) first contentful paint ${r.warm.fcp.toFixed(0)} ms   app ready ${r.warm.ready.toFixed(0)} ms`);

  const rounds = Number(process.env.BENCH_WEB_SYNC_ROUNDS ?? 3);
  const createMs = [], editMs = [], raw100 = [], raw20 = [];
  let pc = 0, pe = 0;
  for (let i = 0; i < rounds; i++) {
    raw100.push(await rawPuts(100));
    const a = await signedInPage();
    const c = await backOnline(a.page, a.context, async () => {
      for (let k = 0; k < 100; k++) await window.__mp.repo.saveLoop(window.__mpModel.benchLoop(`offline ${k}`, k));
    });
    createMs.push(c.ms);
    pc = c.pending;
    await a.close();

    raw20.push(await rawPuts(20));
    const b = await signedInPage();
    await b.page.evaluate(async () => {
      for (let k = 0; k < 20; k++) await window.__mp.repo.saveLoop(window.__mpModel.benchLoop(`base ${k}`, k));
    });
    const e = await backOnline(b.page, b.context, async () => {
      const loops = await window.__mp.store.listLoops();
      for (let k = 0; k < 100; k++) {
        const l = await window.__mp.store.getLoop(loops[k % loops.length].id);
        await window.__mp.repo.saveLoop({ ...l, name: `${l.name.split(' #')[0]} #${k}`, bpm: 60 + k });
      }
    });
    editMs.push(e.ms);
    pe = e.pending;
    await b.close();
  }
  const mc = median(createMs), me = median(editMs), r100 = median(raw100), r20 = median(raw20);
  console.log(`\nback online → "All changes synced", median of ${rounds}`);
  console.log(`  100 loops made offline (${pc} queued)        ${mc.toFixed(0)} ms   baseline 100 raw PUTs ${r100.toFixed(0)} ms   ratio ${(mc / r100).toFixed(2)}`);
  console.log(`  100 edits of 20 loops offline (${pe} queued)  ${me.toFixed(0)} ms   baseline  20 raw PUTs ${r20.toFixed(0)} ms   ratio ${(me / r20).toFixed(2)}`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) await main();
