/*
 * A scripted fake of the API's sync-relevant routes, in memory, for the
 * engine's unit tests: versions that never repeat, ETags, If-Match /
 * If-None-Match: *, 412/409 with the current item, tombstones, the sync
 * feed in change order with a page size, Idempotency-Key replays, and
 * injected answers (any status, a network failure, or "the server did
 * the work but the answer was lost").  The browser tests run against the
 * real stack instead.
 */
import type { ApiLoop, ApiSong } from '../src/api/types';

type Type = 'loop' | 'song';

interface Stored {
  type: Type;
  id: string;
  content: Record<string, unknown>;
  version: number;
  createdAt: string;
  updatedAt: string;
  likes: Set<string>;
  plays: number;
  parentLoopId: string | null;
  remixes: number;
}

export interface Req {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
}

export type Injected = { status: number; headers?: Record<string, string>; body?: unknown } | 'network' | 'lost';

export class FakeServer {
  items = new Map<string, Stored>();
  maxVersion = new Map<string, number>();
  changes: { seq: number; type: Type; id: string; deleted: boolean; at: string }[] = [];
  seq = 0;
  /** Cursors below this change number answer 410. */
  floor = 0;
  pageSize = 2;
  token = 'good';
  user = { id: 'u-1', username: 'ana' };
  log: Req[] = [];
  idem = new Map<string, { status: number; body: unknown }>();
  likesFeed: { type: Type; id: string; likedByMe: boolean; at: string }[] | null = null;
  private injections: { match: (r: Req) => boolean; answer: Injected }[] = [];
  private clock = Date.parse('2026-11-25T19:00:00.000Z');

  private now(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString();
  }

  /** The next request that matches gets this answer instead (once). */
  inject(match: (r: Req) => boolean, answer: Injected): void {
    this.injections.push({ match, answer });
  }

  key(type: Type, id: string): string {
    return `${type}:${id}`;
  }

  private change(type: Type, id: string, deleted: boolean): void {
    this.changes = this.changes.filter((c) => !(c.type === type && c.id === id));
    this.changes.push({ seq: ++this.seq, type, id, deleted, at: this.now() });
  }

  /** A change made "on another device", straight into the server. */
  serverEdit(type: Type, id: string, patch: Record<string, unknown>): void {
    const s = this.items.get(this.key(type, id))!;
    s.content = { ...s.content, ...patch };
    s.version = this.bump(type, id);
    s.updatedAt = this.now();
    this.change(type, id, false);
  }

  serverCreate(type: Type, id: string, content: object): void {
    const t = this.now();
    this.items.set(this.key(type, id), { type, id, content: { ...content } as Record<string, unknown>, version: this.bump(type, id), createdAt: t, updatedAt: t, likes: new Set(), plays: 0, parentLoopId: null, remixes: 0 });
    this.change(type, id, false);
  }

  serverDelete(type: Type, id: string): void {
    this.items.delete(this.key(type, id));
    this.change(type, id, true);
  }

  private bump(type: Type, id: string): number {
    const v = (this.maxVersion.get(this.key(type, id)) ?? 0) + 1;
    this.maxVersion.set(this.key(type, id), v);
    return v;
  }

  shape(s: Stored): ApiLoop | ApiSong {
    const base = {
      id: s.id,
      userId: this.user.id,
      username: this.user.username,
      ...s.content,
      version: s.version,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
      likesCount: s.likes.size,
      likedByMe: s.likes.has(this.user.id),
      playsCount: s.plays,
    };
    if (s.type === 'loop') return { ...base, parentLoopId: s.parentLoopId, remixesCount: s.remixes } as unknown as ApiLoop;
    const tl = (s.content.timeline as { startBar: number; bars: number }[]) ?? [];
    return { ...base, totalBars: tl.reduce((m, b) => Math.max(m, b.startBar + b.bars), 0) } as unknown as ApiSong;
  }

