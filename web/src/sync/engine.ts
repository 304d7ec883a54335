/*
 * The sync engine: pushes the outbox, then pulls the sync feed.
 *
 * Push, entry by entry (a loop's entries before any song's, so a song's
 * new loops exist on the server first):
 *   put     a never-synced item: PUT /api/<type>s/:id + If-None-Match: *
 *           (a client-chosen id: a retry can never make a second copy);
 *           a synced one: PUT + If-Match "v<version it was based on>".
 *           412/409 with the current item → three-way merge (merge.ts):
 *           what only one side changed is kept, a field group both sides
 *           changed becomes a conflict the user resolves; the merged
 *           result goes again with If-Match of the server's version.
 *           404 on an edit → deleted on the server: ask to restore.
 *   delete  DELETE + If-Match; 404 = done; 412 = changed elsewhere, so
 *           the server's copy is kept and shown again.
 *   like    PUT/DELETE …/like (idempotent).
 *   play, remix  POST with the entry's own Idempotency-Key.
 * An entry leaves the outbox only when the server accepted it (or it no
 * longer means anything: 404 on a like, a delete already done); a
 * refusal (400/403/422) is held with its message, never dropped.
 *
 * Pull: GET /api/sync from the stored cursor until hasMore is false,
 * applying each page (upsert, tombstones; dirty items are rebased with
 * the same merge); the cursor is stored after its page.  410 (or a
 * cursor the server no longer accepts) → a full resync from no cursor,
 * after which synced local items the server no longer has are removed
 * (unsynced edits are kept; a synced item with local edits asks to be
 * restored).
 *
 * Errors: 401 stops and asks to sign in again (local data stays); 429
 * and 503 back off for Retry-After; other 5xx and network failures back
 * off exponentially (1 s … 60 s, with jitter).  Nothing in those paths
 * touches the outbox.
 */
import { Api, NetworkError, problemMessage, retryAfterMs, type ApiResponse } from '../api/client';
import type { ApiLoop, ApiSong, LikeResponse, LoopContent, SongContent, SyncPage } from '../api/types';
import {
  LOOP_GROUPS,
  SONG_GROUPS,
  contentOf,
  loopContent,
  loopFromServer,
  newId,
  nowIso,
  sameValue,
  songContent,
  songFromServer,
  type ConflictState,
  type GroupConflict,
  type ItemType,
  type LocalLoop,
  type LocalSong,
} from '../model';
import type { Commit, OutboxEntry, StorageAdapter } from '../storage/types';
import { merge3 } from './merge';
import type { Repo } from './repo';

type AnyItem = LocalLoop | LocalSong;
type ApiItem = ApiLoop | ApiSong;

export interface Auth {
  token: string;
  user: { id: string; username: string; email?: string; displayName?: string };
  expiresAt?: string;
}

export interface SyncStatus {
  online: boolean;
  syncing: boolean;
  signedIn: boolean;
  authRequired: boolean;
  pending: number;
  held: number;
  conflicts: number;
  deletedOnServer: number;
  backoffUntil: number | null;
  lastError: string | null;
  lastSyncAt: string | null;
}

export interface EngineOptions {
  now?: () => number;
  online?: () => boolean;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (h: unknown) => void;
  onStatus?: (s: SyncStatus) => void;
  onNotice?: (msg: string) => void;
}

/** Why a run stopped early; the outbox is left as it is. */
class Stop extends Error {
  constructor(
    readonly reason: 'auth' | 'backoff' | 'network',
    readonly waitMs: number | null,
    message: string,
  ) {
    super(message);
  }
}

export const MAX_BACKOFF_MS = 60_000;

export function path(type: ItemType, id: string, rest = ''): string {
  return `/api/${type}s/${encodeURIComponent(id)}${rest}`;
}

