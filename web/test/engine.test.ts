import { describe, expect, it } from 'vitest';
import { Api } from '../src/api/client';
import { SyncEngine } from '../src/sync/engine';
import { Repo } from '../src/sync/repo';
import { loopContent, newLoop, newSong, type LocalLoop } from '../src/model';
import { LocalStorageAdapter, LS_PREFIX } from '../src/storage/local';
import { FakeServer, type Req } from './fakeserver';
import { ADAPTERS, MemoryStorage, makeAdapter, type AdapterKind } from './helpers';

async function setup(kind: AdapterKind = 'indexeddb') {
  const { store } = await makeAdapter(kind);
  const server = new FakeServer();
  const api = new Api('', server.fetch);
  const repo = new Repo(store);
  const timers: { fn: () => void; ms: number }[] = [];
  const notices: string[] = [];
  const env = { now: 1_000_000, online: true };
  const engine = new SyncEngine(store, repo, api, {
    now: () => env.now,
    online: () => env.online,
    random: () => 0.5,
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => {},
    onNotice: (m) => notices.push(m),
  });
  await store.setMeta('auth', { token: 'good', user: { id: 'u-1', username: 'ana' } });
  await engine.loadAuth();
  /** Fires the last back-off timer after moving the clock past it. */
  const fireTimer = async () => {
    const t = timers.pop()!;
    env.now += t.ms;
    t.fn();
    await engine.sync();
  };
  return { store, server, api, repo, engine, timers, notices, env, fireTimer };
}

const puts = (s: FakeServer) => s.log.filter((r) => r.method === 'PUT' && /^\/api\/(loop|song)s\/[^/]+$/.test(r.path));
const isPut = (r: Req) => r.method === 'PUT' && /^\/api\/loops\/[^/]+$/.test(r.path);
const kick = { bar: 0, row: 0, soundId: 'kick', velocity: 0.8, pitch: 36, duration16: 1 };

