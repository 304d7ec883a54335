/*
 * The IndexedDB adapter: database `music-playground-v1` through idb.
 *
 * Schema versions (each upgrade runs every step after the version found,
 * in order, inside the one versionchange transaction, so a failure leaves
 * the database at its old version with its data):
 *   1  the old client: stores loops, songs, samples, keys out-of-line.
 *   2  + outbox (key `seq`, auto-increment) and meta (out-of-line);
 *      every old loop/song is checked and brought to the local record
 *      shape (unsynced, so it is queued for upload); non-UUID ids are
 *      re-minted and song timelines follow; invalid ones are kept aside
 *      in meta `legacyRejected` rather than lost.
 *   3  loops and songs keyed in-line by `id`; outbox index `item`
 *      ([type, id]) so an item's pending entries are found without a scan.
 */
import { openDB, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { nowIso, parseLegacyLoop, parseLegacySong, remapTimeline, type ItemType, type LocalLoop, type LocalSong } from '../model';
import { StorageFullError, type Commit, type OutboxEntry, type StorageAdapter } from './types';

export const DB_NAME = 'music-playground-v1';
export const DB_VERSION = 3;

type AnyDB = IDBPDatabase<unknown>;
type UpgradeTx = IDBPTransaction<unknown, string[], 'versionchange'>;

function v1(db: AnyDB): void {
  for (const s of ['loops', 'songs', 'samples']) if (!db.objectStoreNames.contains(s)) db.createObjectStore(s);
}

async function v2(db: AnyDB, tx: UpgradeTx): Promise<void> {
  db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
  db.createObjectStore('meta');
  const loops = tx.objectStore('loops');
  const songs = tx.objectStore('songs');
  const outbox = tx.objectStore('outbox');
  const meta = tx.objectStore('meta');
  const rejected: { type: ItemType; raw: unknown; error: string }[] = [];
  const idMap = new Map<string, string>();
  const t = nowIso();
  const oldLoopKeys = await loops.getAllKeys();
  for (const key of oldLoopKeys) {
    const raw = await loops.get(key);
    try {
      const { loop, oldId } = parseLegacyLoop(raw);
      if (loop.id !== oldId) idMap.set(oldId, loop.id);
      if (key !== loop.id) await loops.delete(key);
      await loops.put(loop, loop.id);
      await outbox.add({ kind: 'put', type: 'loop', id: loop.id, createdAt: t, attempts: 0 } satisfies OutboxEntry);
    } catch (e) {
      rejected.push({ type: 'loop', raw, error: String((e as Error).message) });
      await loops.delete(key);
    }
  }
  for (const key of await songs.getAllKeys()) {
    const raw = await songs.get(key);
    try {
      const { song } = parseLegacySong(raw);
      remapTimeline(song, idMap);
      if (key !== song.id) await songs.delete(key);
      await songs.put(song, song.id);
      await outbox.add({ kind: 'put', type: 'song', id: song.id, createdAt: t, attempts: 0 } satisfies OutboxEntry);
    } catch (e) {
      rejected.push({ type: 'song', raw, error: String((e as Error).message) });
      await songs.delete(key);
    }
  }
  if (rejected.length) await meta.put(rejected, 'legacyRejected');
}

async function v3(db: AnyDB, tx: UpgradeTx): Promise<void> {
  for (const name of ['loops', 'songs']) {
    const rows = await tx.objectStore(name).getAll();
    db.deleteObjectStore(name);
    const s = db.createObjectStore(name, { keyPath: 'id' });
    for (const r of rows) await s.put(r);
  }
  tx.objectStore('outbox').createIndex('item', ['type', 'id']);
}

/**
 * Opens (creating or upgrading) the database at `version` (default: the
 * current one) with the given IDBFactory.  Tests open older versions to
 * make databases with data in them, then upgrade those.
 */
export async function openDatabase(factory: IDBFactory = indexedDB, version = DB_VERSION, name = DB_NAME): Promise<AnyDB> {
  const saved = globalThis.indexedDB;
  // idb's openDB uses the global factory; point it at ours for the call.
  if (factory !== saved) Object.defineProperty(globalThis, 'indexedDB', { value: factory, configurable: true, writable: true });
  try {
    return await openDB(name, version, {
      async upgrade(db, oldVersion, newVersion, tx) {
        const target = newVersion ?? version;
        const d = db as unknown as AnyDB;
        const t = tx as unknown as UpgradeTx;
        if (oldVersion < 1 && target >= 1) v1(d);
        if (oldVersion < 2 && target >= 2) await v2(d, t);
        if (oldVersion < 3 && target >= 3) await v3(d, t);
      },
      blocking(_cur, _next, event) {
        (event.target as IDBDatabase).close();
      },
    });
  } finally {
    if (factory !== saved) Object.defineProperty(globalThis, 'indexedDB', { value: saved, configurable: true, writable: true });
  }
}

function quota(e: unknown): never {
  if (e && typeof e === 'object' && (e as { name?: string }).name === 'QuotaExceededError') throw new StorageFullError('the browser refused more data');
  throw e;
}

export class IdbAdapter implements StorageAdapter {
  readonly kind = 'indexeddb' as const;
  private constructor(private db: AnyDB) {}

  static async open(factory: IDBFactory = indexedDB, name = DB_NAME): Promise<IdbAdapter> {
    return new IdbAdapter(await openDatabase(factory, DB_VERSION, name));
  }

  getLoop(id: string): Promise<LocalLoop | undefined> {
    return this.db.get('loops', id) as Promise<LocalLoop | undefined>;
  }
  async putLoop(loop: LocalLoop): Promise<void> {
    await this.db.put('loops', loop).catch(quota);
  }
  async deleteLoop(id: string): Promise<void> {
    await this.db.delete('loops', id);
  }
  listLoops(): Promise<LocalLoop[]> {
    return this.db.getAll('loops') as Promise<LocalLoop[]>;
  }

  getSong(id: string): Promise<LocalSong | undefined> {
    return this.db.get('songs', id) as Promise<LocalSong | undefined>;
  }
  async putSong(song: LocalSong): Promise<void> {
    await this.db.put('songs', song).catch(quota);
  }
  async deleteSong(id: string): Promise<void> {
    await this.db.delete('songs', id);
  }
  listSongs(): Promise<LocalSong[]> {
    return this.db.getAll('songs') as Promise<LocalSong[]>;
  }

  async putSample(key: string, blob: Blob): Promise<void> {
    await this.db.put('samples', blob, key).catch(quota);
  }
  getSample(key: string): Promise<Blob | undefined> {
    return this.db.get('samples', key) as Promise<Blob | undefined>;
  }
  async deleteSample(key: string): Promise<void> {
    await this.db.delete('samples', key);
  }

  async outboxAdd(entry: OutboxEntry): Promise<number> {
    const e = { ...entry };
    delete e.seq;
    return (await this.db.add('outbox', e).catch(quota)) as number;
  }
  outboxList(): Promise<OutboxEntry[]> {
    return this.db.getAll('outbox') as Promise<OutboxEntry[]>;
  }
  async outboxForItem(type: ItemType, id: string): Promise<OutboxEntry[]> {
    const rows = (await this.db.getAllFromIndex('outbox', 'item', [type, id])) as OutboxEntry[];
    return rows.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  }
  async outboxPut(entry: OutboxEntry): Promise<void> {
    await this.db.put('outbox', entry).catch(quota);
  }
  async outboxDelete(seq: number): Promise<void> {
    await this.db.delete('outbox', seq);
  }
  outboxCount(): Promise<number> {
    return this.db.count('outbox');
  }

  getMeta<T>(key: string): Promise<T | undefined> {
    return this.db.get('meta', key) as Promise<T | undefined>;
  }
  async setMeta(key: string, value: unknown): Promise<void> {
    await this.db.put('meta', value, key).catch(quota);
  }
  async deleteMeta(key: string): Promise<void> {
    await this.db.delete('meta', key);
  }

  /** One readwrite transaction over every store the commit touches. */
  async commit(c: Commit): Promise<void> {
    const tx = this.db.transaction(['loops', 'songs', 'outbox', 'meta'], 'readwrite');
    const ops: Promise<unknown>[] = [];
    for (const l of c.putLoops ?? []) ops.push(tx.objectStore('loops').put(l));
    for (const id of c.deleteLoops ?? []) ops.push(tx.objectStore('loops').delete(id));
    for (const s of c.putSongs ?? []) ops.push(tx.objectStore('songs').put(s));
    for (const id of c.deleteSongs ?? []) ops.push(tx.objectStore('songs').delete(id));
    for (const e of c.outboxAdd ?? []) {
      const x = { ...e };
      delete x.seq;
      ops.push(tx.objectStore('outbox').add(x));
    }
    for (const e of c.outboxPut ?? []) ops.push(tx.objectStore('outbox').put(e));
    for (const seq of c.outboxDelete ?? []) ops.push(tx.objectStore('outbox').delete(seq));
    for (const [k, v] of Object.entries(c.meta ?? {})) ops.push(v === undefined ? tx.objectStore('meta').delete(k) : tx.objectStore('meta').put(v, k));
    ops.push(tx.done);
    await Promise.all(ops).catch(quota);
  }

  async clear(): Promise<void> {
    const tx = this.db.transaction(['loops', 'songs', 'samples', 'outbox', 'meta'], 'readwrite');
    await Promise.all([
      tx.objectStore('loops').clear(),
      tx.objectStore('songs').clear(),
      tx.objectStore('samples').clear(),
      tx.objectStore('outbox').clear(),
      tx.objectStore('meta').clear(),
      tx.done,
    ]);
  }

  close(): void {
    this.db.close();
  }
}
