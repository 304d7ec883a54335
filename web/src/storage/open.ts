/*
 * Choosing the adapter, and bringing in data from older places.
 *
 * openStorage(): IndexedDB when the browser has it and it opens within a
 * few seconds; otherwise (missing, refused in a private window, over
 * quota, hanging) localStorage, with a notice the UI shows.  When
 * IndexedDB works again after a time on localStorage, what localStorage
 * holds is moved into IndexedDB.  Then the old client's localStorage keys
 * are imported once (importLegacy).
 */
import { nowIso, parseLegacyLoop, parseLegacySong, type LocalLoop, type LocalSong } from '../model';
import { IdbAdapter } from './idb';
import { LocalStorageAdapter, LS_PREFIX } from './local';
import type { OutboxEntry, StorageAdapter } from './types';

export const LEGACY_LOOPS_KEY = 'music-playground:loops';
export const LEGACY_SONGS_KEY = 'music-playground:songs';
export const LEGACY_IMPORT_META = 'legacyImport';

export interface LegacyImportResult {
  loops: number;
  songs: number;
  skipped: number;
  errors: string[];
}

function readMap(ls: Storage, key: string, errors: string[]): [string, unknown][] {
  const raw = ls.getItem(key);
  if (raw === null) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      errors.push(`${key}: not an object of id → item`);
      return [];
    }
    return Object.entries(v as Record<string, unknown>);
  } catch {
    errors.push(`${key}: not JSON`);
    return [];
  }
}

/**
 * Imports the old client's `music-playground:loops` and
 * `music-playground:songs` (objects id → item) into `store`: each item is
 * validated (invalid ones are reported by id, never half-imported), stored
 * as an unsynced local item and queued for upload.  Idempotent: the run is
 * recorded in meta, and an item whose (derived) id is already stored is
 * skipped, so a second run — or a run after the record was lost — adds
 * nothing.  The old keys are left in place for the old client.
 */
export async function importLegacy(store: StorageAdapter, ls: Storage | undefined): Promise<LegacyImportResult | null> {
  if (!ls) return null;
  if (await store.getMeta(LEGACY_IMPORT_META)) return null;
  const errors: string[] = [];
  const loopsRaw = readMap(ls, LEGACY_LOOPS_KEY, errors);
  const songsRaw = readMap(ls, LEGACY_SONGS_KEY, errors);
  const putLoops: LocalLoop[] = [];
  const putSongs: LocalSong[] = [];
  const outboxAdd: OutboxEntry[] = [];
  let skipped = 0;
  const t = nowIso();
  for (const [key, raw] of loopsRaw) {
    try {
      const { loop } = parseLegacyLoop(raw);
      if ((await store.getLoop(loop.id)) || putLoops.some((l) => l.id === loop.id)) {
        skipped++;
        continue;
      }
      putLoops.push(loop);
      outboxAdd.push({ kind: 'put', type: 'loop', id: loop.id, createdAt: t, attempts: 0 });
    } catch (e) {
      errors.push(`loop ${key}: ${(e as Error).message}`);
    }
  }
  for (const [key, raw] of songsRaw) {
    try {
      const { song } = parseLegacySong(raw);
      if ((await store.getSong(song.id)) || putSongs.some((s) => s.id === song.id)) {
        skipped++;
        continue;
      }
      putSongs.push(song);
      outboxAdd.push({ kind: 'put', type: 'song', id: song.id, createdAt: t, attempts: 0 });
    } catch (e) {
      errors.push(`song ${key}: ${(e as Error).message}`);
    }
  }
  const result: LegacyImportResult = { loops: putLoops.length, songs: putSongs.length, skipped, errors };
  await store.commit({ putLoops, putSongs, outboxAdd, meta: { [LEGACY_IMPORT_META]: { at: t, ...result } } });
  return result;
}

/** Moves everything a LocalStorageAdapter holds into `to`, then clears it. */
export async function absorbLocalStorage(to: StorageAdapter, from: LocalStorageAdapter): Promise<number> {
  const loops = await from.listLoops();
  const songs = await from.listSongs();
  const outbox = await from.outboxList();
  if (!loops.length && !songs.length && !outbox.length) return 0;
  const meta: Record<string, unknown> = {};
  for (const k of ['cursor', 'auth', LEGACY_IMPORT_META]) {
    const v = await from.getMeta(k);
    if (v !== undefined && (await to.getMeta(k)) === undefined) meta[k] = v;
  }
  await to.commit({
    putLoops: loops,
    putSongs: songs,
    outboxAdd: outbox.map((e) => ({ ...e, seq: undefined })),
    meta,
  });
  await from.clear();
  return loops.length + songs.length;
}

function hasLocalData(ls: Storage): boolean {
  for (let i = 0; i < ls.length; i++) if (ls.key(i)!.startsWith(LS_PREFIX)) return true;
  return false;
}

export interface OpenedStorage {
  store: StorageAdapter;
  notice: string | null;
  imported: LegacyImportResult | null;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export async function openStorage(opts: { idb?: IDBFactory | null; ls?: Storage | null; timeoutMs?: number } = {}): Promise<OpenedStorage> {
  const ls = opts.ls === undefined ? (globalThis.localStorage ?? null) : opts.ls;
  const factory = opts.idb === undefined ? (globalThis.indexedDB ?? null) : opts.idb;
  let store: StorageAdapter;
  let notice: string | null = null;
  try {
    if (!factory) throw new Error('this browser has no IndexedDB');
    store = await withTimeout(IdbAdapter.open(factory), opts.timeoutMs ?? 4000);
    if (ls && hasLocalData(ls)) await absorbLocalStorage(store, new LocalStorageAdapter(ls));
  } catch (e) {
    if (!ls) throw new Error(`No storage is available: IndexedDB failed (${(e as Error).message}) and there is no localStorage`);
    store = new LocalStorageAdapter(ls);
    notice = `IndexedDB is not available here (${(e as Error).message}), so your work is kept in this browser's localStorage, which holds less (about 5 MB).`;
  }
  const imported = await importLegacy(store, ls ?? undefined);
  return { store, notice, imported };
}
