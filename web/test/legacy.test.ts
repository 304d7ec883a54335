import { describe, expect, it } from 'vitest';
import { LEGACY_IMPORT_META, LEGACY_LOOPS_KEY, LEGACY_SONGS_KEY, absorbLocalStorage, importLegacy, openStorage } from '../src/storage/open';
import { LocalStorageAdapter } from '../src/storage/local';
import { IdbAdapter } from '../src/storage/idb';
import { newLoop, uuidFrom } from '../src/model';
import { ADAPTERS, MemoryStorage, freshFactory, makeAdapter } from './helpers';

const good = {
  id: 'c0ffee00-0000-4000-8000-000000000001',
  name: 'From localStorage',
  bars: 4,
  color: '#00FF00',
  bpm: 110,
  chordProgression: [{ bar: 0, chord: 'IV' }],
  iconSequence: [{ bar: 4, row: 0, soundId: 'hihat', pitch: 42 }],
  schemaVersion: 1,
  updatedAt: '2025-10-21T10:00:00.000Z',
};

function oldKeys(ls: Storage) {
  ls.setItem(
    LEGACY_LOOPS_KEY,
    JSON.stringify({
      [good.id]: good,
      'short-id': { ...good, id: 'short-id', name: 'Short id' },
      bad: { ...good, id: 'bad', iconSequence: [{ bar: 0, row: 0, soundId: 'kick' }] },
    }),
  );
  ls.setItem(
    LEGACY_SONGS_KEY,
    JSON.stringify({ s1: { id: 's1', name: 'Old song', bpm: 120, timeSignature: '4/4', timeline: [{ id: 'b', loopId: 'short-id', startBar: 0, bars: 4 }], totalBars: 4, schemaVersion: 1 } }),
  );
}

describe.each(ADAPTERS)('importing the old client localStorage keys into the %s adapter', (kind) => {
  it('imports valid loops and songs, fills defaults, queues them, and reports the invalid one', async () => {
    const { store } = await makeAdapter(kind);
    const ls = new MemoryStorage();
    oldKeys(ls);
    const r = await importLegacy(store, ls);
    expect(r).toMatchObject({ loops: 2, songs: 1, skipped: 0 });
    expect(r!.errors).toEqual(['loop bad: iconSequence[0].pitch: must be an integer 0-127']);
    const l = await store.getLoop(good.id);
    expect(l).toMatchObject({ name: 'From localStorage', dirty: true, server: null });
    expect(l!.iconSequence[0]).toEqual({ bar: 4, row: 0, soundId: 'hihat', velocity: 0.8, pitch: 42, duration16: 1 });
    const song = await store.getSong(uuidFrom('s1'));
    expect(song!.timeline[0].loopId).toBe(uuidFrom('short-id'));
    expect((await store.outboxList()).map((e) => e.kind)).toEqual(['put', 'put', 'put']);
    expect(ls.getItem(LEGACY_LOOPS_KEY)).not.toBeNull();
  });

  it('imports once: a second run adds nothing', async () => {
    const { store } = await makeAdapter(kind);
    const ls = new MemoryStorage();
    oldKeys(ls);
    await importLegacy(store, ls);
    expect(await importLegacy(store, ls)).toBeNull();
    expect(await store.listLoops()).toHaveLength(2);
    expect(await store.outboxCount()).toBe(3);
  });

  it('adds nothing even when the record of the first run was lost', async () => {
    const { store } = await makeAdapter(kind);
    const ls = new MemoryStorage();
    oldKeys(ls);
    await importLegacy(store, ls);
    await store.deleteMeta(LEGACY_IMPORT_META);
    const r = await importLegacy(store, ls);
    expect(r).toMatchObject({ loops: 0, songs: 0, skipped: 3 });
    expect(await store.listLoops()).toHaveLength(2);
    expect(await store.outboxCount()).toBe(3);
  });

  it('does not overwrite a loop edited since with the old copy', async () => {
    const { store } = await makeAdapter(kind);
    const ls = new MemoryStorage();
    oldKeys(ls);
    const mine = { ...newLoop('Edited here'), id: good.id };
    await store.putLoop(mine);
    await importLegacy(store, ls);
    expect((await store.getLoop(good.id))!.name).toBe('Edited here');
  });

  it('reports old keys that are not JSON objects and imports nothing from them', async () => {
    const { store } = await makeAdapter(kind);
    const ls = new MemoryStorage();
    ls.setItem(LEGACY_LOOPS_KEY, '{not json');
    ls.setItem(LEGACY_SONGS_KEY, '[1,2]');
    const r = await importLegacy(store, ls);
    expect(r!.errors).toEqual([`${LEGACY_LOOPS_KEY}: not JSON`, `${LEGACY_SONGS_KEY}: not an object of id → item`]);
    expect(await store.listLoops()).toEqual([]);
  });
});

describe('choosing the adapter', () => {
  it('uses IndexedDB when it opens', async () => {
    const o = await openStorage({ idb: freshFactory(), ls: new MemoryStorage() });
    expect(o.store.kind).toBe('indexeddb');
    expect(o.notice).toBeNull();
  });

  it('falls back to localStorage with a notice when there is no IndexedDB', async () => {
    const ls = new MemoryStorage();
    oldKeys(ls);
    const o = await openStorage({ idb: null, ls });
    expect(o.store.kind).toBe('localstorage');
    expect(o.notice).toMatch(/IndexedDB is not available here \(this browser has no IndexedDB\)/);
    expect(o.imported).toMatchObject({ loops: 2 });
  });

  it('falls back to localStorage when IndexedDB refuses to open', async () => {
    const refusing = {
      open() {
        throw Object.assign(new Error('A mutation operation was attempted on a database that did not allow mutations.'), { name: 'InvalidStateError' });
      },
    } as unknown as IDBFactory;
    const o = await openStorage({ idb: refusing, ls: new MemoryStorage(), timeoutMs: 500 });
    expect(o.store.kind).toBe('localstorage');
    expect(o.notice).toMatch(/did not allow mutations/);
  });

  it('falls back to localStorage when IndexedDB never answers', async () => {
    // A real request object that never fires success or error.
    const hanging = { open: () => new IDBOpenDBRequest() } as unknown as IDBFactory;
    const o = await openStorage({ idb: hanging, ls: new MemoryStorage(), timeoutMs: 50 });
    expect(o.store.kind).toBe('localstorage');
    expect(o.notice).toMatch(/no answer in 50 ms/);
  });

  it('moves what localStorage held into IndexedDB once IndexedDB works again', async () => {
    const ls = new MemoryStorage();
    const lsStore = new LocalStorageAdapter(ls);
    const l = newLoop('made while IndexedDB was off');
    await lsStore.commit({ putLoops: [l], outboxAdd: [{ kind: 'put', type: 'loop', id: l.id, createdAt: l.createdAt, attempts: 0 }], meta: { cursor: 'C' } });
    const f = freshFactory();
    const o = await openStorage({ idb: f, ls });
    expect(o.store.kind).toBe('indexeddb');
    expect(await o.store.getLoop(l.id)).toEqual(l);
    expect((await o.store.outboxList()).map((e) => e.id)).toEqual([l.id]);
    expect(await o.store.getMeta('cursor')).toBe('C');
    expect(await lsStore.listLoops()).toEqual([]);
    expect(await absorbLocalStorage(o.store, lsStore)).toBe(0);
    o.store.close();
    const again = await IdbAdapter.open(f);
    expect(await again.listLoops()).toHaveLength(1);
    again.close();
  });
});