describe.each(ADAPTERS)('the sync engine on %s', (kind) => {
  it('creates a loop made offline with PUT + If-None-Match: * at its own id, once', async () => {
    const { server, repo, engine, store } = await setup(kind);
    const l = await repo.saveLoop({ ...newLoop('Offline made'), iconSequence: [kick] });
    await engine.sync();
    const [req] = puts(server);
    expect(req.path).toBe(`/api/loops/${l.id}`);
    expect(req.headers['if-none-match']).toBe('*');
    expect(req.headers['if-match']).toBeUndefined();
    expect(server.get('loop', l.id)).toMatchObject({ name: 'Offline made', version: 1, iconSequence: [kick] });
    expect(server.count('loop')).toBe(1);
    expect(await store.outboxCount()).toBe(0);
    expect(await store.getLoop(l.id)).toMatchObject({ dirty: false, server: { version: 1 } });
    expect(engine.status).toMatchObject({ pending: 0, syncing: false, lastError: null });
  });

  it('sends an edit with If-Match of the version it was based on', async () => {
    const { server, repo, engine, store } = await setup(kind);
    let l = await repo.saveLoop(newLoop('v1'));
    await engine.sync();
    l = (await store.getLoop(l.id))!;
    await repo.saveLoop({ ...l, name: 'v2' });
    await engine.sync();
    const last = puts(server).at(-1)!;
    expect(last.headers['if-match']).toBe('"v1"');
    expect(server.get('loop', l.id)).toMatchObject({ name: 'v2', version: 2 });
  });

  it('merges on 412: keeps the local steps and the server name, then saves both', async () => {
    const { server, repo, engine, store } = await setup(kind);
    let l = await repo.saveLoop(newLoop('Base'));
    await engine.sync();
    server.serverEdit('loop', l.id, { name: 'Renamed elsewhere' });
    l = (await store.getLoop(l.id))!;
    await repo.saveLoop({ ...l, iconSequence: [kick] });
    // Push first, before any pull: the PUT meets 412.
    await engine.sync();
    const statuses = puts(server).map((r) => r.headers['if-match'] ?? r.headers['if-none-match']);
    expect(statuses).toEqual(['*', '"v1"', '"v2"']);
    expect(server.get('loop', l.id)).toMatchObject({ name: 'Renamed elsewhere', iconSequence: [kick], version: 3 });
    expect(await store.getLoop(l.id)).toMatchObject({ name: 'Renamed elsewhere', iconSequence: [kick], dirty: false, conflict: null });
    expect(await store.outboxCount()).toBe(0);
  });

  it('holds a field group both sides changed as a conflict and sends nothing until resolved', async () => {
    const { server, repo, engine, store, notices } = await setup(kind);
    let l = await repo.saveLoop(newLoop('Base'));
    await engine.sync();
    server.serverEdit('loop', l.id, { name: 'Theirs', chordProgression: [{ bar: 0, chord: 'vi' }] });
    l = (await store.getLoop(l.id))!;
    await repo.saveLoop({ ...l, name: 'Mine', iconSequence: [kick] });
    await engine.sync();
    const rec = (await store.getLoop(l.id))!;
    expect(rec.conflict!.groups).toEqual({ settings: { mine: { name: 'Mine' }, theirs: { name: 'Theirs' } } });
    expect(rec).toMatchObject({ chordProgression: [{ bar: 0, chord: 'vi' }], iconSequence: [kick], name: 'Mine' });
    expect((await store.outboxList()).map((e) => e.held)).toEqual(['conflict']);
    expect(engine.status.conflicts).toBe(1);
    expect(notices.join('\n')).toMatch(/also changed on another device/);
    const before = puts(server).length;
    await engine.sync();
    expect(puts(server).length).toBe(before);

    await repo.resolve('loop', l.id, 'settings', 'mine');
    await engine.sync();
    expect(puts(server).at(-1)!.headers['if-match']).toBe('"v2"');
    expect(server.get('loop', l.id)).toMatchObject({ name: 'Mine', chordProgression: [{ bar: 0, chord: 'vi' }], iconSequence: [kick], version: 3 });
    expect(await store.outboxCount()).toBe(0);
  });

  it('takes theirs for a conflicting group when asked, keeping the other local changes', async () => {
    const { server, repo, engine, store } = await setup(kind);
    let l = await repo.saveLoop(newLoop('Base'));
    await engine.sync();
    server.serverEdit('loop', l.id, { name: 'Theirs' });
    l = (await store.getLoop(l.id))!;
    await repo.saveLoop({ ...l, name: 'Mine', iconSequence: [kick] });
    await engine.sync();
    await repo.resolve('loop', l.id, 'settings', 'theirs');
    await engine.sync();
    expect(server.get('loop', l.id)).toMatchObject({ name: 'Theirs', iconSequence: [kick] });
  });

  it('merges on 409 with the current loop in the body the same way', async () => {
    const { server, repo, engine, store } = await setup(kind);
    let l = await repo.saveLoop(newLoop('Base'));
    await engine.sync();
    server.serverEdit('loop', l.id, { bpm: 90 });
    const current = server.get('loop', l.id)!;
    server.inject(isPut, { status: 409, body: { error: 'Version conflict', status: 409, loop: current } });
    l = (await store.getLoop(l.id))!;
    await repo.saveLoop({ ...l, name: 'Mine' });
    await engine.sync();
    expect(server.get('loop', l.id)).toMatchObject({ name: 'Mine', bpm: 90 });
  });

  it('survives a network failure mid-push: what was sent stays done, the rest stays queued', async () => {
    const { server, repo, engine, store, env, fireTimer } = await setup(kind);
    const a = await repo.saveLoop(newLoop('a'));
    const b = await repo.saveLoop(newLoop('b'));
    const c = await repo.saveLoop(newLoop('c'));
    server.inject((r) => isPut(r) && r.path.endsWith(b.id), 'network');
    await engine.sync();
    expect(server.get('loop', a.id)).toBeDefined();
    expect(server.get('loop', b.id)).toBeUndefined();
    expect((await store.outboxList()).map((e) => e.id)).toEqual([b.id, c.id]);
    expect(engine.status.backoffUntil).toBe(env.now + 750); // 1 s × jitter 0.75
    await fireTimer();
    expect(server.count('loop')).toBe(3);
    expect(await store.outboxCount()).toBe(0);
  });

  it('makes no second copy when a create reached the server but its answer was lost', async () => {
    const { server, repo, engine, store, fireTimer } = await setup(kind);
    const l = await repo.saveLoop({ ...newLoop('Once'), iconSequence: [kick] });
    server.inject(isPut, 'lost');
    await engine.sync();
    expect(server.count('loop')).toBe(1);
    expect(await store.outboxCount()).toBe(1);
    await fireTimer();
    expect(server.count('loop')).toBe(1);
    expect(server.get('loop', l.id)!.version).toBe(1);
    expect(await store.getLoop(l.id)).toMatchObject({ dirty: false, conflict: null });
    expect(await store.outboxCount()).toBe(0);
  });

  it('backs off for Retry-After on 429 and keeps the outbox', async () => {
    const { server, repo, engine, store, env, timers, fireTimer } = await setup(kind);
    await repo.saveLoop(newLoop('a'));
    server.inject(isPut, { status: 429, headers: { 'Retry-After': '7' }, body: { error: 'Too many requests', status: 429 } });
    await engine.sync();
    expect(timers.at(-1)!.ms).toBe(7000);
    expect(engine.status.backoffUntil).toBe(env.now + 7000);
    expect(await store.outboxCount()).toBe(1);
    // A sync before the time is up sends nothing.
    const n = server.log.length;
    await engine.sync();
    expect(server.log.length).toBe(n);
    await fireTimer();
    expect(await store.outboxCount()).toBe(0);
  });

  it('backs off for Retry-After on 503 and keeps the outbox', async () => {
    const { server, repo, engine, store, timers, fireTimer } = await setup(kind);
    await repo.saveLoop(newLoop('a'));
    server.inject(isPut, { status: 503, headers: { 'Retry-After': '5' }, body: { error: 'Service temporarily unavailable', status: 503 } });
    await engine.sync();
    expect(timers.at(-1)!.ms).toBe(5000);
    expect(await store.outboxCount()).toBe(1);
    await fireTimer();
    expect(await store.outboxCount()).toBe(0);
  });

  it('backs off exponentially on repeated server errors and never empties the outbox', async () => {
    const { server, repo, engine, store, timers, fireTimer } = await setup(kind);
    await repo.saveLoop(newLoop('a'));
    await repo.saveLoop(newLoop('b'));
    for (let i = 0; i < 4; i++) server.inject(isPut, { status: 500, body: { error: 'Internal error', status: 500 } });
    await engine.sync();
    for (let i = 0; i < 3; i++) {
      expect(await store.outboxCount()).toBe(2);
      await fireTimer();
    }
    // 1 s, 2 s, 4 s, 8 s (× 0.75 jitter at random() = 0.5)
    expect(await store.outboxCount()).toBe(2);
    expect(timers.at(-1)!.ms).toBe(6000);
    await fireTimer();
    expect(await store.outboxCount()).toBe(0);
  });

  it('keeps everything on 401 and asks to sign in again; a new token resumes', async () => {
    const { server, repo, engine, store, notices } = await setup(kind);
    const l = await repo.saveLoop(newLoop('kept'));
    server.token = 'rotated';
    await engine.sync();
    expect(engine.status.authRequired).toBe(true);
    expect(notices.join('\n')).toMatch(/Sign in again/);
    expect(await store.getLoop(l.id)).toMatchObject({ name: 'kept', dirty: true });
    expect(await store.outboxCount()).toBe(1);
    const n = server.log.length;
    await engine.sync();
    expect(server.log.length).toBe(n);
    await engine.setAuth({ token: 'rotated', user: { id: 'u-1', username: 'ana' } });
    expect(engine.status.authRequired).toBe(false);
    expect(server.get('loop', l.id)).toBeDefined();
    expect(await store.outboxCount()).toBe(0);
  });

  it('sends nothing while offline and everything once back online', async () => {
    const { server, repo, engine, env } = await setup(kind);
    env.online = false;
    for (let i = 0; i < 3; i++) await repo.saveLoop(newLoop('n' + i));
    await engine.sync();
    expect(server.log).toEqual([]);
    expect(engine.status).toMatchObject({ online: false, pending: 3 });
    env.online = true;
    await engine.sync();
    expect(server.count('loop')).toBe(3);
    expect(engine.status).toMatchObject({ online: true, pending: 0 });
  });

  it('pulls from the stored cursor until hasMore is false', async () => {
    const { server, engine, store } = await setup(kind);
    for (let i = 0; i < 5; i++) server.serverCreate('loop', `00000000-0000-4000-8000-00000000000${i}`, { ...loopContent(newLoop('s' + i)) });
    await engine.sync();
    const pulls = server.log.filter((r) => r.path === '/api/sync');
    expect(pulls.map((r) => r.query.get('since'))).toEqual([null, 'c2', 'c4']);
    expect(await store.listLoops()).toHaveLength(5);
    expect(await store.getMeta('cursor')).toBe('c5');
    server.serverEdit('loop', '00000000-0000-4000-8000-000000000003', { name: 'changed' });
    await engine.sync();
    expect(server.log.filter((r) => r.path === '/api/sync').at(-1)!.query.get('since')).toBe('c5');
    expect((await store.getLoop('00000000-0000-4000-8000-000000000003'))!.name).toBe('changed');
  });

  it('applies tombstones: removes copies without edits, asks to restore one with edits', async () => {
    const { server, repo, engine, store, notices } = await setup(kind);
    const a = await repo.saveLoop(newLoop('clean'));
    const b = await repo.saveLoop(newLoop('edited'));
    await engine.sync();
    server.serverDelete('loop', a.id);
    server.serverDelete('loop', b.id);
    const bl = (await store.getLoop(b.id))!;
    await repo.saveLoop({ ...bl, name: 'edited offline' });
    server.inject(isPut, 'network');
    await engine.sync(); // push fails, nothing pulled yet
    await engine.sync(true);
    expect(await store.getLoop(a.id)).toBeUndefined();
    const rb = (await store.getLoop(b.id))!;
    expect(rb.deletedOnServer).toBe(true);
    expect(notices.join('\n')).toMatch(/deleted on another device/);
    expect((await store.outboxList()).map((e) => e.held)).toEqual(['deleted']);
    await repo.restore('loop', b.id);
    await engine.sync(true);
    const back = server.get('loop', b.id)!;
    expect(back.name).toBe('edited offline');
    expect(back.version).toBeGreaterThan(1);
    expect(await store.outboxCount()).toBe(0);
  });

  it('does a full resync on 410, keeping unsynced edits and dropping what the server no longer has', async () => {
    const { server, repo, engine, store } = await setup(kind);
    const gone = await repo.saveLoop(newLoop('gone'));
    const kept = await repo.saveLoop(newLoop('kept'));
    await engine.sync();
    server.serverDelete('loop', gone.id);
    server.serverCreate('loop', '00000000-0000-4000-8000-0000000000aa', loopContent(newLoop('new there')));
    server.floor = server.seq + 1; // every cursor handed out is now too old
    const k = (await store.getLoop(kept.id))!;
    const local = newLoop('made here');
    server.inject((r) => r.method === 'PUT', 'network');
    await repo.saveLoop({ ...k, name: 'kept, edited' });
    await repo.saveLoop(local);
    await engine.sync();
    await engine.sync(true);
    const ids = (await store.listLoops()).map((l) => l.id).sort();
    expect(ids).toEqual([kept.id, local.id, '00000000-0000-4000-8000-0000000000aa'].sort());
    expect(server.get('loop', kept.id)!.name).toBe('kept, edited');
    expect(server.get('loop', local.id)).toBeDefined();
    expect(server.log.some((r) => r.path === '/api/sync' && r.query.get('since') === null && server.log.indexOf(r) > 3)).toBe(true);
  });

  it('holds an edit the server refuses (400) with its message and keeps it', async () => {
    const { repo, engine, store, notices } = await setup(kind);
    const l = await repo.saveLoop({ ...newLoop('x'), bars: 3 as unknown as 1 });
    await engine.sync();
    const [e] = await store.outboxList();
    expect(e).toMatchObject({ held: 'rejected' });
    expect(e.lastError).toMatch(/^400 bars: must be 1, 2, 4 or 8/);
    expect(notices.join()).toMatch(/could not be saved/);
    expect(await store.getLoop(l.id)).toBeDefined();
    expect(engine.status).toMatchObject({ pending: 1, held: 1 });
  });

  it('retries a play with the same Idempotency-Key, so it is counted once', async () => {
    const { server, repo, engine, store, fireTimer } = await setup(kind);
    const l = await repo.saveLoop(newLoop('played'));
    await engine.sync();
    await repo.play('loop', l.id);
    server.inject((r) => r.path.endsWith('/plays'), 'lost');
    await engine.sync();
    await fireTimer();
    const plays = server.log.filter((r) => r.path.endsWith('/plays'));
    expect(plays).toHaveLength(2);
    expect(plays[0].headers['idempotency-key']).toBe(plays[1].headers['idempotency-key']);
    expect(server.get('loop', l.id)!.playsCount).toBe(1);
    expect(await store.outboxCount()).toBe(0);
  });

  it('makes a remix once with its Idempotency-Key and moves the local copy to the server id', async () => {
    const { server, repo, engine, store, fireTimer } = await setup(kind);
    server.serverCreate('loop', '00000000-0000-4000-8000-0000000000b1', loopContent({ ...newLoop('Source'), isPublic: true }));
    const src = server.get('loop', '00000000-0000-4000-8000-0000000000b1')!;
    const copy = await repo.remix(src);
    const song = await repo.saveSong({ ...newSong('uses remix'), timeline: [{ id: 'b', loopId: copy.id, startBar: 0, bars: 1 }] });
    server.inject((r) => r.path.endsWith('/remix'), 'lost');
    await engine.sync();
    await fireTimer();
    const remixes = server.log.filter((r) => r.path.endsWith('/remix'));
    expect(remixes).toHaveLength(2);
    expect(remixes[0].headers['idempotency-key']).toBe(remixes[1].headers['idempotency-key']);
    const serverCopies = [...server.items.values()].filter((s) => s.parentLoopId === src.id);
    expect(serverCopies).toHaveLength(1);
    const newId = serverCopies[0].id;
    expect(await store.getLoop(copy.id)).toBeUndefined();
    expect(await store.getLoop(newId)).toMatchObject({ parentLoopId: src.id, name: 'Remix of Source' });
    expect(server.get('song', song.id)!.timeline[0].loopId).toBe(newId);
    expect(await store.getMeta('rekeyed')).toEqual({ [copy.id]: newId });
  });

  it('deletes with If-Match; a loop changed elsewhere meanwhile is kept and shown again', async () => {
    const { server, repo, engine, store, notices } = await setup(kind);
    const a = await repo.saveLoop(newLoop('a'));
    const b = await repo.saveLoop(newLoop('b'));
    await engine.sync();
    server.serverEdit('loop', b.id, { name: 'b changed there' });
    await repo.deleteItem('loop', a.id);
    await repo.deleteItem('loop', b.id);
    await engine.sync();
    const dels = server.log.filter((r) => r.method === 'DELETE');
    expect(dels.map((r) => r.headers['if-match'])).toEqual(['"v1"', '"v1"']);
    expect(server.get('loop', a.id)).toBeUndefined();
    expect(server.get('loop', b.id)).toBeDefined();
    expect((await store.getLoop(b.id))!.name).toBe('b changed there');
    expect(notices.join()).toMatch(/was not deleted/);
  });

  it('deletes on the server a loop deleted here while its create was on the way', async () => {
    const { server, repo, engine, store } = await setup(kind);
    const l = await repo.saveLoop(newLoop('short-lived'));
    const real = server.fetch;
    server.fetch = async (i, init) => {
      const r = await real(i, init);
      if (init.method === 'PUT') await repo.deleteItem('loop', l.id);
      return r;
    };
    (engine.api as unknown as { fetchFn: typeof real }).fetchFn = server.fetch;
    await engine.sync();
    expect(server.get('loop', l.id)).toBeUndefined();
    expect(await store.outboxCount()).toBe(0);
  });

  it('uses likes from the feed when present and works without them', async () => {
    const { server, engine, store } = await setup(kind);
    server.serverCreate('loop', '00000000-0000-4000-8000-0000000000c1', loopContent(newLoop('liked')));
    await engine.sync();
    expect((await store.getLoop('00000000-0000-4000-8000-0000000000c1'))!.likedByMe).toBe(false);
    server.likesFeed = [{ type: 'loop', id: '00000000-0000-4000-8000-0000000000c1', likedByMe: true, at: '2026-11-25T19:10:00.000Z' }];
    await engine.sync();
    expect((await store.getLoop('00000000-0000-4000-8000-0000000000c1'))!.likedByMe).toBe(true);
  });

  it('moves a new loop to a fresh id when its id is taken by an item it may not see (412 without a body)', async () => {
    const { server, repo, engine, store } = await setup(kind);
    const l = await repo.saveLoop({ ...newLoop('Collides'), iconSequence: [kick] });
    const song = await repo.saveSong({ ...newSong('uses it'), timeline: [{ id: 'b', loopId: l.id, startBar: 0, bars: 1 }] });
    server.inject((r) => isPut(r) && r.path.endsWith(l.id), { status: 412, body: { error: 'Precondition failed', status: 412 } });
    await engine.sync();
    const moved = (await store.getMeta<Record<string, string>>('rekeyed'))![l.id];
    expect(moved).toMatch(/^[0-9a-f-]{36}$/);
    expect(moved).not.toBe(l.id);
    expect(await store.getLoop(l.id)).toBeUndefined();
    expect(server.get('loop', moved)).toMatchObject({ name: 'Collides', iconSequence: [kick] });
    expect(server.get('song', song.id)!.timeline[0].loopId).toBe(moved);
    expect(await store.outboxCount()).toBe(0);
  });

  it('remembers loops the feed says became unavailable, and forgets them when they come back', async () => {
    const { server, engine, store } = await setup(kind);
    const other = '00000000-0000-4000-8000-0000000000d1';
    server.inject((r) => r.path === '/api/sync', {
      status: 200,
      body: { loops: [], songs: [], deleted: [], likes: [], unavailable: [{ type: 'loop', id: other, at: '2026-11-25T19:10:00.000Z' }], cursor: 'c0', hasMore: false },
    });
    await engine.sync();
    expect(await store.getMeta('unavailable')).toEqual({ [`loop:${other}`]: '2026-11-25T19:10:00.000Z' });
    server.inject((r) => r.path === '/api/sync', {
      status: 200,
      body: { loops: [], songs: [], deleted: [], likes: [], unavailable: [], available: [{ type: 'loop', id: other, at: '2026-11-25T19:20:00.000Z' }], cursor: 'c0', hasMore: false },
    });
    await engine.sync();
    expect(await store.getMeta('unavailable')).toEqual({});
  });

  it('pushes a song after the new loops it uses', async () => {
    const { server, repo, engine } = await setup(kind);
    const song = await repo.saveSong(newSong('first saved'));
    const l = await repo.saveLoop(newLoop('saved second'));
    await repo.saveSong({ ...song, timeline: [{ id: 'b', loopId: l.id, startBar: 0, bars: 1 }] });
    await engine.sync();
    const order = puts(server).map((r) => r.path.split('/')[2]);
    expect(order).toEqual(['loops', 'songs']);
  });

  it('rebases a local edit on a newer version pulled from the feed', async () => {
    const { server, repo, engine, store } = await setup(kind);
    let l = await repo.saveLoop(newLoop('Base'));
    await engine.sync();
    server.serverEdit('loop', l.id, { bpm: 150 });
    l = (await store.getLoop(l.id))!;
    // Edit while a pull runs: the feed brings v2 while the edit waits.
    await repo.saveLoop({ ...l, color: '#123456' });
    await (engine as unknown as { pull(): Promise<void> }).pull();
    const rec = (await store.getLoop(l.id)) as LocalLoop;
    expect(rec).toMatchObject({ bpm: 150, color: '#123456', server: { version: 2 }, dirty: true });
    await engine.sync();
    expect(puts(server).at(-1)!.headers['if-match']).toBe('"v2"');
    expect(server.get('loop', l.id)).toMatchObject({ bpm: 150, color: '#123456' });
  });
});

describe('a crash between the local write and the outbox write', () => {
  it('loses no edit: the next start queues it and syncs it', async () => {
    const ls = new MemoryStorage();
    ls.failOn = { match: (k) => k.startsWith(LS_PREFIX + 'outbox'), error: () => new Error('crash') };
    const crashed = new Repo(new LocalStorageAdapter(ls));
    const l = newLoop('survivor');
    await expect(crashed.saveLoop(l)).rejects.toThrow('crash');
    ls.failOn = null;

    const store = new LocalStorageAdapter(ls);
    const server = new FakeServer();
    await store.setMeta('auth', { token: 'good', user: { id: 'u-1', username: 'ana' } });
    const engine = new SyncEngine(store, new Repo(store), new Api('', server.fetch), { online: () => true });
    await engine.start();
    expect(server.get('loop', l.id)).toMatchObject({ name: 'survivor' });
    expect(await store.outboxCount()).toBe(0);
  });
});
