// bench/live.mjs: the live-updates benchmark's client (bench/live runs
// it against its own stack; see bench/README.md, "bench/live").
//
//   node bench/live.mjs
//
// Environment: BENCH_URL, BENCH_SUBS (2000), BENCH_HOT (the hot loop's
// id), BENCH_TOKENS_FILE (tokens of distinct users, one a line),
// BENCH_LIKES (30 isolated likes), BENCH_BURST_SECONDS (5),
// BENCH_BURST_CLIENTS (16), BENCH_SECONDS (5: each wrk run),
// BENCH_ROUNDS (3), BENCH_GET_LUA (bench/get_loop.lua), BENCH_N.
//
// 1. GET throughput without subscribers, then with BENCH_SUBS open SSE
//    subscribers on the hot loop's channel (idle), interleaved, rounds
//    of wrk -t1 -c16 on GET /api/loops/:id (random seeded loop).
// 2. Isolated likes (one a second, each by another user): each
//    subscriber's counters message for it; commit-to-delivery = the
//    time it is read minus the message's `at` (the row's write inside
//    the like's transaction, on the same host's clock), and like
//    answer to delivery.
// 3. A burst: as many likes as BENCH_BURST_CLIENTS clients send for
//    BENCH_BURST_SECONDS (toggling like/unlike, so each moves the
//    count); how many counters messages each subscriber got per
//    second, their delivery lag, and whether every subscriber ends at
//    the count the server has.
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const URL0 = process.env.BENCH_URL ?? 'http://127.0.0.1:18370';
const SUBS = Number(process.env.BENCH_SUBS ?? 2000);
const HOT = process.env.BENCH_HOT;
const TOKENS = readFileSync(process.env.BENCH_TOKENS_FILE ?? '/dev/null', 'utf8').split(/\s+/).filter(Boolean);
const LIKES = Number(process.env.BENCH_LIKES ?? 30);
const BURST_S = Number(process.env.BENCH_BURST_SECONDS ?? 5);
const BURST_C = Number(process.env.BENCH_BURST_CLIENTS ?? 16);
const SECS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const GET_LUA = process.env.BENCH_GET_LUA;
const { hostname, port } = new URL(URL0);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
if (!HOT || TOKENS.length < 2) throw new Error('BENCH_HOT and BENCH_TOKENS_FILE are needed');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (a, p) => {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** One SSE subscriber: parses the stream, hands each event to onEvent. */
function subscribe(channels, onEvent) {
  return new Promise((resolve, reject) => {
    const req = http.get({ hostname, port, path: `/api/live?channels=${channels}`, headers: { Accept: 'text/event-stream' }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`subscribe: ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      let buf = '', ev = '', data = null, ready = false;
      res.on('data', (chunk) => {
        const now = Date.now();
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).replace(/\r$/, '');
          buf = buf.slice(i + 1);
          if (line === '') {
            if (data !== null) onEvent(ev || 'message', data.replace(/\n$/, ''), now);
            ev = '';
            data = null;
          } else if (line.startsWith(':')) {
            if (!ready) {
              ready = true;
              resolve(sub);
            }
          } else if (line.startsWith('event:')) ev = line.slice(6).trim();
          else if (line.startsWith('data:')) data = (data ?? '') + line.slice(5).replace(/^ /, '') + '\n';
        }
      });
      res.on('error', () => {});
    });
    const sub = { close: () => req.destroy() };
    req.on('error', reject);
  });
}

function request(method, path, token) {
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, method, agent, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body, at: Date.now() }));
    });
    req.on('error', reject);
    req.end();
  });
}

function wrk() {
  const r = spawnSync('wrk', ['-t1', '-c16', `-d${SECS}s`, '--latency', '-s', GET_LUA, URL0 + '/'], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
  const ms = (v) => (v.endsWith('us') ? parseFloat(v) / 1000 : v.endsWith('ms') ? parseFloat(v) : parseFloat(v) * 1000);
  const p99 = /99%\s+(\S+)/.exec(r.stdout)?.[1];
  const errs = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? '0';
  return { rps, p99: p99 ? ms(p99) : NaN, errs: Number(errs) };
}

/** Open n subscribers on the hot loop, 100 at a time. */
async function openAll(n, onEvent) {
  const subs = [];
  for (let i = 0; i < n; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 100); j++) batch.push(subscribe(`loop:${HOT}`, (ev, data, t) => onEvent(j, ev, data, t)));
    subs.push(...(await Promise.all(batch)));
  }
  return subs;
}

async function main() {
  console.log(`live benchmark: ${SUBS} SSE subscribers on one hot loop, ${TOKENS.length} likers, ${ROUNDS} x ${SECS}s wrk rounds, load ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  // 1. GET throughput, without and with the subscribers.
  const base = [], withSubs = [];
  let handler = () => {};
  wrk();	// warm-up
  let subs = [];
  for (let r = 0; r < ROUNDS; r++) {
    base.push(wrk());
    const t0 = Date.now();
    subs = await openAll(SUBS, (...a) => handler(...a));
    if (r === 0) console.log(`  ${SUBS} subscribers open in ${Date.now() - t0} ms (one authorization subrequest each)`);
    withSubs.push(wrk());
    if (r < ROUNDS - 1) {
      for (const s of subs) s.close();
      await sleep(1000);
    }
  }
  const med = (a, k) => pct(a.map((x) => x[k]), 50);
  console.log(`\nGET /api/loops/:id (wrk -t1 -c16, ${SECS}s, median of ${ROUNDS}):`);
  console.log(`  without subscribers   ${med(base, 'rps').toFixed(0).padStart(7)} req/s   p99 ${med(base, 'p99').toFixed(2)} ms   errors ${base.reduce((s, x) => s + x.errs, 0)}`);
  console.log(`  with ${SUBS} open       ${med(withSubs, 'rps').toFixed(0).padStart(7)} req/s   p99 ${med(withSubs, 'p99').toFixed(2)} ms   errors ${withSubs.reduce((s, x) => s + x.errs, 0)}`);
  console.log(`  ratio with/without    ${(med(withSubs, 'rps') / med(base, 'rps')).toFixed(3)}  (rounds: ${base.map((x, i) => (withSubs[i].rps / x.rps).toFixed(3)).join(' ')})`);

  // 2. Isolated likes, one a second.
  const got = new Map();	// likesCount -> [{sub, lagAt}]
  let answered = new Map();	// likesCount -> the like's answer time
  const last = new Array(SUBS).fill(-1);
  const perSecond = new Array(SUBS).fill(0);
  let counting = false;
  const burstLag = [];
  handler = (j, ev, data, t) => {
    if (ev !== 'counters') return;
    const m = JSON.parse(data);
    last[j] = m.likesCount;
    const lag = t - Date.parse(m.at);
    if (counting) {
      perSecond[j]++;
      burstLag.push(lag);
      return;
    }
    if (!got.has(m.likesCount)) got.set(m.likesCount, []);
    got.get(m.likesCount).push({ lag, t });
  };
  const start = JSON.parse((await request('GET', `/api/loops/${HOT}`)).body).loop.likesCount;
  let count = start;
  const likers = TOKENS.slice(0, LIKES);
  const likedBy = new Set();
  for (const tok of likers) {
    const r = await request(likedBy.has(tok) ? 'DELETE' : 'PUT', `/api/loops/${HOT}/like`, tok);
    if (r.status !== 200) throw new Error(`like: ${r.status} ${r.body}`);
    count = JSON.parse(r.body).likesCount;
    likedBy.add(tok);
    answered.set(count, r.at);
    await sleep(1000);
  }
  await sleep(2000);
  const lagAt = [], lagAnswer = [];
  let missing = 0;
  for (const [c, t] of answered) {
    const d = got.get(c) ?? [];
    missing += SUBS - d.length;
    for (const x of d) {
      lagAt.push(x.lag);
      lagAnswer.push(x.t - t);
    }
  }
  console.log(`\n${likers.length} isolated likes (1 s apart) x ${SUBS} subscribers = ${lagAt.length} deliveries, ${missing} missing:`);
  console.log(`  commit-to-delivery (message's at -> read by the subscriber)   p50 ${pct(lagAt, 50)} ms   p99 ${pct(lagAt, 99)} ms   max ${pct(lagAt, 100)} ms`);
  console.log(`  like answered -> read by the subscriber                        p50 ${pct(lagAnswer, 50)} ms   p99 ${pct(lagAnswer, 99)} ms`);

  // 3. A burst: BURST_C clients, each toggling its own likes.
  counting = true;
  const pool = TOKENS.slice(LIKES);
  let sent = 0, failed = 0;
  const state = new Map();
  const end = Date.now() + BURST_S * 1000;
  await Promise.all(Array.from({ length: BURST_C }, async (_, k) => {
    for (let i = k; Date.now() < end; i += BURST_C) {
      const tok = pool[i % pool.length];
      const on = !state.get(tok);
      const r = await request(on ? 'PUT' : 'DELETE', `/api/loops/${HOT}/like`, tok);
      if (r.status === 200) {
        state.set(tok, on);
        sent++;
      } else failed++;
    }
  }));
  await sleep(3000);
  counting = false;
  const server = JSON.parse((await request('GET', `/api/loops/${HOT}`)).body).loop.likesCount;
  const equal = last.filter((x) => x === server).length;
  const rates = perSecond.map((n) => n / BURST_S);
  console.log(`\nburst: ${sent} likes and unlikes in ${BURST_S} s (${(sent / BURST_S).toFixed(0)}/s, ${BURST_C} clients, ${failed} failed):`);
  console.log(`  counters messages per subscriber per second   p50 ${pct(rates, 50).toFixed(1)}   max ${pct(rates, 100).toFixed(1)}   (coalesced from ${(sent / BURST_S).toFixed(0)} changes/s)`);
  console.log(`  delivery lag during the burst                  p50 ${pct(burstLag, 50)} ms   p99 ${pct(burstLag, 99)} ms`);
  console.log(`  subscribers at the server's final count (${server})   ${equal} of ${SUBS}`);
  for (const s of subs) s.close();
  agent.destroy();
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
