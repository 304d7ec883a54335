/*
 * The server side of the e2e checks: plain HTTP to the real stack (nginx
 * → workers → PostgreSQL) with the test user's own token, to see what the
 * server holds after the browser synced.
 */
import type { ApiLoop, ApiSong, SyncPage } from '../src/api/types';
import { BASE } from './browser';

export async function login(email: string, password: string): Promise<string> {
  const r = await fetch(`${BASE}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });
  if (r.status !== 200) throw new Error(`login: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

/** Every loop and song the user has, through the sync feed from the start. */
export async function serverState(token: string): Promise<{ loops: ApiLoop[]; songs: ApiSong[] }> {
  const loops = new Map<string, ApiLoop>();
  const songs = new Map<string, ApiSong>();
  let since: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const r = await fetch(`${BASE}/api/sync${since ? `?since=${encodeURIComponent(since)}` : ''}`, { headers: { Authorization: `Bearer ${token}` } });
    if (r.status !== 200) throw new Error(`sync: ${r.status} ${await r.text()}`);
    const p = (await r.json()) as SyncPage;
    for (const l of p.loops) loops.set(l.id, l);
    for (const s of p.songs) songs.set(s.id, s);
    for (const d of p.deleted) (d.type === 'loop' ? loops : songs).delete(d.id);
    since = p.cursor;
    if (!p.hasMore) break;
  }
  return { loops: [...loops.values()], songs: [...songs.values()] };
}

export async function getLoop(token: string, id: string): Promise<{ status: number; loop?: ApiLoop }> {
  const r = await fetch(`${BASE}/api/loops/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: r.status, loop: r.status === 200 ? ((await r.json()) as { loop: ApiLoop }).loop : undefined };
}

/** Polls `fn` until it returns a truthy value or the time is up. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, what: string, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
