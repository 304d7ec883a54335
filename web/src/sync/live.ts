/*
 * Live updates: one EventSource on GET /api/live for the channels the
 * open views watch (`loop:<id>`, `song:<id>`) and the signed-in user's
 * own (`user:<id>`, its token as `access_token`: an EventSource cannot
 * send headers).  See "Live updates" in doc/API.md.
 *
 *   connecting ──open──► live ──error / closed / silent 75 s──► polling
 *        ▲                                                       │
 *        └──────── retry after 5 s, 10 s … 5 min ◄───────────────┘
 *
 * - live: messages go to onMessage, at most once each (an item's
 *   messages are applied in `seq` order; an older or repeated one is
 *   dropped).  Every (re)connection starts with onCatchUp (the app pulls
 *   the sync feed by its cursor: whatever was missed while away).  The
 *   server pings every 30 s; a connection that has said nothing for
 *   75 s is taken for dead (a proxy that buffers the stream, a network
 *   gone quiet).
 * - polling: without the channel (refused, blocked, a proxy without
 *   SSE) onPoll runs at once and every 30 s while the client keeps
 *   trying to reconnect, each try later than the last.
 * - A reconnection with the same channels resumes after the last event
 *   (last_event_id), within what nchan keeps; a new list starts afresh.
 *
 * The EventSource, the timers and the clock are injected, so the whole
 * of it runs in unit tests (test/live.test.ts).
 */

export type LiveEvent = 'counters' | 'changed' | 'removed' | 'sync' | 'like';
export const LIVE_EVENTS: readonly LiveEvent[] = ['counters', 'changed', 'removed', 'sync', 'like'];
export const LIVE_MAX_CHANNELS = 100;

export interface LiveMessage {
  event: LiveEvent;
  channel: string;
  type?: 'loop' | 'song';
  id?: string;
  version?: number;
  likesCount?: number;
  playsCount?: number;
  remixesCount?: number;
  cursor?: string;
  at: string;
  seq: number;
}

export type LiveMode = 'off' | 'connecting' | 'live' | 'polling';

/** What the client needs of an EventSource (the browser's, or a test's). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, fn: (ev: MessageEvent) => void): void;
  close(): void;
}

export interface LiveOptions {
  /** The subscription URL (default `/api/live`). */
  url?: string;
  createEventSource?: (url: string) => EventSourceLike;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (h: unknown) => void;
  pollMs?: number;
  openTimeoutMs?: number;
  silenceMs?: number;
  retryMs?: number;
  retryMaxMs?: number;
  onMessage(m: LiveMessage): void;
  onCatchUp(): void;
  onPoll(): void;
  onMode?(mode: LiveMode): void;
}

/** The subscription URL for channels (and a token for a user channel). */
export function liveUrl(base: string, channels: readonly string[], token: string | null, lastEventId: string | null): string {
  // Written as they are: nchan splits the raw list and does not decode.
  let u = `${base}?channels=${channels.join(',')}`;
  if (token) u += `&access_token=${encodeURIComponent(token)}`;
  if (lastEventId) u += `&last_event_id=${encodeURIComponent(lastEventId)}`;
  return u;
}

/** The message in an event's data, or null when it is none of ours. */
export function parseMessage(event: string, data: string): LiveMessage | null {
  let m: unknown;
  try {
    m = JSON.parse(data);
  } catch {
    return null;
  }
  if (!m || typeof m !== 'object') return null;
  const o = m as Record<string, unknown>;
  if (o.event !== event || !LIVE_EVENTS.includes(event as LiveEvent)) return null;
  if (typeof o.channel !== 'string' || typeof o.seq !== 'number' || typeof o.at !== 'string') return null;
  return o as unknown as LiveMessage;
}

/**
 * Whether a "sync" message means a pull: not when the stored cursor is
 * already the one it carries (the pull that stored it saw that change).
 */
export function syncNeeded(m: LiveMessage, storedCursor: string | null | undefined): boolean {
  return m.event === 'sync' && (!m.cursor || m.cursor !== storedCursor);
}

