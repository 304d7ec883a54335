// Two app hosts behind the front nginx, one killed under a mixed load
// (issue 16, doc/SCALING.md "Several app hosts").  Run by deploy/dev's
// hosts pass, which starts hosts a and b (each in a network namespace,
// its own nginx and worker pool, one PostgreSQL) and the front, and
// hands over:
//
//   MP_FRONT_URL   the front (http://127.0.0.1:port)
//   MP_HOST_A / MP_HOST_B  the hosts as the front names them (addr:port)
//   MP_KILL_CMD    a shell command that freezes host a's workers for a
//                  moment, then SIGKILLs every process of host a
//   MP_FRONT_LOG   the front's access log (JSON lines)
//   PGHOST etc.    psql to the test database
//   MP_HOSTS_USERS (40), MP_HOSTS_BEFORE_S (4), MP_HOSTS_AFTER_S (6)
//
// Each of the users runs one request at a time, signed in: keyed POST
// /api/loops (retried with the same Idempotency-Key on a network error,
// 502, 503, 504 or 409 "still running"), PUT and PATCH of its own loops
// with If-Match (retried with the same If-Match; a 412 whose current
// loop is the one sent is the retry of a write that landed), likes and
// unlikes of others' public loops, GETs of loops and lists.  Prints
// PASS:/FAIL: lines and the figures; exits 1 on a failure.
import { execFile, execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";

const front = process.env.MP_FRONT_URL;
const hostA = process.env.MP_HOST_A;
const hostB = process.env.MP_HOST_B;
const killCmd = process.env.MP_KILL_CMD;
const frontLog = process.env.MP_FRONT_LOG;
const nUsers = Number(process.env.MP_HOSTS_USERS || 40);
const beforeS = Number(process.env.MP_HOSTS_BEFORE_S || 4);
const afterS = Number(process.env.MP_HOSTS_AFTER_S || 6);
const REQ_TIMEOUT_MS = 15000;	// every request (the front's own read timeout is 35 s)
const OP_DEADLINE_MS = 20000;	// an operation and its retries, from its first attempt
const RUN_LIMIT_MS = 85000;	// the whole run

if (!front || !hostA || !hostB || !killCmd || !frontLog) {
	console.log("FAIL: hosts: MP_FRONT_URL, MP_HOST_A, MP_HOST_B, MP_KILL_CMD and MP_FRONT_LOG are set (run by deploy/dev test)");
	process.exit(1);
}
setTimeout(() => {
	console.log(`FAIL: hosts: the failover run ends within ${RUN_LIMIT_MS / 1000} s`);
	process.exit(1);
}, RUN_LIMIT_MS).unref();

const t0 = performance.now();
const now = () => performance.now() - t0;
let failed = 0;
function check(ok, name, detail) {
	console.log(`${ok ? "PASS" : "FAIL"}: hosts: ${name}`);
	if (!ok) {
		failed++;
		if (detail) console.log("    " + String(detail).split("\n").join("\n    "));
	}
}

// Every attempt, as the client saw it.
const attempts = [];
const writesBy = new Map();	// token -> writes sent (the budget is per user)
let kill0 = Infinity, kill1 = Infinity;	// the kill command's start and end

// node:http with a keep-alive agent: cheaper per request than fetch,
// so that the client is not what the load waits on.
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
function request(method, path, headers, body) {
	return new Promise((resolve, reject) => {
		const req = http.request(front + path, { method, headers, agent, timeout: REQ_TIMEOUT_MS }, (res) => {
			const chunks = [];
			res.on("data", (c) => chunks.push(c));
			res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
			res.on("error", reject);
		});
		req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
		req.on("error", reject);
		req.end(body);
	});
}

async function attempt(op, method, path, { token, body, headers = {}, type } = {}) {
	const h = { ...headers };
	if (token) h.Authorization = `Bearer ${token}`;
	const data = body === undefined ? undefined : JSON.stringify(body);
	if (data !== undefined) h["Content-Type"] = type || "application/json";
	const a = { op, method, path, start: now(), end: 0, status: 0, upstream: "", error: "" };
	attempts.push(a);
	if (token && method !== "GET") writesBy.set(token, (writesBy.get(token) || 0) + 1);
	let res = null;
	try {
		res = await request(method, path, h, data);
		a.status = res.status;
		a.upstream = res.headers["x-mp-upstream"] || "";
	} catch (e) {
		a.error = String(e.code || e);
	}
	a.end = now();
	let json = null;
	try { json = res?.text ? JSON.parse(res.text) : null; } catch { /* nginx's own html page */ }
	return { a, res, json };
}

const retriable = (a) => a.error !== "" || a.status === 502 || a.status === 503 || a.status === 504;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const users = [];
const publicLoops = [];	// ids anyone may like
const acked = new Map();	// Idempotency-Key -> loop id
let replayed = 0, landedBeforeRetry = 0, opFailures = [];
const opsDone = { create: 0, put: 0, patch: 0, like: 0, unlike: 0, get: 0, list: 0 };

function loopDoc(name, bpm) {
	return {
		name, bars: 1, bpm, color: "#33AAFF", isPublic: true,
		chordProgression: [{ bar: 0, chord: "Am7" }],
		iconSequence: [{ bar: 0, row: 0, soundId: "kick", pitch: 36 }, { bar: 2, row: 1, soundId: "snare", pitch: 38 }],
	};
}

// A keyed POST /api/loops, retried with its key until answered 201
// (first or replayed) or the deadline.
async function create(u) {
	const key = randomUUID(), doc = loopDoc(`hf ${u.name} ${key.slice(0, 8)}`, 100 + (u.n % 50));
	const started = now();
	for (let i = 0; ; i++) {
		const { a, res, json } = await attempt("create", "POST", "/api/loops",
			{ token: u.token, body: doc, headers: { "Idempotency-Key": key } });
		if (a.status === 201 && json?.loop?.id) {
			if (res.headers["idempotent-replayed"] === "true") replayed++;
			const prev = acked.get(key);
			if (prev && prev !== json.loop.id) opFailures.push(`key ${key} answered two loops ${prev} ${json.loop.id}`);
			acked.set(key, json.loop.id);
			u.loops.push({ id: json.loop.id, etag: res.headers.etag, name: doc.name, bpm: doc.bpm });
			publicLoops.push(json.loop.id);
			opsDone.create++;
			return;
		}
		a.retried = true;
		if (!(retriable(a) || a.status === 409) || now() - started > OP_DEADLINE_MS) {
			opFailures.push(`POST /api/loops key ${key}: ${a.status || a.error} after ${i + 1} attempts`);
			return;
		}
		await sleep(a.status === 409 ? 100 : 50);
	}
}

async function refresh(u, l) {
	const { a, res, json } = await attempt("get", "GET", `/api/loops/${l.id}`, { token: u.token });
	if (a.status === 200) { l.etag = res.headers.etag; l.name = json.loop.name; l.bpm = json.loop.bpm; }
	return a.status === 200;
}

// PUT (full replace) or PATCH (merge patch) of one of u's loops with
// If-Match; a retry keeps the If-Match, and a 412 whose current loop
// is what was sent means the first attempt landed.
async function edit(u, kind) {
	if (u.loops.length === 0) return create(u);
	const l = u.loops[Math.floor(Math.random() * u.loops.length)];
	const bpm = 60 + Math.floor(Math.random() * 200);
	const name = `hf ${u.name} edit ${Math.floor(Math.random() * 1e9)}`;
	const want = kind === "put" ? { name, bpm } : { name: l.name, bpm };
	const started = now();
	for (let i = 0; ; i++) {
		const { a, res, json } = kind === "put"
			? await attempt("put", "PUT", `/api/loops/${l.id}`, { token: u.token, body: loopDoc(name, bpm), headers: { "If-Match": l.etag } })
			: await attempt("patch", "PATCH", `/api/loops/${l.id}`, { token: u.token, body: { bpm }, type: "application/merge-patch+json", headers: { "If-Match": l.etag } });
		if (a.status === 200) {
			l.etag = res.headers.etag; l.name = want.name; l.bpm = bpm;
			opsDone[kind]++;
			return;
		}
		if (a.status === 412 && json?.loop && (i > 0 || a.upstream.includes(","))) {
			// Retried (by us, or by the front: "A, B"): did the first land?
			if (json.loop.bpm === bpm && json.loop.name === want.name) {
				landedBeforeRetry++;
				a.landed = true;
				await refresh(u, l);
				opsDone[kind]++;
				return;
			}
		}
		a.retried = true;
		if (!retriable(a) || now() - started > OP_DEADLINE_MS) {
			opFailures.push(`${kind.toUpperCase()} /api/loops/${l.id}: ${a.status || a.error} after ${i + 1} attempts`);
			return;
		}
		await sleep(50);
	}
}

// One idempotent request (GET, PUT like, DELETE like): the front
// retries it on the other host itself; the client does not.
async function once(u, op, method, path, ok) {
	const { a } = await attempt(op, method, path, { token: u.token });
	if (ok.includes(a.status)) opsDone[op]++;
	else opFailures.push(`${method} ${path}: ${a.status || a.error} (upstream ${a.upstream})`);
}

function pick(arr) { return arr[Math.floor(Math.random() * arr.length)]; }

// The write budget (MP_WRITE_LIMIT, 600 an hour per user in the test
// stack) holds on every host: a user that has sent WRITE_CAP writes
// (attempts, retries included) only reads from then on, however fast
// the machine.
const WRITE_CAP = 500;
async function userLoop(u, stopAt) {
	while (now() < stopAt) {
		const r = u.writes() >= WRITE_CAP ? 0.64 + Math.random() * 0.36 : Math.random();
		if (r < 0.25) await create(u);
		else if (r < 0.37) await edit(u, "put");
		else if (r < 0.47) await edit(u, "patch");
		else if (r < 0.59) await once(u, "like", "PUT", `/api/loops/${pick(publicLoops)}/like`, [200]);
		else if (r < 0.64) await once(u, "unlike", "DELETE", `/api/loops/${pick(publicLoops)}/like`, [200]);
		else if (r < 0.84) await once(u, "get", "GET", `/api/loops/${pick(publicLoops)}`, [200]);
		else if (r < 0.92) await once(u, "list", "GET", "/api/loops?public=true&limit=20", [200]);
		else await once(u, "list", "GET", "/api/loops?limit=20", [200]);
	}
}

function pct(xs, p) {
	if (xs.length === 0) return NaN;
	const s = [...xs].sort((x, y) => x - y);
	return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

function psql(sql) {
	return execFileSync("psql", ["-qtAX", "-d", "mpapi", "-c", sql], { encoding: "utf8", timeout: 20000 }).trim();
}

// ---- both hosts answer, directly and through the front --------------
for (const h of [hostA, hostB]) {
	const r = await new Promise((resolve) => {
		const req = http.get(`http://${h}/ready`, { timeout: 5000 }, (res) => { res.resume(); resolve(res); });
		req.on("timeout", () => req.destroy(new Error("timeout")));
		req.on("error", (e) => resolve({ statusCode: String(e.code || e), headers: {} }));
	});
	if (r.statusCode !== 200 || !r.headers["x-request-id"]) {
		check(false, `host ${h} answers /ready itself`, `${r.statusCode}`);
		process.exit(1);
	}
}

// ---- sign up, a first loop each -------------------------------------
const prefix = "hf" + Date.now().toString(36);
{
	const queue = [...Array(nUsers).keys()];
	await Promise.all([...Array(8)].map(async () => {
		for (let n; (n = queue.shift()) !== undefined;) {
			const name = `${prefix}u${n}`;
			const { a, json } = await attempt("signup", "POST", "/api/auth/signup",
				{ body: { email: `${name}@example.test`, username: name, password: "correct-horse-9" } });
			if (a.status !== 201) { check(false, `signup of ${name} through the front`, `${a.status} ${a.error}`); continue; }
			users.push({ n, name, token: json.token, id: json.user.id, loops: [],
				writes() { return writesBy.get(this.token) || 0; } });
		}
	}));
	check(users.length === nUsers, `${nUsers} users signed up through the front`);
	await Promise.all(users.map((u) => create(u)));
	check(opFailures.length === 0 && publicLoops.length === nUsers, "each user's first loop created through the front", opFailures.join("\n"));
}
const setupAttempts = attempts.length;
const beforeA = attempts.filter((a) => a.upstream.startsWith(hostA)).length;
const beforeB = attempts.filter((a) => a.upstream.startsWith(hostB)).length;
check(beforeA > 0 && beforeB > 0, `both hosts served the set-up (a ${beforeA}, b ${beforeB})`);
acked.clear();	// the set-up's keys are counted apart (the first loops)
replayed = 0;
for (const k in opsDone) opsDone[k] = 0;

// ---- the load, host a killed in the middle of it -------------------
const loadStart = now();
const stopAt = loadStart + (beforeS + afterS) * 1000;
const killer = (async () => {
	await sleep(beforeS * 1000);
	kill0 = now();
	await new Promise((resolve) => {
		execFile("sh", ["-c", killCmd], { timeout: 20000 }, (err, stdout, stderr) => {
			kill1 = now();
			if (err) check(false, "host a is killed (every process of its namespace)", `${err}\n${stderr}`);
			else console.log(`hosts: host a frozen, then killed: ${stdout.trim()} processes, SIGKILL, ${(kill1 - kill0).toFixed(0)} ms after the freeze began`);
			resolve();
		});
	});
})();
await Promise.all([killer, ...users.map((u) => userLoop(u, stopAt))]);
const loadEnd = now();

// ---- what the client saw --------------------------------------------
const load = attempts.slice(setupAttempts);
const idempotent = (m) => m === "GET" || m === "HEAD" || m === "PUT" || m === "DELETE";
const okStatus = (a) => (a.status >= 200 && a.status < 300) || a.status === 304 || a.landed;
// In flight on host a at the kill: a POST or PATCH the front had sent
// to a, answered 502 (the front does not pass those on), overlapping
// the kill; each was retried by the client.
const inFlight = (a) => !idempotent(a.method) && a.status === 502 && a.upstream.startsWith(hostA) &&
	a.start <= kill1 + 200 && a.end >= kill0;
// Expected on the way: 409 of a keyed retry while the first attempt's
// transaction was still held (it ends when PostgreSQL sees the killed
// worker's connection close).
const expected = (a) => a.op === "create" && a.status === 409 && a.retried;
const killed = load.filter(inFlight);
const unexpected = load.filter((a) => !okStatus(a) && !inFlight(a) && !expected(a));
const idemFailed = load.filter((a) => idempotent(a.method) && !okStatus(a));
check(kill1 !== Infinity && kill1 < loadEnd, "host a was killed while the load ran");
check(unexpected.length === 0,
	`every request answered 2xx (or an expected 409/412 of a retry) but the ${killed.length} POST/PATCH in flight on host a at the kill`,
	unexpected.slice(0, 20).map((a) => `${a.method} ${a.path} -> ${a.status || a.error} via ${a.upstream} at ${a.start.toFixed(0)}-${a.end.toFixed(0)} ms (kill ${kill0.toFixed(0)}-${kill1.toFixed(0)})`).join("\n"));
for (const a of killed)
	console.log(`hosts: in flight on a at the kill: ${a.method} ${a.path} -> ${a.status} (${a.start.toFixed(0)}-${a.end.toFixed(0)} ms; retried)`);
check(idemFailed.length === 0, "no GET/PUT/DELETE failed: the front passed those in flight on a to b",
	idemFailed.slice(0, 20).map((a) => `${a.method} ${a.path} -> ${a.status || a.error} via ${a.upstream}`).join("\n"));
check(opFailures.length === 0, "every operation completed (keyed POSTs and If-Match edits within their retries)", opFailures.slice(0, 20).join("\n"));

// ---- PostgreSQL: no duplicate, none lost ----------------------------
const rows = psql(`SELECT l.id FROM loops l JOIN users u ON u.id = l.user_id WHERE u.username LIKE '${prefix}u%'`)
	.split("\n").filter(Boolean);
const inDb = new Set(rows);
const ackedIds = new Set(acked.values());
const firstLoops = nUsers;	// one per user from the set-up
const missing = [...ackedIds].filter((id) => !inDb.has(id));
check(rows.length === acked.size + firstLoops && ackedIds.size === acked.size && missing.length === 0,
	`loops in PostgreSQL (${rows.length}) = distinct Idempotency-Keys acknowledged (${acked.size}) + the ${firstLoops} first loops: no duplicate, none lost`,
	`acknowledged ids ${ackedIds.size}, missing in the database: ${missing.slice(0, 5).join(" ")}`);

// ---- per host, before and after the kill ---------------------------
const servedBy = (a) => a.upstream.split(",").pop().trim();
const count = (f) => load.filter(f).length;
const preA = count((a) => a.end < kill0 && servedBy(a) === hostA);
const preB = count((a) => a.end < kill0 && servedBy(a) === hostB);
const postA = count((a) => a.start > kill1 && servedBy(a) === hostA && a.status !== 502);
const postB = count((a) => a.start > kill1 && servedBy(a) === hostB);
const frontRetried = count((a) => a.upstream.includes(","));
const outstanding = count((a) => a.start <= kill0 && a.end >= kill0);
const passedAtKill = count((a) => a.upstream.startsWith(hostA + ",") && a.start <= kill1 && a.end >= kill0);
const clientRetries = count((a) => a.retried);
check(preA > 0 && preB > 0, `both hosts served before the kill (a ${preA}, b ${preB})`);
check(killed.length + passedAtKill > 0,
	`the kill met requests in flight on host a (${killed.length} POST/PATCH answered 502, ${passedAtKill} passed on to b by the front)`);
check(postB > 0 && postA === 0, `host b alone served after the kill (b ${postB}, a ${postA})`);

// ---- the front's own log: no idempotent request failed there --------
await sleep(1500);	// access_log buffer: flushed every second
let logLines = [];
try {
	logLines = readFileSync(frontLog, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
} catch (e) {
	check(false, "the front's access log is readable", e);
}
const frontIdem5xx = logLines.filter((l) => idempotent(l.method) && l.status >= 500);
const frontAll5xx = logLines.filter((l) => l.status >= 500);
check(logLines.length >= attempts.length * 0.99 && frontIdem5xx.length === 0,
	`the front's log: 0 of ${logLines.filter((l) => idempotent(l.method)).length} GET/PUT/DELETE answered 5xx (${frontAll5xx.length} POST/PATCH 502 in all)`,
	frontIdem5xx.slice(0, 10).map((l) => JSON.stringify(l)).join("\n"));

const lat = load.map((a) => a.end - a.start);
const latAfter = load.filter((a) => a.start > kill1).map((a) => a.end - a.start);
const secs = (loadEnd - loadStart) / 1000;
console.log(`hosts: ${nUsers} users, ${load.length} requests in ${secs.toFixed(1)} s (${(load.length / secs).toFixed(0)}/s); ` +
	`ops ${Object.entries(opsDone).map(([k, v]) => `${k} ${v}`).join(", ")}`);
console.log(`hosts: before the kill (${(kill0 - loadStart) / 1000 | 0} s): a ${preA}, b ${preB}; after (${((loadEnd - kill1) / 1000).toFixed(1)} s): a ${postA}, b ${postB}`);
console.log(`hosts: at the kill ${outstanding} requests outstanding at the client; on a: ${killed.length} POST/PATCH answered 502 (retried by the client), ` +
	`${passedAtKill} passed on to b by the front`);
console.log(`hosts: client retries ${clientRetries}, ` +
	`passed on by the front ${frontRetried}, keyed replays ${replayed}, edits that had landed before their retry ${landedBeforeRetry}`);
console.log(`hosts: latency p50 ${pct(lat, 0.5).toFixed(1)} ms, p99 ${pct(lat, 0.99).toFixed(1)} ms; after the kill p50 ${pct(latAfter, 0.5).toFixed(1)} ms, p99 ${pct(latAfter, 0.99).toFixed(1)} ms`);
process.exit(failed ? 1 : 0);
