/*
 * The localStorage adapter: the same contract as IdbAdapter for browsers
 * where IndexedDB is missing or refuses (some private windows, quota).
 *
 * Layout, one key per record under the prefix `music-playground-v1:`:
 *   loop:<id>, song:<id>       the local records (JSON)
 *   sample:<key>               {type, data: base64}
 *   outbox:<seq>, outbox-seq   pending operations and the last number used
 *   meta:<key>                 cursor, user, token, …
 *
 * Size: every write first computes what the origin's storage would hold
 * afterwards (UTF-16 code units of keys and values, as browsers count)
 * and refuses with StorageFullError past the limit (5 000 000 by default,
 * below the 5 Mi units browsers allow) instead of failing half-way; a
 * QuotaExceededError the browser raises anyway becomes the same error.
 * A commit writes items first and the outbox after (no transactions
 * here): a crash between the two leaves a dirty item with no entry,
 * which Repo.recover() re-queues on the next start.
 */
import type { ItemType, LocalLoop, LocalSong } from '../model';
import { StorageFullError, type Commit, type OutboxEntry, type StorageAdapter } from './types';

export const LS_PREFIX = 'music-playground-v1:';
export const LS_DEFAULT_LIMIT = 5_000_000;

function b64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function unb64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export class LocalStorageAdapter implements StorageAdapter {
  readonly kind = 'localstorage' as const;

  constructor(
    private ls: Storage = globalThis.localStorage,
    private limit = LS_DEFAULT_LIMIT,
  ) {}

  private get<T>(key: string): T | undefined {
    const v = this.ls.getItem(LS_PREFIX + key);
    return v === null ? undefined : (JSON.parse(v) as T);
  }

  /** Units (UTF-16) the origin's storage holds now. */
  usage(): number {
    let n = 0;
    for (let i = 0; i < this.ls.length; i++) {
      const k = this.ls.key(i)!;
      n += k.length + (this.ls.getItem(k)?.length ?? 0);
    }
    return n;
  }

  /** Throws StorageFullError if the changes would pass the limit. */
  private check(changes: [string, string | null][]): void {
    let after = this.usage();
    const seen = new Map<string, number>();
    for (const [k, v] of changes) {
      const key = LS_PREFIX + k;
      const prev = seen.has(key) ? seen.get(key)! : (this.ls.getItem(key)?.length ?? -1);
      if (prev >= 0) after -= key.length + prev;
      if (v !== null) after += key.length + v.length;
      seen.set(key, v === null ? -1 : v.length);
    }
    if (after > this.limit) throw new StorageFullError(`${after} of ${this.limit} characters would be used`);
  }

  private apply(changes: [string, string | null][]): void {
    for (const [k, v] of changes) {
      try {
        if (v === null) this.ls.removeItem(LS_PREFIX + k);
        else this.ls.setItem(LS_PREFIX + k, v);
      } catch (e) {
        if (e && typeof e === 'object' && ((e as { name?: string }).name === 'QuotaExceededError' || (e as { code?: number }).code === 22))
          throw new StorageFullError('the browser refused more data');
        throw e;
      }
    }
  }

  /** Applies sets (value string) and removals (null) after the size check. */
  private write(changes: [string, string | null][]): void {
    this.check(changes);
    this.apply(changes);
  }

  private keys(prefix: string): string[] {
    const out: string[] = [];
    const p = LS_PREFIX + prefix;
    for (let i = 0; i < this.ls.length; i++) {
      const k = this.ls.key(i)!;
      if (k.startsWith(p)) out.push(k.slice(LS_PREFIX.length));
    }
    return out;
  }

  async getLoop(id: string): Promise<LocalLoop | undefined> {
    return this.get<LocalLoop>('loop:' + id);
  }
  async putLoop(loop: LocalLoop): Promise<void> {
    this.write([['loop:' + loop.id, JSON.stringify(loop)]]);
  }
  async deleteLoop(id: string): Promise<void> {
    this.write([['loop:' + id, null]]);
  }
  async listLoops(): Promise<LocalLoop[]> {
    return this.keys('loop:').map((k) => this.get<LocalLoop>(k)!);
  }

  async getSong(id: string): Promise<LocalSong | undefined> {
    return this.get<LocalSong>('song:' + id);
  }
  async putSong(song: LocalSong): Promise<void> {
    this.write([['song:' + song.id, JSON.stringify(song)]]);
  }
  async deleteSong(id: string): Promise<void> {
    this.write([['song:' + id, null]]);
  }
  async listSongs(): Promise<LocalSong[]> {
    return this.keys('song:').map((k) => this.get<LocalSong>(k)!);
  }

  async putSample(key: string, blob: Blob): Promise<void> {
    const data = b64(new Uint8Array(await blob.arrayBuffer()));
    this.write([['sample:' + key, JSON.stringify({ type: blob.type, data })]]);
  }
  async getSample(key: string): Promise<Blob | undefined> {
    const v = this.get<{ type: string; data: string }>('sample:' + key);
    return v ? new Blob([unb64(v.data)], { type: v.type }) : undefined;
  }
  async deleteSample(key: string): Promise<void> {
    this.write([['sample:' + key, null]]);
  }

  private nextSeq(): number {
    return (this.get<number>('outbox-seq') ?? 0) + 1;
  }

  async outboxAdd(entry: OutboxEntry): Promise<number> {
    const seq = this.nextSeq();
    this.write([
      ['outbox:' + seq, JSON.stringify({ ...entry, seq })],
      ['outbox-seq', String(seq)],
    ]);
    return seq;
  }
  async outboxList(): Promise<OutboxEntry[]> {
    return this.keys('outbox:')
      .map((k) => this.get<OutboxEntry>(k)!)
      .sort((a, b) => a.seq! - b.seq!);
  }
  async outboxForItem(type: ItemType, id: string): Promise<OutboxEntry[]> {
    return (await this.outboxList()).filter((e) => e.type === type && e.id === id);
  }
  async outboxPut(entry: OutboxEntry): Promise<void> {
    if (entry.seq === undefined) throw new Error('outboxPut: entry has no seq');
    this.write([['outbox:' + entry.seq, JSON.stringify(entry)]]);
  }
  async outboxDelete(seq: number): Promise<void> {
    this.write([['outbox:' + seq, null]]);
  }
  async outboxCount(): Promise<number> {
    return this.keys('outbox:').length;
  }

  async getMeta<T>(key: string): Promise<T | undefined> {
    return this.get<T>('meta:' + key);
  }
  async setMeta(key: string, value: unknown): Promise<void> {
    this.write([['meta:' + key, JSON.stringify(value)]]);
  }
  async deleteMeta(key: string): Promise<void> {
    this.write([['meta:' + key, null]]);
  }

  /** Items first, then the outbox, then meta; all size-checked up front. */
  async commit(c: Commit): Promise<void> {
    const items: [string, string | null][] = [];
    for (const l of c.putLoops ?? []) items.push(['loop:' + l.id, JSON.stringify(l)]);
    for (const id of c.deleteLoops ?? []) items.push(['loop:' + id, null]);
    for (const s of c.putSongs ?? []) items.push(['song:' + s.id, JSON.stringify(s)]);
    for (const id of c.deleteSongs ?? []) items.push(['song:' + id, null]);
    const rest: [string, string | null][] = [];
    let seq = this.nextSeq() - 1;
    for (const e of c.outboxAdd ?? []) {
      seq++;
      rest.push(['outbox:' + seq, JSON.stringify({ ...e, seq })]);
    }
    if (c.outboxAdd?.length) rest.push(['outbox-seq', String(seq)]);
    for (const e of c.outboxPut ?? []) rest.push(['outbox:' + e.seq, JSON.stringify(e)]);
    for (const s of c.outboxDelete ?? []) rest.push(['outbox:' + s, null]);
    for (const [k, v] of Object.entries(c.meta ?? {})) rest.push(['meta:' + k, v === undefined ? null : JSON.stringify(v)]);
    // One size check for the whole commit, then the two phases.
    this.check([...items, ...rest]);
    this.apply(items);
    this.apply(rest);
  }

  async clear(): Promise<void> {
    const all: string[] = [];
    for (let i = 0; i < this.ls.length; i++) {
      const k = this.ls.key(i)!;
      if (k.startsWith(LS_PREFIX)) all.push(k);
    }
    for (const k of all) this.ls.removeItem(k);
  }

  close(): void {}
}

