/*
 * The local-first write path.  Every edit the UI makes goes here: the
 * record is written locally first, and the outbox entry that will carry
 * it to the server is written with it (one commit: atomic on IndexedDB;
 * items-then-outbox on localStorage, where recover() closes the gap after
 * a crash).  Nothing here waits on the network.
 *
 * Outbox rules (per item):
 *  - at most one `put`; its body is read from the record when sent, so
 *    later edits ride along.  A pending `remix` stands in for the put of
 *    its copy until the server has created it.
 *  - deleting an item that never reached the server drops its entries;
 *    deleting a synced one replaces them by one `delete` (If-Match of
 *    the version it was based on).
 *  - one `like` (the last choice wins); one pending `play`.
 *  - every POST (play, remix) gets its Idempotency-Key here, once.
 */
import {
  GROUP_LABELS,
  LOOP_GROUPS,
  SONG_GROUPS,
  loopContent,
  newId,
  nowIso,
  type ConflictState,
  type ItemType,
  type LocalLoop,
  type LocalSong,
} from '../model';
import type { ApiLoop, LoopContent, SongContent } from '../api/types';
import type { Commit, OutboxEntry, StorageAdapter } from '../storage/types';
import type { Bus } from './bus';

type AnyItem = LocalLoop | LocalSong;

export class Repo {
  constructor(
    readonly store: StorageAdapter,
    readonly bus: Bus | null = null,
  ) {}

  private changed(outbox: boolean): void {
    this.bus?.emit({ type: 'changed' });
    if (outbox) this.bus?.emit({ type: 'outbox' });
  }

  get(type: ItemType, id: string): Promise<AnyItem | undefined> {
    return type === 'loop' ? this.store.getLoop(id) : this.store.getSong(id);
  }

  /** Saves an edit of a loop (content fields) and queues its upload. */
  async saveLoop(loop: LocalLoop): Promise<LocalLoop> {
    return (await this.saveItem('loop', loop)) as LocalLoop;
  }

  /**
   * Saves a song; blocks naming a loop that was re-keyed meanwhile (a
   * remix that got its server id while the arranger was open) are
   * pointed at the new id.
   */
  async saveSong(song: LocalSong): Promise<LocalSong> {
    const moved = (await this.store.getMeta<Record<string, string>>('rekeyed')) ?? {};
    const timeline = song.timeline.map((b) => (moved[b.loopId] ? { ...b, loopId: moved[b.loopId] } : b));
    return (await this.saveItem('song', { ...song, timeline })) as LocalSong;
  }

  private async saveItem(type: ItemType, item: AnyItem): Promise<AnyItem> {
    const prev = await this.get(type, item.id);
    const rec = { ...item, dirty: true, rev: (prev?.rev ?? 0) + 1, updatedAt: nowIso() } as AnyItem;
    const entries = await this.store.outboxForItem(type, item.id);
    const c: Commit = type === 'loop' ? { putLoops: [rec as LocalLoop] } : { putSongs: [rec as LocalSong] };
    const carrier = entries.find((e) => e.kind === 'put' || e.kind === 'remix');
    if (!carrier) {
      c.outboxAdd = [{ kind: 'put', type, id: item.id, createdAt: nowIso(), attempts: 0 }];
    } else if (carrier.held === 'rejected') {
      // A new edit may fix what the server refused: try it again.
      c.outboxPut = [{ ...carrier, held: undefined, lastError: undefined }];
    }
    await this.store.commit(c);
    this.changed(true);
    return rec;
  }

  async deleteItem(type: ItemType, id: string): Promise<void> {
    const rec = await this.get(type, id);
    const entries = await this.store.outboxForItem(type, id);
    const c: Commit = type === 'loop' ? { deleteLoops: [id] } : { deleteSongs: [id] };
    c.outboxDelete = entries.map((e) => e.seq!);
    if (rec?.server) {
      c.outboxAdd = [{ kind: 'delete', type, id, baseVersion: rec.server.version, createdAt: nowIso(), attempts: 0 }];
    }
    await this.store.commit(c);
    this.changed(true);
  }

  /** Likes or unlikes any visible item (own or someone else's). */
  async like(type: ItemType, id: string, liked: boolean): Promise<void> {
    const entries = (await this.store.outboxForItem(type, id)).filter((e) => e.kind === 'like');
    const c: Commit = {
      outboxDelete: entries.map((e) => e.seq!),
      outboxAdd: [{ kind: 'like', type, id, liked, createdAt: nowIso(), attempts: 0 }],
    };
    const rec = await this.get(type, id);
    if (rec && rec.likedByMe !== liked) {
      const n = { ...rec, likedByMe: liked, likesCount: Math.max(0, rec.likesCount + (liked ? 1 : -1)) };
      if (type === 'loop') c.putLoops = [n as LocalLoop];
      else c.putSongs = [n as LocalSong];
    }
    await this.store.commit(c);
    this.changed(true);
  }

  /** Counts a play (one pending per item: the server counts one a minute). */
  async play(type: ItemType, id: string): Promise<void> {
    const entries = await this.store.outboxForItem(type, id);
    if (entries.some((e) => e.kind === 'play')) return;
    await this.store.outboxAdd({ kind: 'play', type, id, idempotencyKey: newId(), createdAt: nowIso(), attempts: 0 });
    this.changed(true);
  }

