import { describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import { DB_NAME, DB_VERSION, IdbAdapter, openDatabase } from '../src/storage/idb';
import { legacyLoopId, newLoop, newSong, uuidFrom } from '../src/model';
import { freshFactory } from './helpers';

/** The old client's database: version 1, three stores keyed out-of-line. */
async function oldClientDb(factory: IDBFactory, loops: Record<string, unknown>[], songs: Record<string, unknown>[] = []) {
  const saved = globalThis.indexedDB;
  Object.defineProperty(globalThis, 'indexedDB', { value: factory, configurable: true, writable: true });
  try {
    const db = await openDB(DB_NAME, 1, {
      upgrade(d) {
        d.createObjectStore('loops');
        d.createObjectStore('songs');
        d.createObjectStore('samples');
      },
    });
    for (const l of loops) await db.put('loops', l, l.id as string);
    for (const s of songs) await db.put('songs', s, s.id as string);
    await db.put('samples', new Blob(['RIFF']), 'kick');
    db.close();
  } finally {
    Object.defineProperty(globalThis, 'indexedDB', { value: saved, configurable: true, writable: true });
  }
}

const OLD_LOOP = {
  id: '6f1c2a54-1b0e-4c59-9d55-0d6a1f0b9e11',
  name: 'Old groove',
  bars: 4,
  color: '#FFD11A',
  bpm: 96,
  chordProgression: [
    { bar: 0, chord: 'I' },
    { bar: 1, chord: 'vi' },
  ],
  iconSequence: [{ bar: 0, row: 0, soundId: 'kick', velocity: 0.9, pitch: 36, duration16: 1 }],
  schemaVersion: 1,
  updatedAt: '2025-10-20T12:00:00.000Z',
};

describe('IndexedDB migrations', () => {
  it('creates every store of the current version in a new database', async () => {
    const f = freshFactory();
    const db = await openDatabase(f);
    expect(db.version).toBe(DB_VERSION);
    expect([...db.objectStoreNames].sort()).toEqual(['loops', 'meta', 'outbox', 'samples', 'songs']);
    db.close();
  });

  it('upgrades the old client version-1 database without losing a loop, and queues each for upload', async () => {
    const f = freshFactory();
    const second = { ...OLD_LOOP, id: 'a1b2c3d4-0000-4000-8000-000000000002', name: 'Second', bars: '2', color: undefined };
    await oldClientDb(f, [OLD_LOOP, second]);
    const store = await IdbAdapter.open(f);
    const loops = (await store.listLoops()).sort((a, b) => a.name.localeCompare(b.name));
    expect(loops.map((l) => [l.id, l.name])).toEqual([
      [OLD_LOOP.id, 'Old groove'],
      [second.id, 'Second'],
    ]);
    expect(loops[0]).toMatchObject({
      bars: 4,
      bpm: 96,
      chordProgression: OLD_LOOP.chordProgression,
      iconSequence: OLD_LOOP.iconSequence,
      dirty: true,
      server: null,
      isPublic: false,
      updatedAt: OLD_LOOP.updatedAt,
    });
    expect(loops[1]).toMatchObject({ bars: 2, color: '#FFD11A' });
    const outbox = await store.outboxList();
    expect(outbox.map((e) => [e.kind, e.type, e.id]).sort()).toEqual(
      [
        ['put', 'loop', OLD_LOOP.id],
        ['put', 'loop', second.id],
      ].sort(),
    );
    expect(await store.getSample('kick')).toBeDefined();
    store.close();
  });

  it('re-keys an old loop whose id is not a UUID and points its songs at the new id', async () => {
    const f = freshFactory();
    const odd = { ...OLD_LOOP, id: 'loop-1' };
    const song = { id: 'song-1', name: 'Old song', bpm: 100, timeSignature: '4/4', timeline: [{ id: 'b1', loopId: 'loop-1', startBar: 0, bars: 4 }], totalBars: 4, schemaVersion: 1 };
    await oldClientDb(f, [odd], [song]);
    const store = await IdbAdapter.open(f);
    const [l] = await store.listLoops();
    expect(l.id).toBe(uuidFrom('loop-1'));
    expect(l.id).toBe(legacyLoopId('loop-1'));
    const [s] = await store.listSongs();
    expect(s.id).toBe(uuidFrom('song-1'));
    expect(s.timeline[0].loopId).toBe(l.id);
    store.close();
  });

  it('keeps an invalid old loop aside in meta instead of dropping it silently', async () => {
    const f = freshFactory();
    const bad = { ...OLD_LOOP, id: 'b0000000-0000-4000-8000-000000000000', bars: 3 };
    await oldClientDb(f, [OLD_LOOP, bad]);
    const store = await IdbAdapter.open(f);
    expect((await store.listLoops()).map((l) => l.id)).toEqual([OLD_LOOP.id]);
    const rejected = await store.getMeta<{ type: string; raw: { id: string }; error: string }[]>('legacyRejected');
    expect(rejected).toHaveLength(1);
    expect(rejected![0].raw.id).toBe(bad.id);
    expect(rejected![0].error).toMatch(/^bars/);
    store.close();
  });

  it('upgrades an empty version-1 database', async () => {
    const f = freshFactory();
    await oldClientDb(f, []);
    const store = await IdbAdapter.open(f);
    expect(await store.listLoops()).toEqual([]);
    expect(await store.outboxCount()).toBe(0);
    store.close();
  });

  it('upgrades a version-2 database with loops, songs, outbox entries and meta', async () => {
    const f = freshFactory();
    const db2 = await openDatabase(f, 2);
    const l = newLoop('v2 loop');
    const s = newSong('v2 song');
    s.timeline = [{ id: 'b', loopId: l.id, startBar: 0, bars: 1 }];
    await db2.put('loops', l, l.id);
    await db2.put('songs', s, s.id);
    await db2.add('outbox', { kind: 'put', type: 'loop', id: l.id, createdAt: l.createdAt, attempts: 2 });
    await db2.add('outbox', { kind: 'like', type: 'loop', id: 'other', liked: true, createdAt: l.createdAt, attempts: 0 });
    await db2.put('meta', 'CURSOR', 'cursor');
    db2.close();

    const store = await IdbAdapter.open(f);
    expect(await store.getLoop(l.id)).toEqual(l);
    expect(await store.getSong(s.id)).toEqual(s);
    expect((await store.outboxList()).map((e) => [e.seq, e.kind, e.attempts])).toEqual([
      [1, 'put', 2],
      [2, 'like', 0],
    ]);
    expect((await store.outboxForItem('loop', l.id)).map((e) => e.kind)).toEqual(['put']);
    expect(await store.getMeta('cursor')).toBe('CURSOR');
    store.close();
  });

  it('opens a current database again without changing it', async () => {
    const f = freshFactory();
    const a = await IdbAdapter.open(f);
    const l = newLoop('kept');
    await a.putLoop(l);
    await a.outboxAdd({ kind: 'put', type: 'loop', id: l.id, createdAt: l.createdAt, attempts: 0 });
    a.close();
    const b = await IdbAdapter.open(f);
    expect(await b.getLoop(l.id)).toEqual(l);
    expect(await b.outboxCount()).toBe(1);
    b.close();
  });

  it('upgrades version 1 → 2 → 3 in two steps the same as in one', async () => {
    const f1 = freshFactory();
    const f2 = freshFactory();
    await oldClientDb(f1, [OLD_LOOP]);
    await oldClientDb(f2, [OLD_LOOP]);
    (await openDatabase(f1, 2)).close();
    const stepwise = await IdbAdapter.open(f1);
    const direct = await IdbAdapter.open(f2);
    const strip = (x: object) => ({ ...x, createdAt: undefined });
    expect((await stepwise.listLoops()).map(strip)).toEqual((await direct.listLoops()).map(strip));
    expect((await stepwise.outboxList()).map((e) => [e.kind, e.id])).toEqual((await direct.outboxList()).map((e) => [e.kind, e.id]));
    stepwise.close();
    direct.close();
  });
});