export class SyncEngine {
  readonly status: SyncStatus = {
    online: true,
    syncing: false,
    signedIn: false,
    authRequired: false,
    pending: 0,
    held: 0,
    conflicts: 0,
    deletedOnServer: 0,
    backoffUntil: null,
    lastError: null,
    lastSyncAt: null,
  };
  /** Only the tab that holds the sync lock talks to the server. */
  active = true;
  private running: Promise<void> | null = null;
  /** Records changed since the views last heard: told once per round, not per item. */
  private uiChanged = false;
  private again = false;
  private timer: unknown = null;
  private failures = 0;
  private readonly now: () => number;
  private readonly online: () => boolean;
  private readonly random: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (h: unknown) => void;

  constructor(
    readonly store: StorageAdapter,
    readonly repo: Repo,
    readonly api: Api,
    private readonly opts: EngineOptions = {},
  ) {
    this.now = opts.now ?? (() => Date.now());
    this.online = opts.online ?? (() => (typeof navigator === 'undefined' ? true : navigator.onLine));
    this.random = opts.random ?? Math.random;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  /** Reads the stored sign-in, re-queues what a crash left, and syncs. */
  async start(): Promise<void> {
    await this.loadAuth();
    await this.repo.recover();
    await this.refresh();
    await this.sync();
  }

  async loadAuth(): Promise<Auth | undefined> {
    const auth = await this.store.getMeta<Auth>('auth');
    this.api.token = auth?.token ?? null;
    this.status.signedIn = !!auth;
    this.status.authRequired = !!auth && !!auth.expiresAt && Date.parse(auth.expiresAt) <= this.now();
    return auth;
  }

  /** A new token after sign-in: clears the "sign in again" state and syncs. */
  async setAuth(auth: Auth | null): Promise<void> {
    if (auth) await this.store.setMeta('auth', auth);
    else await this.store.deleteMeta('auth');
    await this.loadAuth();
    this.failures = 0;
    this.status.backoffUntil = null;
    await this.refresh();
    if (auth) await this.sync();
  }

  /**
   * Runs push + pull now (or once more after the run in progress); a
   * back-off in force is honoured unless `force` ("Sync now").
   */
  sync(force = false): Promise<void> {
    if (force && this.status.backoffUntil !== null) {
      this.status.backoffUntil = null;
      if (this.timer !== null) this.clearTimer(this.timer);
      this.timer = null;
    }
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.cycle();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /**
   * The status, recomputed from the outbox alone (cheap enough to run
   * after every entry sent): a conflict or a server-side deletion is an
   * entry held for it.
   */
  async refresh(): Promise<SyncStatus> {
    const entries = await this.store.outboxList();
    this.status.online = this.online();
    this.status.pending = entries.length;
    this.status.held = entries.filter((e) => e.held).length;
    this.status.conflicts = entries.filter((e) => e.held === 'conflict').length;
    this.status.deletedOnServer = entries.filter((e) => e.held === 'deleted').length;
    this.opts.onStatus?.({ ...this.status });
    return this.status;
  }

  private tellViews(): void {
    if (!this.uiChanged) return;
    this.uiChanged = false;
    this.repo.bus?.emit({ type: 'changed' });
  }

  private notice(msg: string): void {
    this.opts.onNotice?.(msg);
  }

  private async cycle(): Promise<void> {
    this.status.online = this.online();
    if (!this.active || !this.api.token || this.status.authRequired || !this.status.online) return void (await this.refresh());
    if (this.status.backoffUntil !== null && this.status.backoffUntil > this.now()) return;
    this.status.backoffUntil = null;
    this.status.syncing = true;
    await this.refresh();
    try {
      await this.push();
      await this.pull();
      await this.push();
      this.failures = 0;
      this.status.lastError = null;
      this.status.lastSyncAt = nowIso();
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
      this.stopped(e);
    } finally {
      this.status.syncing = false;
      this.tellViews();
      await this.refresh();
    }
  }

  private stopped(e: Stop): void {
    this.status.lastError = e.message;
    if (e.reason === 'auth') {
      this.status.authRequired = true;
      this.notice('Your session has ended. Sign in again to sync; your work stays on this device.');
      return;
    }
    this.failures++;
    const exp = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.failures - 1));
    const wait = e.waitMs ?? Math.round(exp * (0.5 + this.random() / 2));
    this.status.backoffUntil = this.now() + wait;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.status.backoffUntil = null;
      void this.sync();
    }, wait);
  }

  /** One request; the statuses that stop a run become a Stop. */
  private async call<T>(method: string, p: string, opts: Parameters<Api['request']>[2] = {}): Promise<ApiResponse<T>> {
    let r: ApiResponse<T>;
    try {
      r = await this.api.request<T>(method, p, opts);
    } catch (e) {
      if (e instanceof NetworkError) throw new Stop('network', null, e.message);
      throw e;
    }
    if (r.status === 401) throw new Stop('auth', null, `${method} ${p}: 401 ${problemMessage(r)}`);
    if (r.status === 429 || r.status === 503) {
      const ms = retryAfterMs(r.headers.get('Retry-After'), this.now());
      throw new Stop('backoff', ms, `${method} ${p}: ${r.status} ${problemMessage(r)}`);
    }
    if (r.status >= 500) throw new Stop('backoff', null, `${method} ${p}: ${r.status} ${problemMessage(r)}`);
    return r;
  }

  /* ------------------------------------------------------------ push */

  private async push(): Promise<void> {
    for (let round = 0; round < 20; round++) {
      const all = await this.store.outboxList();
      const sendable = all.filter((e) => !e.held);
      if (!sendable.length) return;
      const ordered = [...sendable.filter((e) => e.type === 'loop'), ...sendable.filter((e) => e.type === 'song')];
      try {
        for (const e of ordered) {
          await this.pushEntry(e);
          this.uiChanged = true;
          await this.refresh();
        }
      } finally {
        this.tellViews();
      }
    }
  }

  private async pushEntry(e: OutboxEntry): Promise<void> {
    switch (e.kind) {
      case 'put':
        return this.pushPut(e);
      case 'delete':
        return this.pushDelete(e);
      case 'like':
        return this.pushLike(e);
      case 'play':
        return this.pushPlay(e);
      case 'remix':
        return this.pushRemix(e);
    }
  }

  private async hold(e: OutboxEntry, held: OutboxEntry['held'], lastError?: string): Promise<void> {
    await this.store.outboxPut({ ...e, held, lastError, attempts: e.attempts + 1 });
  }

  private async pushPut(e: OutboxEntry): Promise<void> {
    const rec = await this.repo.get(e.type, e.id);
    if (!rec) return this.store.outboxDelete(e.seq!);
    if (rec.conflict) return this.hold(e, 'conflict');
    if (rec.deletedOnServer) return this.hold(e, 'deleted');
    const creating = !rec.server;
    const headers: Record<string, string> = creating ? { 'If-None-Match': '*' } : { 'If-Match': `"v${rec.server!.version}"` };
    const r = await this.call<{ loop?: ApiLoop; song?: ApiSong } & Record<string, unknown>>('PUT', path(e.type, e.id), {
      body: contentOf(e.type, rec),
      headers,
    });
    const item = (r.body?.[e.type] ?? null) as ApiItem | null;
    if ((r.status === 200 || r.status === 201) && item) return this.accepted(e, rec.rev, item);
    if ((r.status === 412 || r.status === 409) && item) return this.rebase(e.type, e.id, item, e);
    if (r.status === 412 && creating) {
      // The id is taken by an item we may not see: take a new one.
      return this.rekey(e.type, e.id, newId());
    }
    if (r.status === 404 && !creating) {
      const cur = await this.repo.get(e.type, e.id);
      if (cur) await this.putItem(e.type, { ...cur, deletedOnServer: true });
      this.notice(`“${rec.name}” was deleted on another device. Restore it or discard your changes.`);
      return this.hold(e, 'deleted');
    }
    this.notice(`“${rec.name}” could not be saved on the server: ${problemMessage(r)}`);
    return this.hold(e, 'rejected', `${r.status} ${problemMessage(r)}`);
  }

  private putItem(type: ItemType, item: AnyItem): Promise<void> {
    return type === 'loop' ? this.store.putLoop(item as LocalLoop) : this.store.putSong(item as LocalSong);
  }

  private fromServer(type: ItemType, s: ApiItem): AnyItem {
    return type === 'loop' ? loopFromServer(s as ApiLoop) : songFromServer(s as ApiSong);
  }

  /** The server took the edit: the record is in sync unless edited meanwhile. */
  private async accepted(e: OutboxEntry, sentRev: number, s: ApiItem): Promise<void> {
    const cur = await this.repo.get(e.type, e.id);
    const fresh = this.fromServer(e.type, s);
    const c: Commit = {};
    if (!cur) {
      // Deleted here while the create was on its way: delete it there too.
      c.outboxDelete = [e.seq!];
      const pending = await this.store.outboxForItem(e.type, e.id);
      if (!pending.some((x) => x.kind === 'delete'))
        c.outboxAdd = [{ kind: 'delete', type: e.type, id: e.id, baseVersion: s.version, createdAt: nowIso(), attempts: 0 }];
    } else if (cur.rev === sentRev) {
      fresh.rev = cur.rev;
      this.put(c, e.type, fresh);
      c.outboxDelete = [e.seq!];
    } else {
      const n = { ...cur, ...this.serverFields(fresh), server: fresh.server, dirty: true } as AnyItem;
      this.put(c, e.type, n);
      c.outboxPut = [{ ...e, attempts: 0, lastError: undefined }];
    }
    await this.store.commit(c);
    this.uiChanged = true;
  }

  private put(c: Commit, type: ItemType, item: AnyItem): void {
    if (type === 'loop') (c.putLoops ??= []).push(item as LocalLoop);
    else (c.putSongs ??= []).push(item as LocalSong);
  }

  /** The read-only fields the server owns (counters, owner, dates). */
  private serverFields(f: AnyItem): Partial<AnyItem> {
    const o: Partial<LocalLoop> = {
      userId: f.userId,
      username: f.username,
      createdAt: f.createdAt,
      likesCount: f.likesCount,
      playsCount: f.playsCount,
      likedByMe: f.likedByMe,
    };
    if ('remixesCount' in f) {
      o.remixesCount = f.remixesCount;
      o.parentLoopId = f.parentLoopId;
    }
    return o as Partial<AnyItem>;
  }

  /**
   * Brings a record with local edits onto the server's newer version `s`:
   * the three-way merge against the base it was edited from.  Conflicts
   * (old unresolved ones included) hold the item's put until the user
   * chooses; a clean merge goes again with If-Match of `s`.
   */
  async rebase(type: ItemType, id: string, s: ApiItem, entry?: OutboxEntry): Promise<void> {
    const cur = await this.repo.get(type, id);
    if (!cur) return;
    const groups = (type === 'loop' ? LOOP_GROUPS : SONG_GROUPS) as Record<string, readonly (keyof (LoopContent & SongContent))[]>;
    const content = (x: object) => (type === 'loop' ? loopContent(x as LoopContent) : songContent(x as SongContent)) as LoopContent & SongContent;
    const theirs = content(s);
    const mine = content(cur);
    const base = cur.server ? content(cur.server.base) : null;
    const { merged, conflicts } = merge3(base, mine, theirs, groups);
    const prev = cur.conflict as ConflictState<LoopContent & SongContent> | null;
    for (const [g, old] of Object.entries(prev?.groups ?? {})) {
      if (conflicts[g]) continue;
      const fields = Object.keys(old.mine) as (keyof (LoopContent & SongContent))[];
      const gm: Partial<LoopContent & SongContent> = {};
      const gt: Partial<LoopContent & SongContent> = {};
      for (const f of fields) {
        (gm as Record<string, unknown>)[f] = mine[f];
        (gt as Record<string, unknown>)[f] = theirs[f];
      }
      if (!sameValue(gm, gt)) conflicts[g] = { mine: gm, theirs: gt } as GroupConflict<LoopContent & SongContent>;
    }
    const hasConflict = Object.keys(conflicts).length > 0;
    const fresh = this.fromServer(type, s);
    const n = {
      ...cur,
      ...merged,
      ...this.serverFields(fresh),
      server: { version: s.version, base: theirs },
      conflict: hasConflict ? { version: s.version, groups: conflicts } : null,
      deletedOnServer: false,
    } as AnyItem;
    n.dirty = hasConflict || !sameValue(content(merged), theirs);
    const c: Commit = {};
    this.put(c, type, n);
    const entries = entry ? [entry] : (await this.store.outboxForItem(type, id)).filter((x) => x.kind === 'put');
    const put = entries[0];
    if (!n.dirty) {
      if (put) c.outboxDelete = [put.seq!];
    } else if (put) {
      c.outboxPut = [{ ...put, held: hasConflict ? 'conflict' : undefined, attempts: put.attempts + 1, lastError: undefined }];
    } else {
      c.outboxAdd = [{ kind: 'put', type, id, createdAt: nowIso(), attempts: 0, held: hasConflict ? 'conflict' : undefined }];
    }
    await this.store.commit(c);
    this.uiChanged = true;
    if (hasConflict && !prev) this.notice(`“${cur.name}” was also changed on another device: choose what to keep.`);
  }

  /** Moves an item (and everything that names it) to a new id. */
  private async rekey(type: ItemType, from: string, to: string, fresh?: AnyItem): Promise<void> {
    const cur = await this.repo.get(type, from);
    const c: Commit = {};
    if (type === 'loop') c.deleteLoops = [from];
    else c.deleteSongs = [from];
    let n: AnyItem | undefined;
    if (fresh) {
      n = fresh;
      if (cur && cur.rev > 0) n = { ...fresh, ...contentOf(type, cur), rev: cur.rev, dirty: true } as AnyItem;
    } else if (cur) {
      n = { ...cur, id: to, server: null };
    }
    if (n) this.put(c, type, n);
    const entries = await this.store.outboxForItem(type, from);
    c.outboxDelete = entries.map((x) => x.seq!);
    c.outboxAdd = entries.filter((x) => x.kind !== 'remix').map((x) => ({ ...x, id: to, seq: undefined }));
    if (n?.dirty && !c.outboxAdd.some((x) => x.kind === 'put')) c.outboxAdd.push({ kind: 'put', type, id: to, createdAt: nowIso(), attempts: 0 });
    if (type === 'loop') {
      for (const s of await this.store.listSongs()) {
        if (!s.timeline.some((b) => b.loopId === from)) continue;
        const ns: LocalSong = { ...s, timeline: s.timeline.map((b) => (b.loopId === from ? { ...b, loopId: to } : b)), dirty: true, rev: s.rev + 1 };
        (c.putSongs ??= []).push(ns);
        const se = await this.store.outboxForItem('song', s.id);
        if (!se.some((x) => x.kind === 'put')) c.outboxAdd.push({ kind: 'put', type: 'song', id: s.id, createdAt: nowIso(), attempts: 0 });
      }
    }
    const map = (await this.store.getMeta<Record<string, string>>('rekeyed')) ?? {};
    map[from] = to;
    c.meta = { rekeyed: map };
    await this.store.commit(c);
    this.uiChanged = true;
  }

  private async pushDelete(e: OutboxEntry): Promise<void> {
    const headers: Record<string, string> = e.baseVersion ? { 'If-Match': `"v${e.baseVersion}"` } : {};
    const r = await this.call<Record<string, unknown>>('DELETE', path(e.type, e.id), { headers });
    if (r.status === 204 || r.status === 200 || r.status === 404) return this.store.outboxDelete(e.seq!);
    const item = (r.body?.[e.type] ?? null) as ApiItem | null;
    if (r.status === 412 && item) {
      // Changed on another device after this one's copy: keep theirs.
      const c: Commit = { outboxDelete: [e.seq!] };
      this.put(c, e.type, this.fromServer(e.type, item));
      await this.store.commit(c);
      this.uiChanged = true;
      this.notice(`“${item.name}” was changed on another device, so it was not deleted.`);
      return;
    }
    return this.hold(e, 'rejected', `${r.status} ${problemMessage(r)}`);
  }

  private async pushLike(e: OutboxEntry): Promise<void> {
    const r = await this.call<LikeResponse>(e.liked ? 'PUT' : 'DELETE', path(e.type, e.id, '/like'));
    if (r.status === 200 && r.body) {
      const cur = await this.repo.get(e.type, e.id);
      const c: Commit = { outboxDelete: [e.seq!] };
      if (cur) this.put(c, e.type, { ...cur, likesCount: r.body.likesCount, likedByMe: r.body.likedByMe });
      await this.store.commit(c);
      return;
    }
    if (r.status === 404) return this.store.outboxDelete(e.seq!);
    return this.hold(e, 'rejected', `${r.status} ${problemMessage(r)}`);
  }

  private async pushPlay(e: OutboxEntry): Promise<void> {
    const r = await this.call('POST', path(e.type, e.id, '/plays'), { headers: { 'Idempotency-Key': e.idempotencyKey! } });
    if (r.status === 202 || r.status === 200 || r.status === 404 || r.status === 422) return this.store.outboxDelete(e.seq!);
    if (r.status === 409) throw new Stop('backoff', retryAfterMs(r.headers.get('Retry-After'), this.now()) ?? 1000, 'a play is still being counted');
    return this.hold(e, 'rejected', `${r.status} ${problemMessage(r)}`);
  }

  private async pushRemix(e: OutboxEntry): Promise<void> {
    const src = e.remix!.sourceId;
    const r = await this.call<{ loop?: ApiLoop }>('POST', path('loop', src, '/remix'), {
      body: e.remix!.name ? { name: e.remix!.name } : {},
      headers: { 'Idempotency-Key': e.idempotencyKey! },
    });
    if ((r.status === 201 || r.status === 200) && r.body?.loop) {
      const cur = await this.repo.get('loop', e.id);
      const fresh = loopFromServer(r.body.loop);
      // Edits made to the local copy since the remix ride on a put.
      if (cur && cur.rev > 0 && !sameValue(loopContent(cur as LocalLoop), loopContent(fresh))) {
        await this.rekey('loop', e.id, fresh.id, fresh);
      } else {
        await this.rekey('loop', e.id, fresh.id, { ...fresh, rev: 0 });
      }
      return;
    }
    if (r.status === 409) throw new Stop('backoff', retryAfterMs(r.headers.get('Retry-After'), this.now()) ?? 1000, 'the remix is still being made');
    if (r.status === 404) {
      // The source is gone: keep the copy as a loop of one's own.
      const cur = await this.repo.get('loop', e.id);
      const c: Commit = { outboxDelete: [e.seq!], outboxAdd: [{ kind: 'put', type: 'loop', id: e.id, createdAt: nowIso(), attempts: 0 }] };
      if (cur) this.put(c, 'loop', { ...cur, parentLoopId: null, dirty: true });
      await this.store.commit(c);
      return;
    }
    return this.hold(e, 'rejected', `${r.status} ${problemMessage(r)}`);
  }

  /* ------------------------------------------------------------ pull */

  private async pull(): Promise<void> {
    let cursor = (await this.store.getMeta<string>('cursor')) ?? null;
    let seen: Set<string> | null = cursor === null ? new Set() : null;
    let restarts = 0;
    for (let pages = 0; pages < 100000; pages++) {
      const q = cursor ? `?since=${encodeURIComponent(cursor)}` : '';
      const r = await this.call<SyncPage>('GET', '/api/sync' + q);
      if ((r.status === 410 || r.status === 400) && cursor && restarts++ < 2) {
        this.notice(r.status === 410 ? 'This device was away for long: reloading everything from the server (your unsynced changes are kept).' : 'Reloading everything from the server.');
        await this.store.deleteMeta('cursor');
        cursor = null;
        seen = new Set();
        continue;
      }
      if (r.status !== 200 || !r.body) throw new Stop('backoff', null, `GET /api/sync: ${r.status} ${problemMessage(r)}`);
      const page = r.body;
      await this.applyPage(page, seen);
      cursor = page.cursor;
      // During a full resync the cursor is stored only with the clean-up
      // at the end, so an interrupted one starts over.
      if (!seen) await this.store.setMeta('cursor', cursor);
      if (!page.hasMore) break;
    }
    if (seen) {
      await this.dropMissing(seen);
      await this.store.setMeta('cursor', cursor);
    }
    this.uiChanged = true;
    this.tellViews();
  }

  /** Applies one page of the sync feed. */
  async applyPage(page: SyncPage, seen: Set<string> | null): Promise<void> {
    const items: [ItemType, ApiItem][] = [...page.loops.map((l): [ItemType, ApiItem] => ['loop', l]), ...page.songs.map((s): [ItemType, ApiItem] => ['song', s])];
    for (const [type, s] of items) {
      seen?.add(`${type}:${s.id}`);
      const cur = await this.repo.get(type, s.id);
      if (!cur) {
        await this.putItem(type, this.fromServer(type, s));
      } else if (cur.server && s.version <= cur.server.version && !cur.deletedOnServer) {
        await this.putItem(type, { ...cur, ...this.serverFields(this.fromServer(type, s)) } as AnyItem);
      } else if (!cur.dirty) {
        await this.putItem(type, { ...this.fromServer(type, s), rev: cur.rev });
      } else {
        await this.rebase(type, s.id, s);
      }
    }
    for (const t of page.deleted) {
      const cur = await this.repo.get(t.type, t.id);
      if (!cur) continue;
      const entries = await this.store.outboxForItem(t.type, t.id);
      if (!cur.dirty) {
        const c: Commit = { outboxDelete: entries.map((x) => x.seq!) };
        if (t.type === 'loop') c.deleteLoops = [t.id];
        else c.deleteSongs = [t.id];
        await this.store.commit(c);
      } else {
        await this.markDeleted(t.type, cur, entries);
      }
    }
    for (const l of page.likes ?? []) {
      const cur = await this.repo.get(l.type, l.id);
      if (cur && cur.likedByMe !== l.likedByMe) await this.putItem(l.type, { ...cur, likedByMe: l.likedByMe });
    }
    if (page.unavailable?.length || page.available?.length) {
      const un = (await this.store.getMeta<Record<string, string>>('unavailable')) ?? {};
      for (const u of page.unavailable ?? []) un[`${u.type}:${u.id}`] = u.at;
      for (const u of page.available ?? []) delete un[`${u.type}:${u.id}`];
      await this.store.setMeta('unavailable', un);
    }
  }

  private async markDeleted(type: ItemType, cur: AnyItem, entries: OutboxEntry[]): Promise<void> {
    const c: Commit = {};
    this.put(c, type, { ...cur, deletedOnServer: true, conflict: null });
    const put = entries.find((x) => x.kind === 'put');
    if (put) c.outboxPut = [{ ...put, held: 'deleted' }];
    else c.outboxAdd = [{ kind: 'put', type, id: cur.id, createdAt: nowIso(), attempts: 0, held: 'deleted' }];
    c.outboxDelete = entries.filter((x) => x.kind === 'delete').map((x) => x.seq!);
    await this.store.commit(c);
    this.notice(`“${cur.name}” was deleted on another device, but you changed it here. Restore it or discard your changes.`);
  }

  /** After a full resync: synced items the server no longer has. */
  private async dropMissing(seen: Set<string>): Promise<void> {
    const all: [ItemType, AnyItem][] = [
      ...(await this.store.listLoops()).map((l): [ItemType, AnyItem] => ['loop', l]),
      ...(await this.store.listSongs()).map((s): [ItemType, AnyItem] => ['song', s]),
    ];
    for (const [type, it] of all) {
      if (!it.server || seen.has(`${type}:${it.id}`) || it.deletedOnServer) continue;
      const entries = await this.store.outboxForItem(type, it.id);
      if (it.dirty) {
        await this.markDeleted(type, it, entries);
      } else {
        const c: Commit = { outboxDelete: entries.map((x) => x.seq!) };
        if (type === 'loop') c.deleteLoops = [it.id];
        else c.deleteSongs = [it.id];
        await this.store.commit(c);
      }
    }
  }
}