  get(type: Type, id: string): (ApiLoop & ApiSong) | undefined {
    const s = this.items.get(this.key(type, id));
    return s ? (this.shape(s) as ApiLoop & ApiSong) : undefined;
  }

  count(type: Type): number {
    return [...this.items.values()].filter((s) => s.type === type).length;
  }

  private json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
    return new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers },
    });
  }

  private problem(status: number, error: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
    return this.json(status, { type: 'about:blank', title: error, status, error, ...extra }, headers);
  }

  /** The fetch function handed to Api. */
  fetch = async (input: string, init: RequestInit): Promise<Response> => {
    const url = new URL(input, 'http://fake');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((init.headers as Record<string, string>) ?? {})) headers[k.toLowerCase()] = v;
    const req: Req = { method: init.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, body: init.body ? JSON.parse(init.body as string) : undefined };
    this.log.push(req);
    const i = this.injections.findIndex((x) => x.match(req));
    if (i >= 0) {
      const { answer } = this.injections.splice(i, 1)[0];
      if (answer === 'network') throw new TypeError('Failed to fetch');
      if (answer === 'lost') {
        this.handle(req);
        throw new TypeError('Failed to fetch (the answer was lost)');
      }
      return this.json(answer.status, answer.body ?? { error: `HTTP ${answer.status}`, status: answer.status }, answer.headers);
    }
    return this.handle(req);
  };

  private handle(req: Req): Response {
    if (req.headers.authorization !== `Bearer ${this.token}`) return this.problem(401, 'Invalid or expired token');
    let m: RegExpMatchArray | null;
    if (req.path === '/api/sync' && req.method === 'GET') return this.sync(req);
    if ((m = req.path.match(/^\/api\/(loop|song)s\/([^/]+)$/))) return this.item(req, m[1] as Type, decodeURIComponent(m[2]));
    if ((m = req.path.match(/^\/api\/(loop|song)s\/([^/]+)\/like$/))) {
      const s = this.items.get(this.key(m[1] as Type, m[2]));
      if (!s) return this.problem(404, 'Not found');
      if (req.method === 'PUT') s.likes.add(this.user.id);
      else s.likes.delete(this.user.id);
      return this.json(200, { likesCount: s.likes.size, likedByMe: s.likes.has(this.user.id) });
    }
    if ((m = req.path.match(/^\/api\/(loop|song)s\/([^/]+)\/plays$/))) {
      return this.idempotent(req, () => {
        const s = this.items.get(this.key(m![1] as Type, m![2]));
        if (!s) return { status: 404, body: { error: 'Not found', status: 404 } };
        s.plays++;
        return { status: 202, body: { playsCount: s.plays } };
      });
    }
    if ((m = req.path.match(/^\/api\/loops\/([^/]+)\/remix$/))) {
      return this.idempotent(req, () => {
        const src = this.items.get(this.key('loop', m![1]));
        if (!src) return { status: 404, body: { error: 'Loop not found', status: 404 } };
        src.remixes++;
        const id = `00000000-0000-4000-8000-${String(this.items.size + 1).padStart(12, '0')}`;
        const name = (req.body as { name?: string })?.name ?? `Remix of ${src.content.name}`;
        this.serverCreate('loop', id, { ...src.content, name, isPublic: false });
        this.items.get(this.key('loop', id))!.parentLoopId = src.id;
        return { status: 201, body: { loop: this.shape(this.items.get(this.key('loop', id))!) } };
      });
    }
    return this.problem(404, 'Route not found');
  }

  private idempotent(req: Req, run: () => { status: number; body: unknown }): Response {
    const key = req.headers['idempotency-key'];
    if (key && this.idem.has(key)) {
      const r = this.idem.get(key)!;
      return this.json(r.status, r.body, { 'Idempotent-Replayed': 'true' });
    }
    const r = run();
    if (key && r.status < 400) this.idem.set(key, r);
    return this.json(r.status, r.body);
  }

  private item(req: Req, type: Type, id: string): Response {
    const k = this.key(type, id);
    const s = this.items.get(k);
    const cur = () => ({ [type]: this.shape(s!) });
    const ifMatch = req.headers['if-match'];
    const ifNone = req.headers['if-none-match'];
    if (req.method === 'PUT') {
      if (ifNone === '*') {
        if (s) return this.problem(412, 'Precondition failed', cur());
        const bad = this.validate(type, req.body);
        if (bad) return this.problem(400, 'Validation failed', { errors: [bad] });
        const t = this.now();
        this.items.set(k, { type, id, content: this.clean(type, req.body), version: this.bump(type, id), createdAt: t, updatedAt: t, likes: new Set(), plays: 0, parentLoopId: null, remixes: 0 });
        this.change(type, id, false);
        return this.json(201, { [type]: this.shape(this.items.get(k)!) }, { ETag: `"v${this.items.get(k)!.version}"` });
      }
      if (!s) return this.problem(404, type === 'loop' ? 'Loop not found' : 'Song not found');
      if (ifMatch && ifMatch !== `"v${s.version}"`) return this.problem(412, 'Precondition failed', cur());
      const v = (req.body as { version?: number })?.version;
      if (v !== undefined && v !== s.version) return this.problem(409, 'Version conflict', cur());
      const bad = this.validate(type, req.body);
      if (bad) return this.problem(400, 'Validation failed', { errors: [bad] });
      s.content = this.clean(type, req.body);
      s.version = this.bump(type, id);
      s.updatedAt = this.now();
      this.change(type, id, false);
      return this.json(200, cur(), { ETag: `"v${s.version}"` });
    }
    if (req.method === 'DELETE') {
      if (!s) return this.problem(404, 'Not found');
      if (ifMatch && ifMatch !== `"v${s.version}"`) return this.problem(412, 'Precondition failed', cur());
      this.serverDelete(type, id);
      return new Response(null, { status: 204 });
    }
    if (req.method === 'GET') return s ? this.json(200, cur()) : this.problem(404, 'Not found');
    return this.problem(405, 'Method not allowed');
  }

  private validate(type: Type, body: unknown): { field: string; message: string } | null {
    const b = body as Record<string, unknown>;
    if (typeof b.name !== 'string' || b.name.length < 1 || b.name.length > 100) return { field: 'name', message: 'must be 1-100 characters' };
    if (type === 'loop' && ![1, 2, 4, 8].includes(b.bars as number)) return { field: 'bars', message: 'must be 1, 2, 4 or 8' };
    return null;
  }

  private clean(type: Type, body: unknown): Record<string, unknown> {
    const b = { ...(body as Record<string, unknown>) };
    delete b.id;
    delete b.version;
    delete b.updatedAt;
    return type === 'song' ? { timeSignature: '4/4', ...b } : b;
  }

  private sync(req: Req): Response {
    const since = req.query.get('since');
    let from = 0;
    if (since) {
      const n = Number(since.replace(/^c/, ''));
      if (!/^c\d+$/.test(since)) return this.problem(400, 'Invalid query parameter', { errors: [{ field: 'since', message: 'bad cursor' }] });
      if (n < this.floor) return this.problem(410, 'Sync cursor expired');
      from = n;
    }
    const pending = this.changes.filter((c) => c.seq > from && (since || !c.deleted));
    const page = pending.slice(0, this.pageSize);
    const hasMore = page.length < pending.length;
    const body: Record<string, unknown> = {
      loops: page.filter((c) => !c.deleted && c.type === 'loop').map((c) => this.shape(this.items.get(this.key('loop', c.id))!)),
      songs: page.filter((c) => !c.deleted && c.type === 'song').map((c) => this.shape(this.items.get(this.key('song', c.id))!)),
      deleted: page.filter((c) => c.deleted).map((c) => ({ type: c.type, id: c.id, deletedAt: c.at })),
      cursor: `c${hasMore ? page[page.length - 1].seq : this.seq}`,
      hasMore,
    };
    if (this.likesFeed) body.likes = this.likesFeed;
    return this.json(200, body);
  }
}
