import { describe, expect, it } from 'vitest';
import { newLoop, newSong } from '../src/model';
import { LocalStorageAdapter, LS_PREFIX } from '../src/storage/local';
import { StorageFullError, type OutboxEntry } from '../src/storage/types';
import { ADAPTERS, MemoryStorage, makeAdapter } from './helpers';

const entry = (over: Partial<OutboxEntry> = {}): OutboxEntry => ({
  kind: 'put',
  type: 'loop',
  id: 'x',
  createdAt: '2026-01-01T00:00:00.000Z',
  attempts: 0,
  ...over,
});

describe.each(ADAPTERS)('the %s adapter', (kind) => {
  it('stores a loop and reads back the same record', async () => {
    const { store } = await makeAdapter(kind);
    const l = newLoop('Night drive');
    l.chordProgression = [{ bar: 0, chord: 'Am7' }];
    l.iconSequence = [{ bar: 3, row: 1, soundId: 'snare', velocity: 0.123, pitch: 38, duration16: 2 }];
    await store.putLoop(l);
    expect(await store.getLoop(l.id)).toEqual(l);
  });

  it('answers undefined for a loop it does not have', async () => {
    const { store } = await makeAdapter(kind);
    expect(await store.getLoop('nope')).toBeUndefined();
  });

  it('replaces a loop put again under the same id', async () => {
    const { store } = await makeAdapter(kind);
    const l = newLoop('a');
    await store.putLoop(l);
    await store.putLoop({ ...l, name: 'b' });
    expect((await store.getLoop(l.id))!.name).toBe('b');
    expect(await store.listLoops()).toHaveLength(1);
  });

  it('lists every loop and forgets a deleted one', async () => {
    const { store } = await makeAdapter(kind);
    const a = newLoop('a');
    const b = newLoop('b');
    await store.putLoop(a);
    await store.putLoop(b);
    expect((await store.listLoops()).map((l) => l.name).sort()).toEqual(['a', 'b']);
    await store.deleteLoop(a.id);
    expect(await store.getLoop(a.id)).toBeUndefined();
    expect((await store.listLoops()).map((l) => l.id)).toEqual([b.id]);
  });

  it('treats deleting a missing loop as done', async () => {
    const { store } = await makeAdapter(kind);
    await expect(store.deleteLoop('missing')).resolves.toBeUndefined();
  });

  it('stores, lists and deletes songs apart from loops', async () => {
    const { store } = await makeAdapter(kind);
    const s = newSong('Verse');
    s.timeline = [{ id: 'b1', loopId: newLoop().id, startBar: 0, bars: 4, color: '#FF00AA' }];
    await store.putSong(s);
    expect(await store.getSong(s.id)).toEqual(s);
    expect(await store.listSongs()).toHaveLength(1);
    expect(await store.listLoops()).toHaveLength(0);
    await store.deleteSong(s.id);
    expect(await store.getSong(s.id)).toBeUndefined();
  });

  it('keeps a sample Blob with its bytes and type', async () => {
    const { store } = await makeAdapter(kind);
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    await store.putSample('kick.wav', new Blob([bytes], { type: 'audio/wav' }));
    const b = await store.getSample('kick.wav');
    expect(b).toBeDefined();
    expect(b!.type).toBe('audio/wav');
    expect(new Uint8Array(await b!.arrayBuffer())).toEqual(bytes);
    await store.deleteSample('kick.wav');
    expect(await store.getSample('kick.wav')).toBeUndefined();
  });

  it('numbers outbox entries in increasing order and lists them oldest first', async () => {
    const { store } = await makeAdapter(kind);
    const s1 = await store.outboxAdd(entry({ id: 'a' }));
    const s2 = await store.outboxAdd(entry({ id: 'b' }));
    const s3 = await store.outboxAdd(entry({ id: 'a', kind: 'like', liked: true }));
    expect(s1).toBeLessThan(s2);
    expect(s2).toBeLessThan(s3);
    expect((await store.outboxList()).map((e) => [e.seq, e.id])).toEqual([
      [s1, 'a'],
      [s2, 'b'],
      [s3, 'a'],
    ]);
    expect(await store.outboxCount()).toBe(3);
  });

  it('finds the outbox entries of one item only', async () => {
    const { store } = await makeAdapter(kind);
    await store.outboxAdd(entry({ id: 'a' }));
    await store.outboxAdd(entry({ id: 'a', type: 'song' }));
    await store.outboxAdd(entry({ id: 'b' }));
    await store.outboxAdd(entry({ id: 'a', kind: 'play', idempotencyKey: 'k1' }));
    const mine = await store.outboxForItem('loop', 'a');
    expect(mine.map((e) => e.kind)).toEqual(['put', 'play']);
    expect(mine[1].idempotencyKey).toBe('k1');
  });

  it('updates and deletes an outbox entry by its number', async () => {
    const { store } = await makeAdapter(kind);
    const seq = await store.outboxAdd(entry());
    await store.outboxPut({ ...entry(), seq, attempts: 3, lastError: 'HTTP 503' });
    expect((await store.outboxList())[0]).toMatchObject({ seq, attempts: 3, lastError: 'HTTP 503' });
    await store.outboxDelete(seq);
    expect(await store.outboxList()).toEqual([]);
    expect(await store.outboxCount()).toBe(0);
  });

  it('never reuses the number of a deleted outbox entry', async () => {
    const { store } = await makeAdapter(kind);
    const s1 = await store.outboxAdd(entry());
    await store.outboxDelete(s1);
    const s2 = await store.outboxAdd(entry());
    expect(s2).toBeGreaterThan(s1);
  });

  it('keeps meta values of any JSON shape and deletes them', async () => {
    const { store } = await makeAdapter(kind);
    expect(await store.getMeta('cursor')).toBeUndefined();
    await store.setMeta('cursor', 'AQAB');
    await store.setMeta('auth', { token: 't', user: { id: 'u' } });
    expect(await store.getMeta('cursor')).toBe('AQAB');
    expect(await store.getMeta('auth')).toEqual({ token: 't', user: { id: 'u' } });
    await store.deleteMeta('cursor');
    expect(await store.getMeta('cursor')).toBeUndefined();
  });

  it('applies a commit of items, outbox entries and meta together', async () => {
    const { store } = await makeAdapter(kind);
    const old = newLoop('old');
    await store.putLoop(old);
    const gone = await store.outboxAdd(entry({ id: old.id }));
    const l = newLoop('new');
    const s = newSong('song');
    await store.commit({
      putLoops: [l],
      deleteLoops: [old.id],
      putSongs: [s],
      outboxAdd: [entry({ id: l.id }), entry({ id: s.id, type: 'song' })],
      outboxDelete: [gone],
      meta: { cursor: 'C1' },
    });
    expect((await store.listLoops()).map((x) => x.id)).toEqual([l.id]);
    expect((await store.listSongs()).map((x) => x.id)).toEqual([s.id]);
    expect((await store.outboxList()).map((e) => e.id)).toEqual([l.id, s.id]);
    expect(await store.getMeta('cursor')).toBe('C1');
  });

  it('removes a meta value committed as undefined', async () => {
    const { store } = await makeAdapter(kind);
    await store.setMeta('cursor', 'x');
    await store.commit({ meta: { cursor: undefined } });
    expect(await store.getMeta('cursor')).toBeUndefined();
  });

  it('forgets everything on clear', async () => {
    const { store } = await makeAdapter(kind);
    await store.putLoop(newLoop());
    await store.putSong(newSong());
    await store.putSample('s', new Blob(['x']));
    await store.outboxAdd(entry());
    await store.setMeta('cursor', 'c');
    await store.clear();
    expect(await store.listLoops()).toEqual([]);
    expect(await store.listSongs()).toEqual([]);
    expect(await store.getSample('s')).toBeUndefined();
    expect(await store.outboxCount()).toBe(0);
    expect(await store.getMeta('cursor')).toBeUndefined();
  });
});