const CHANNEL = /^(loop|song|user):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class LiveClient {
  mode: LiveMode = 'off';
  private readonly opts: Required<Omit<LiveOptions, 'onMode'>> & Pick<LiveOptions, 'onMode'>;
  private watched = new Map<string, number>();
  private user: { id: string; token: string } | null = null;
  private started = false;
  private es: EventSourceLike | null = null;
  private esChannels = '';
  private lastEventId: string | null = null;
  private lastEventChannels = '';
  private failures = 0;
  private lastSeq = new Map<string, number>();
  private timers: Record<'open' | 'silence' | 'retry' | 'poll' | 'apply', unknown> = { open: null, silence: null, retry: null, poll: null, apply: null };

  constructor(opts: LiveOptions) {
    this.opts = {
      url: '/api/live',
      createEventSource: (u) => new EventSource(u),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      pollMs: 30_000,
      openTimeoutMs: 10_000,
      silenceMs: 75_000,
      retryMs: 5_000,
      retryMaxMs: 300_000,
      ...opts,
    };
  }

  /** Starts listening (after stop(), again). */
  start(): void {
    this.started = true;
    this.schedule();
  }

  stop(): void {
    this.started = false;
    this.close();
    for (const k of Object.keys(this.timers) as (keyof LiveClient['timers'])[]) this.clear(k);
    this.setMode('off');
  }

  /** Listens to a public item's channel while the returned function is not called. */
  watch(channel: string): () => void {
    if (!CHANNEL.test(channel) || channel.startsWith('user:')) return () => {};
    this.watched.set(channel, (this.watched.get(channel) ?? 0) + 1);
    this.schedule();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.watched.get(channel) ?? 1) - 1;
      if (n > 0) this.watched.set(channel, n);
      else this.watched.delete(channel);
      this.schedule();
    };
  }

  /** The signed-in user (their channel, their token), or null. */
  setUser(user: { id: string; token: string } | null): void {
    const same = (user?.id ?? null) === (this.user?.id ?? null) && (user?.token ?? null) === (this.user?.token ?? null);
    this.user = user;
    if (!same) {
      this.esChannels = '';	// a new token: a new subscription
      this.schedule();
    }
  }

  /** Back online, or "Sync now": try at once if the channel is down. */
  kick(): void {
    if (this.mode === 'polling') {
      this.clear('retry');
      this.connect();
    }
  }

  /** The channels to subscribe to: the user's first, at most 100. */
  channels(): string[] {
    const list = [...this.watched.keys()].sort();
    if (this.user) list.unshift(`user:${this.user.id}`);
    return list.slice(0, LIVE_MAX_CHANNELS);
  }

  /* ------------------------------------------------------------ */

  private setMode(m: LiveMode): void {
    if (this.mode === m) return;
    this.mode = m;
    this.opts.onMode?.(m);
  }

  private clear(k: keyof LiveClient['timers']): void {
    if (this.timers[k] !== null) this.opts.clearTimer(this.timers[k]);
    this.timers[k] = null;
  }

  private set(k: keyof LiveClient['timers'], ms: number, fn: () => void): void {
    this.clear(k);
    this.timers[k] = this.opts.setTimer(() => {
      this.timers[k] = null;
      fn();
    }, ms);
  }

  /** Applies a change of the channel list soon (views come and go in bursts). */
  private schedule(): void {
    if (!this.started) return;
    this.set('apply', 50, () => this.apply());
  }

  private apply(): void {
    const list = this.channels().join(',');
    if (!list) {
      this.close();
      this.clear('retry');
      this.stopPolling();
      this.failures = 0;
      this.setMode('off');
      return;
    }
    if (this.es && list === this.esChannels) return;
    if (this.mode === 'polling' && this.timers.retry !== null && list === this.esChannels) return;
    this.clear('retry');
    this.connect();
  }

  private close(): void {
    if (!this.es) return;
    this.es.onopen = null;
    this.es.onerror = null;
    this.es.close();
    this.es = null;
    this.clear('open');
    this.clear('silence');
  }

  private connect(): void {
    this.close();
    const channels = this.channels();
    if (!channels.length) return this.apply();
    const list = channels.join(',');
    const resume = list === this.lastEventChannels ? this.lastEventId : null;
    this.esChannels = list;
    let es: EventSourceLike;
    try {
      es = this.opts.createEventSource(liveUrl(this.opts.url, channels, this.user?.token ?? null, resume));
    } catch {
      return this.fail();
    }
    this.es = es;
    if (this.mode !== 'polling') this.setMode('connecting');
    es.onopen = () => {
      this.clear('open');
      this.failures = 0;
      this.stopPolling();
      this.setMode('live');
      this.listening();
      this.opts.onCatchUp();
    };
    es.onerror = () => {
      // A refusal (4xx), a stream that broke, a proxy in the way: the
      // browser's own retry would skip the fallback; ours does not.
      this.fail();
    };
    for (const name of [...LIVE_EVENTS, 'ping']) {
      es.addEventListener(name, (ev: MessageEvent) => this.receive(name, ev, list));
    }
    this.set('open', this.opts.openTimeoutMs, () => this.fail());
  }

  /** Something came: the connection is alive for another while. */
  private listening(): void {
    this.set('silence', this.opts.silenceMs, () => this.fail());
  }

  private receive(name: string, ev: MessageEvent, list: string): void {
    if (this.esChannels !== list) return;
    this.listening();
    if (ev.lastEventId) {
      this.lastEventId = ev.lastEventId;
      this.lastEventChannels = list;
    }
    if (name === 'ping') return;
    const m = parseMessage(name, typeof ev.data === 'string' ? ev.data : '');
    if (!m) return;
    const key = `${m.channel}|${m.event}|${m.id ?? ''}`;
    const last = this.lastSeq.get(key);
    if (last !== undefined && m.seq <= last) return;
    this.lastSeq.set(key, m.seq);
    if (this.lastSeq.size > 5000) this.lastSeq.clear();
    this.opts.onMessage(m);
  }

  private fail(): void {
    this.close();
    if (!this.started) return;
    this.failures++;
    this.setMode('polling');
    if (this.timers.poll === null) {
      this.opts.onPoll();
      this.polling();
    }
    const wait = Math.min(this.opts.retryMs * 2 ** (this.failures - 1), this.opts.retryMaxMs);
    this.set('retry', wait, () => this.connect());
  }

  private polling(): void {
    this.set('poll', this.opts.pollMs, () => {
      this.opts.onPoll();
      this.polling();
    });
  }

  private stopPolling(): void {
    this.clear('poll');
  }
}