  /**
   * Remixes a loop: a local copy at once (its own id, parentLoopId set),
   * and a `remix` entry that makes the server's copy with
   * POST /remix + Idempotency-Key; the engine then re-keys the local copy
   * to the server's id.
   */
  async remix(source: ApiLoop | LocalLoop, name = `Remix of ${source.name}`.slice(0, 100)): Promise<LocalLoop> {
    const t = nowIso();
    const copy: LocalLoop = {
      ...loopContent(source),
      name,
      isPublic: false,
      id: newId(),
      createdAt: t,
      updatedAt: t,
      server: null,
      dirty: true,
      rev: 0,
      conflict: null,
      deletedOnServer: false,
      parentLoopId: source.id,
      likesCount: 0,
      playsCount: 0,
      remixesCount: 0,
      likedByMe: false,
    };
    await this.store.commit({
      putLoops: [copy],
      outboxAdd: [
        { kind: 'remix', type: 'loop', id: copy.id, remix: { sourceId: source.id, name }, idempotencyKey: newId(), createdAt: t, attempts: 0 },
      ],
    });
    this.changed(true);
    return copy;
  }

  /**
   * Resolves one conflicting field group: "mine" keeps the local values,
   * "theirs" takes the server's.  When no group is left the put entry is
   * released and goes with If-Match of the server version merged against.
   */
  async resolve(type: ItemType, id: string, group: string, choice: 'mine' | 'theirs'): Promise<AnyItem | undefined> {
    const rec = await this.get(type, id);
    if (!rec?.conflict?.groups[group]) return rec;
    const conflict = rec.conflict as ConflictState<LoopContent | SongContent>;
    const g = conflict.groups[group];
    const n = { ...rec, ...(choice === 'theirs' ? g.theirs : g.mine) } as AnyItem;
    const groups = { ...conflict.groups };
    delete groups[group];
    n.conflict = Object.keys(groups).length ? ({ ...conflict, groups } as AnyItem['conflict']) : null;
    n.rev = rec.rev + 1;
    n.updatedAt = nowIso();
    const c: Commit = type === 'loop' ? { putLoops: [n as LocalLoop] } : { putSongs: [n as LocalSong] };
    if (!n.conflict) {
      const entries = await this.store.outboxForItem(type, id);
      const put = entries.find((e) => e.kind === 'put');
      if (put) c.outboxPut = [{ ...put, held: undefined }];
      else c.outboxAdd = [{ kind: 'put', type, id, createdAt: nowIso(), attempts: 0 }];
    }
    await this.store.commit(c);
    this.changed(true);
    return n;
  }

  /** After a server-side deletion: make the item again (create-only PUT). */
  async restore(type: ItemType, id: string): Promise<void> {
    const rec = await this.get(type, id);
    if (!rec) return;
    const n = { ...rec, server: null, deletedOnServer: false, conflict: null, dirty: true, rev: rec.rev + 1 } as AnyItem;
    const entries = await this.store.outboxForItem(type, id);
    const put = entries.find((e) => e.kind === 'put');
    const c: Commit = type === 'loop' ? { putLoops: [n as LocalLoop] } : { putSongs: [n as LocalSong] };
    if (put) c.outboxPut = [{ ...put, held: undefined }];
    else c.outboxAdd = [{ kind: 'put', type, id, createdAt: nowIso(), attempts: 0 }];
    await this.store.commit(c);
    this.changed(true);
  }

  /** After a server-side deletion: accept it and drop the local edit. */
  async discard(type: ItemType, id: string): Promise<void> {
    const entries = await this.store.outboxForItem(type, id);
    const c: Commit = type === 'loop' ? { deleteLoops: [id] } : { deleteSongs: [id] };
    c.outboxDelete = entries.map((e) => e.seq!);
    await this.store.commit(c);
    this.changed(true);
  }

  /**
   * Closes the gap a crash can leave between the local write and the
   * outbox write: every dirty item without an entry that carries it (and
   * not waiting on the user) gets a `put`.  Returns how many were queued.
   */
  async recover(): Promise<number> {
    const all = await this.store.outboxList();
    const carried = new Set(all.filter((e) => e.kind === 'put' || e.kind === 'remix').map((e) => `${e.type}:${e.id}`));
    const add: OutboxEntry[] = [];
    const t = nowIso();
    for (const l of await this.store.listLoops()) if (l.dirty && !carried.has(`loop:${l.id}`)) add.push({ kind: 'put', type: 'loop', id: l.id, createdAt: t, attempts: 0 });
    for (const s of await this.store.listSongs()) if (s.dirty && !carried.has(`song:${s.id}`)) add.push({ kind: 'put', type: 'song', id: s.id, createdAt: t, attempts: 0 });
    if (add.length) {
      await this.store.commit({ outboxAdd: add });
      this.changed(true);
    }
    return add.length;
  }

  pending(): Promise<number> {
    return this.store.outboxCount();
  }
}

export function groupLabel(g: string): string {
  return GROUP_LABELS[g] ?? g;
}

export function groupsOf(type: ItemType): Record<string, readonly string[]> {
  return type === 'loop' ? LOOP_GROUPS : SONG_GROUPS;
}
