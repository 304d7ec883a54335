import { describe, expect, it } from 'vitest';
import { Repo } from '../src/sync/repo';
import { loopContent, newLoop, newSong, type LocalLoop } from '../src/model';
import { LocalStorageAdapter, LS_PREFIX } from '../src/storage/local';
import { ADAPTERS, MemoryStorage, makeAdapter } from './helpers';

function synced(name: string, version = 3): LocalLoop {
  const l = newLoop(name);
  return { ...l, dirty: false, server: { version, base: loopContent(l) } };
}

describe.each(ADAPTERS)('the outbox on the %s adapter', (kind) => {
  it('writes the loop locally and queues one put for it', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    const l = await repo.saveLoop(newLoop('a'));
    expect(await store.getLoop(l.id)).toMatchObject({ name: 'a', dirty: true, rev: 1 });
    expect((await store.outboxList()).map((e) => [e.kind, e.type, e.id])).toEqual([['put', 'loop', l.id]]);
  });

  it('keeps a single put however many times the item is saved', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    let l = await repo.saveLoop(newLoop('a'));
    for (let i = 0; i < 5; i++) l = await repo.saveLoop({ ...l, name: 'a' + i });
    expect(await store.outboxCount()).toBe(1);
    expect(await store.getLoop(l.id)).toMatchObject({ name: 'a4', rev: 6 });
  });

  it('survives a restart: the entries are still there when the store is opened again', async () => {
    const ls = new MemoryStorage();
    const repo = new Repo(new LocalStorageAdapter(ls));
    const l = await repo.saveLoop(newLoop('persist'));
    await repo.play('loop', l.id);
    const reopened = new LocalStorageAdapter(ls);
    expect((await reopened.outboxList()).map((e) => e.kind)).toEqual(['put', 'play']);
  });

  it('drops every entry of an item deleted before it reached the server', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    const l = await repo.saveLoop(newLoop('a'));
    await repo.deleteItem('loop', l.id);
    expect(await store.getLoop(l.id)).toBeUndefined();
    expect(await store.outboxCount()).toBe(0);
  });

  it('replaces the put of a synced item by one delete carrying its version', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    const s = synced('on server', 7);
    await store.putLoop(s);
    await repo.saveLoop({ ...s, name: 'edited' });
    await repo.deleteItem('loop', s.id);
    expect(await store.getLoop(s.id)).toBeUndefined();
    expect((await store.outboxList()).map((e) => [e.kind, e.baseVersion])).toEqual([['delete', 7]]);
  });

  it('keeps only the last like choice for an item', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    await repo.like('loop', 'someone-elses', true);
    await repo.like('loop', 'someone-elses', false);
    await repo.like('loop', 'someone-elses', true);
    expect((await store.outboxList()).map((e) => [e.kind, e.liked])).toEqual([['like', true]]);
  });

  it('updates the local like state and count at once', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    const s = { ...synced('mine'), likesCount: 2 };
    await store.putLoop(s);
    await repo.like('loop', s.id, true);
    expect(await store.getLoop(s.id)).toMatchObject({ likedByMe: true, likesCount: 3 });
  });

  it('queues one play per item with its Idempotency-Key kept in the entry', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    await repo.play('loop', 'x');
    await repo.play('loop', 'x');
    const [e, ...rest] = await store.outboxList();
    expect(rest).toEqual([]);
    expect(e.kind).toBe('play');
    expect(e.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('makes a remix a local copy at once with a remix entry and its own Idempotency-Key', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    const src = synced('Source');
    src.chordProgression = [{ bar: 0, chord: 'V' }];
    const copy = await repo.remix(src);
    expect(copy).toMatchObject({ name: 'Remix of Source', parentLoopId: src.id, chordProgression: src.chordProgression, server: null });
    await repo.saveLoop({ ...copy, name: 'My remix' });
    const entries = await store.outboxList();
    expect(entries.map((e) => e.kind)).toEqual(['remix']);
    expect(entries[0].remix).toEqual({ sourceId: src.id, name: 'Remix of Source' });
    expect(entries[0].idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('points a saved song at the server id of a loop re-keyed while it was being edited', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    await store.setMeta('rekeyed', { 'local-id': 'server-id' });
    const s = await repo.saveSong({ ...newSong('s'), timeline: [{ id: 'b', loopId: 'local-id', startBar: 0, bars: 1 }, { id: 'c', loopId: 'other', startBar: 1, bars: 1 }] });
    expect((await store.getSong(s.id))!.timeline.map((b) => b.loopId)).toEqual(['server-id', 'other']);
  });

  it('re-queues an edit refused by the server once the item is edited again', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    const l = await repo.saveLoop(newLoop('a'));
    const [e] = await store.outboxList();
    await store.outboxPut({ ...e, held: 'rejected', lastError: 'name: must be 1-100 characters' });
    await repo.saveLoop({ ...l, name: 'fixed' });
    const [again] = await store.outboxList();
    expect(again.held).toBeUndefined();
    expect(again.lastError).toBeUndefined();
  });

  it('re-queues a dirty item whose outbox entry was never written (a crash in between)', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    const l = newLoop('lost entry');
    await store.putLoop({ ...l, dirty: true });
    const s = newSong('lost song');
    await store.putSong({ ...s, dirty: true });
    await store.putLoop(synced('clean'));
    expect(await repo.recover()).toBe(2);
    expect((await store.outboxList()).map((e) => [e.type, e.id]).sort()).toEqual(
      [
        ['loop', l.id],
        ['song', s.id],
      ].sort(),
    );
    expect(await repo.recover()).toBe(0);
  });

  it('resolves conflict groups one by one and releases the put when none is left', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    const base = synced('base', 2);
    const rec: LocalLoop = {
      ...base,
      name: 'mine',
      iconSequence: [{ bar: 0, row: 0, soundId: 'kick', velocity: 0.8, pitch: 36, duration16: 1 }],
      dirty: true,
      conflict: {
        version: 3,
        groups: {
          settings: { mine: { name: 'mine' }, theirs: { name: 'theirs' } },
          steps: { mine: { iconSequence: [{ bar: 0, row: 0, soundId: 'kick', velocity: 0.8, pitch: 36, duration16: 1 }] }, theirs: { iconSequence: [] } },
        },
      },
    };
    await store.putLoop(rec);
    const seq = await store.outboxAdd({ kind: 'put', type: 'loop', id: rec.id, createdAt: rec.createdAt, attempts: 1, held: 'conflict' });
    await repo.resolve('loop', rec.id, 'settings', 'theirs');
    let now = (await store.getLoop(rec.id))!;
    expect(now.name).toBe('theirs');
    expect(Object.keys(now.conflict!.groups)).toEqual(['steps']);
    expect((await store.outboxList())[0].held).toBe('conflict');
    await repo.resolve('loop', rec.id, 'steps', 'mine');
    now = (await store.getLoop(rec.id))!;
    expect(now.conflict).toBeNull();
    expect(now.iconSequence).toHaveLength(1);
    const left = await store.outboxList();
    expect(left.map((e) => e.seq)).toEqual([seq]);
    expect(left[0].held).toBeUndefined();
  });

  it('restores an item deleted on the server as a create, or discards it', async () => {
    const { store } = await makeAdapter(kind);
    const repo = new Repo(store);
    const a = { ...synced('a'), dirty: true, deletedOnServer: true };
    const b = { ...synced('b'), dirty: true, deletedOnServer: true };
    await store.commit({
      putLoops: [a, b],
      outboxAdd: [
        { kind: 'put', type: 'loop', id: a.id, createdAt: a.createdAt, attempts: 1, held: 'deleted' },
        { kind: 'put', type: 'loop', id: b.id, createdAt: b.createdAt, attempts: 1, held: 'deleted' },
      ],
    });
    await repo.restore('loop', a.id);
    await repo.discard('loop', b.id);
    expect(await store.getLoop(a.id)).toMatchObject({ server: null, deletedOnServer: false, dirty: true });
    expect(await store.getLoop(b.id)).toBeUndefined();
    expect((await store.outboxList()).map((e) => [e.id, e.held])).toEqual([[a.id, undefined]]);
  });
});

describe('a crash between the local write and the outbox write (localStorage)', () => {
  it('leaves the edit in place and recover() queues it on the next start', async () => {
    const ls = new MemoryStorage();
    ls.failOn = { match: (k) => k.startsWith(LS_PREFIX + 'outbox'), error: () => new Error('tab killed') };
    const repo = new Repo(new LocalStorageAdapter(ls));
    const l = newLoop('half written');
    await expect(repo.saveLoop(l)).rejects.toThrow('tab killed');
    ls.failOn = null;
    const restarted = new Repo(new LocalStorageAdapter(ls));
    expect(await restarted.store.getLoop(l.id)).toMatchObject({ dirty: true });
    expect(await restarted.store.outboxCount()).toBe(0);
    expect(await restarted.recover()).toBe(1);
    expect((await restarted.store.outboxList()).map((e) => e.id)).toEqual([l.id]);
  });
});
