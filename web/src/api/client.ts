/*
 * The HTTP client: one request, one answer.  HTTP errors are answers
 * (status + parsed body), never exceptions; only a failure to get an
 * answer at all (offline, refused, timed out) throws NetworkError.  The
 * sync engine decides what each status means.
 */
import type { Problem } from './types';

export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkError';
  }
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T | null;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the token (default true when there is one). */
  auth?: boolean;
  timeoutMs?: number;
}

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** A commit position as the server writes it in X-Read-After ("hex/hex"), as a number. */
export function parsePosition(s: string | null): bigint | null {
  const m = s === null ? null : /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(s.trim());
  return m ? (BigInt('0x' + m[1]) << 32n) | BigInt('0x' + m[2]) : null;
}

export class Api {
  token: string | null = null;
  /**
   * Read your writes behind a read replica (doc/API.md): the furthest
   * commit position a write was answered with (X-Read-After), echoed on
   * every read after it, so that the server serves the read from a
   * replica only once the replica has replayed that write.  Null until
   * a write's answer carried one (no replica: never).
   */
  readAfter: string | null = null;

  constructor(
    readonly base = '',
    private readonly fetchFn: FetchFn = (i, init) => fetch(i, init),
  ) {}

  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { Accept: 'application/json, application/problem+json', ...(opts.headers ?? {}) };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.token && opts.auth !== false) headers.Authorization = `Bearer ${this.token}`;
    if (this.readAfter && (method === 'GET' || method === 'HEAD')) headers['X-Read-After'] = this.readAfter;
    const ctl = typeof AbortController !== 'undefined' ? new AbortController() : null;
    const timer = ctl ? setTimeout(() => ctl.abort(), opts.timeoutMs ?? 20000) : null;
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: ctl?.signal,
        cache: 'no-store',
        credentials: 'same-origin',
      });
    } catch (e) {
      throw new NetworkError(`${method} ${path}: ${(e as Error).message || 'network error'}`);
    } finally {
      if (timer) clearTimeout(timer);
    }
    this.noteReadAfter(res.headers.get('X-Read-After'));
    let body: T | null = null;
    const text = res.status === 204 || res.status === 304 ? '' : await res.text().catch(() => '');
    if (text) {
      try {
        body = JSON.parse(text) as T;
      } catch {
        body = null;
      }
    }
    return { status: res.status, headers: res.headers, body };
  }

  /** Keep position h if it is further than the one kept (a malformed one is ignored). */
  private noteReadAfter(h: string | null): void {
    const next = parsePosition(h);
    if (next === null) return;
    const kept = parsePosition(this.readAfter);
    if (kept === null || next > kept) this.readAfter = (h as string).trim();
  }
}

/** The short human message of an error answer. */
export function problemMessage(r: ApiResponse): string {
  const p = r.body as Partial<Problem> | null;
  if (p && Array.isArray(p.errors) && p.errors.length) return p.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  return p?.detail || p?.error || `HTTP ${r.status}`;
}

/**
 * Retry-After in milliseconds (seconds or an HTTP date), or null.
 * `now` is the current time in ms.
 */
export function retryAfterMs(h: string | null, now: number): number | null {
  if (!h) return null;
  const s = h.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}