describe('the localStorage adapter when storage is full', () => {
  it('refuses a write past its limit with a clear message and writes nothing', async () => {
    const ls = new MemoryStorage();
    const store = new LocalStorageAdapter(ls, 3000);
    const small = newLoop('small');
    await store.putLoop(small);
    const big = newLoop('big');
    big.iconSequence = Array.from({ length: 64 }, (_, i) => ({ bar: i, row: 0, soundId: 'kick', velocity: 0.8, pitch: 36, duration16: 1 }));
    const before = ls.length;
    const err = await store.putLoop(big).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFullError);
    expect((err as Error).message).toMatch(/^Local storage is full .*Your last change was not saved/);
    expect(ls.length).toBe(before);
    expect(await store.getLoop(big.id)).toBeUndefined();
    expect(await store.getLoop(small.id)).toEqual(small);
  });

  it('refuses a whole commit past the limit, outbox entries included', async () => {
    const ls = new MemoryStorage();
    const l = newLoop('x'.repeat(100));
    const one = JSON.stringify(l).length + 100;
    const store = new LocalStorageAdapter(ls, Math.floor(one * 1.5));
    const err = await store
      .commit({ putLoops: [l, { ...l, id: 'second' }], outboxAdd: [entry({ id: l.id })] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFullError);
    expect(ls.length).toBe(0);
  });

  it('turns the browser QuotaExceededError into the same clear error', async () => {
    const ls = new MemoryStorage();
    ls.failOn = {
      match: (k) => k.startsWith(LS_PREFIX + 'loop:'),
      error: () => Object.assign(new Error('quota'), { name: 'QuotaExceededError' }),
    };
    const store = new LocalStorageAdapter(ls);
    await expect(store.putLoop(newLoop())).rejects.toBeInstanceOf(StorageFullError);
  });

  it('counts a replaced record once when checking the size', async () => {
    const ls = new MemoryStorage();
    const l = newLoop('n');
    const store = new LocalStorageAdapter(ls, 2000);
    await store.putLoop(l);
    const used = store.usage();
    expect(used).toBeLessThan(1000);
    for (let i = 0; i < 20; i++) await store.putLoop({ ...l, name: 'n' + i });
    expect(store.usage()).toBeLessThan(used + 10);
  });
});
