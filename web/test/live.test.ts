import { describe, expect, it } from 'vitest';
import { LiveClient, liveUrl, parseMessage, syncNeeded, type EventSourceLike, type LiveMessage, type LiveMode } from '../src/sync/live';
import { Repo } from '../src/sync/repo';
import { newLoop } from '../src/model';
import { makeAdapter } from './helpers';

const A = '3db7bfa1-1291-4da6-8969-c89b668446f9';
const B = '87e9047a-861f-4fd7-a72e-946361e608fc';
const U = 'aaaaaaaa-1291-4da6-8969-c89b668446f9';

/** An EventSource the test drives: open(), fail(), send(). */
class FakeSource implements EventSourceLike {
  readyState = 0;
  onopen: ((ev: Event) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  closed = false;
  private listeners = new Map<string, ((ev: MessageEvent) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, fn: (ev: MessageEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  fail(): void {
    this.readyState = 2;
    this.onerror?.(new Event('error'));
  }
  send(event: string, data: unknown, id = ''): void {
    for (const fn of this.listeners.get(event) ?? [])
      fn({ data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId: id } as MessageEvent);
  }
}

/** A clock with timers the test moves forward. */
class Clock {
  now = 0;
  private next = 1;
  timers = new Map<number, { at: number; fn: () => void }>();
  set = (fn: () => void, ms: number): unknown => {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  };
  clear = (h: unknown): void => {
    this.timers.delete(h as number);
  };
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = end;
  }
}

function setup() {
  const clock = new Clock();
  const sources: FakeSource[] = [];
  const got: LiveMessage[] = [];
  const modes: LiveMode[] = [];
  let catchUps = 0;
  let polls = 0;
  const live = new LiveClient({
    createEventSource: (u) => {
      const s = new FakeSource(u);
      sources.push(s);
      return s;
    },
    setTimer: clock.set,
    clearTimer: clock.clear,
    onMessage: (m) => got.push(m),
    onCatchUp: () => catchUps++,
    onPoll: () => polls++,
    onMode: (m) => modes.push(m),
  });
  live.start();
  const last = () => sources[sources.length - 1];
  return { clock, sources, got, modes, live, last, catchUps: () => catchUps, polls: () => polls };
}

const counters = (id: string, seq: number, likes: number): LiveMessage => ({
  event: 'counters', channel: `loop:${id}`, type: 'loop', id, version: 1, likesCount: likes, playsCount: 0, remixesCount: 0, at: '2026-12-01T10:00:00.000Z', seq,
});

describe('the live channel', () => {
  it('subscribes to what the views watch and the user channel, written as they are, the token in the query', () => {
    const t = setup();
    t.clock.advance(100);
    expect(t.sources).toHaveLength(0);
    expect(t.live.mode).toBe('off');
    const unwatch = t.live.watch(`loop:${B}`);
    t.live.watch(`loop:${A}`);
    t.live.setUser({ id: U, token: 'tok.en-_1' });
    t.clock.advance(100);
    expect(t.sources).toHaveLength(1);
    expect(t.last().url).toBe(`/api/live?channels=user:${U},loop:${A},loop:${B}&access_token=tok.en-_1`);
    expect(t.live.mode).toBe('connecting');
    unwatch();
    t.clock.advance(100);
    expect(t.sources).toHaveLength(2);
    expect(t.sources[0].closed).toBe(true);
    expect(t.last().url).toBe(`/api/live?channels=user:${U},loop:${A}&access_token=tok.en-_1`);
  });

  it('watches only public item channels, counted, at most 100 in all', () => {
    const t = setup();
    t.live.watch(`user:${U}`);
    t.live.watch('loop:not-a-uuid');
    t.live.watch(`loop:${A}`);
    const second = t.live.watch(`loop:${A}`);
    second();
    second();
    expect(t.live.channels()).toEqual([`loop:${A}`]);
    for (let i = 0; i < 120; i++) t.live.watch(`song:${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`);
    t.live.setUser({ id: U, token: 't' });
    expect(t.live.channels()).toHaveLength(100);
    expect(t.live.channels()[0]).toBe(`user:${U}`);
  });

  it('once open, hands each message over once, in seq order per item, and catches up by cursor', () => {
    const t = setup();
    t.live.watch(`loop:${A}`);
    t.clock.advance(100);
    t.last().open();
    expect(t.live.mode).toBe('live');
    expect(t.catchUps()).toBe(1);
    t.last().send('counters', counters(A, 5, 1), '1:0');
    t.last().send('counters', counters(A, 5, 1), '1:0');
    t.last().send('counters', counters(A, 4, 0), '1:1');
    t.last().send('counters', counters(A, 7, 2), '1:2');
    t.last().send('counters', 'not json');
    t.last().send('counters', { ...counters(A, 9, 3), event: 'changed' });
    t.last().send('ping', '{"event":"ping"}');
    expect(t.got.map((m) => m.likesCount)).toEqual([1, 2]);
  });

  it('falls back to polling every 30 s when the channel is refused, and retries later each time', () => {
    const t = setup();
    t.live.watch(`loop:${A}`);
    t.clock.advance(100);
    t.last().fail();
    expect(t.live.mode).toBe('polling');
    expect(t.polls()).toBe(1);
    t.clock.advance(5_000);
    expect(t.sources).toHaveLength(2);
    t.last().fail();
    t.clock.advance(9_999);
    expect(t.sources).toHaveLength(2);
    t.clock.advance(1);
    expect(t.sources).toHaveLength(3);
    t.last().fail();
    t.clock.advance(30_000 - 15_000);
    expect(t.polls()).toBe(2);
    t.clock.advance(5_000);
    expect(t.sources).toHaveLength(4);	// 20 s after the third failure
    expect(t.polls()).toBe(2);
    t.last().open();
    expect(t.live.mode).toBe('live');
    const polls = t.polls();
    t.clock.advance(60_000);
    expect(t.polls()).toBe(polls);
    expect(t.catchUps()).toBe(1);
  });

  it('takes a stream that never opens, or goes quiet past 75 s, for a lost one', () => {
    const t = setup();
    t.live.watch(`loop:${A}`);
    t.clock.advance(100);
    t.clock.advance(10_000);
    expect(t.live.mode).toBe('polling');
    expect(t.sources[0].closed).toBe(true);
    t.clock.advance(5_000);
    t.last().open();
    t.clock.advance(60_000);
    t.last().send('ping', '{"event":"ping"}');
    t.clock.advance(60_000);
    expect(t.live.mode).toBe('live');
    t.clock.advance(15_000);
    expect(t.live.mode).toBe('polling');
  });

  it('resumes after the last event with the same channels, and starts afresh with others', () => {
    const t = setup();
    t.live.watch(`loop:${A}`);
    t.clock.advance(100);
    t.last().open();
    t.last().send('counters', counters(A, 5, 1), '1796:0');
    t.last().fail();
    t.clock.advance(5_000);
    expect(t.last().url).toBe(`/api/live?channels=loop:${A}&last_event_id=1796%3A0`);
    t.last().open();
    t.live.watch(`loop:${B}`);
    t.clock.advance(100);
    expect(t.last().url).toBe(`/api/live?channels=loop:${A},loop:${B}`);
    expect(t.catchUps()).toBe(2);
  });

  it('subscribes again with the new token when the user signs in or out, and stops with nothing to hear', () => {
    const t = setup();
    t.live.setUser({ id: U, token: 'one' });
    t.clock.advance(100);
    t.last().open();
    t.live.setUser({ id: U, token: 'two' });
    t.clock.advance(100);
    expect(t.last().url).toContain('access_token=two');
    t.live.setUser(null);
    t.clock.advance(100);
    expect(t.last().closed).toBe(true);
    expect(t.live.mode).toBe('off');
  });

  it('tries at once when kicked while polling (back online, Sync now)', () => {
    const t = setup();
    t.live.watch(`loop:${A}`);
    t.clock.advance(100);
    t.last().fail();
    t.live.kick();
    expect(t.sources).toHaveLength(2);
  });
});

describe('live messages', () => {
  it('are taken only when the data names the event and has channel, at and seq', () => {
    expect(parseMessage('counters', JSON.stringify(counters(A, 1, 1)))?.likesCount).toBe(1);
    expect(parseMessage('sync', JSON.stringify(counters(A, 1, 1)))).toBeNull();
    expect(parseMessage('gossip', JSON.stringify({ ...counters(A, 1, 1), event: 'gossip' }))).toBeNull();
    expect(parseMessage('counters', JSON.stringify({ event: 'counters' }))).toBeNull();
    expect(parseMessage('counters', '[')).toBeNull();
  });

  it('a sync message asks for a pull unless the stored cursor is already its own', () => {
    const m: LiveMessage = { event: 'sync', channel: `user:${U}`, cursor: 'C2', at: '2026-12-01T10:00:00.000Z', seq: 3 };
    expect(syncNeeded(m, 'C1')).toBe(true);
    expect(syncNeeded(m, null)).toBe(true);
    expect(syncNeeded(m, 'C2')).toBe(false);
    expect(syncNeeded({ ...m, cursor: undefined }, 'C2')).toBe(true);
  });

  it('the URL keeps colons and commas as they are', () => {
    expect(liveUrl('/api/live', [`loop:${A}`, `song:${B}`], null, null)).toBe(`/api/live?channels=loop:${A},song:${B}`);
  });
});

describe('counters of this device’s own items', () => {
  it('are written without an edit, and a like still in the outbox keeps its count', async () => {
    const { store } = await makeAdapter('indexeddb');
    const repo = new Repo(store);
    const l = { ...newLoop('mine'), likesCount: 2, playsCount: 1 };
    await store.putLoop(l);
    expect(await repo.setCounters('loop', l.id, { likesCount: 5, playsCount: 9, remixesCount: 1 })).toBe(true);
    let r = (await store.getLoop(l.id))!;
    expect([r.likesCount, r.playsCount, r.remixesCount, r.rev, r.dirty]).toEqual([5, 9, 1, l.rev, l.dirty]);
    expect(await store.outboxCount()).toBe(0);
    expect(await repo.setCounters('loop', l.id, { likesCount: 5, playsCount: 9, remixesCount: 1 })).toBe(false);
    await repo.like('loop', l.id, true);
    await repo.setCounters('loop', l.id, { likesCount: 5, playsCount: 10 });
    r = (await store.getLoop(l.id))!;
    expect([r.likesCount, r.playsCount]).toEqual([6, 10]);
    expect(await repo.setCounters('song', 'nope', { likesCount: 1 })).toBe(false);
  });
});
