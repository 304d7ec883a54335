/*
 * "Explore" (the public feed: sort, chord filter, likes, plays counted
 * when played, remix) and a user's public profile.  Both read the
 * network directly (they show other people's work, which is not kept on
 * the device); every write they make (like, play, remix) goes through
 * the outbox like any other edit.
 */
import type { App, View } from '../app';
import type { ApiLoop, ApiPublicUser, LoopList } from '../api/types';
import { problemMessage } from '../api/client';
import { CHORD_CHOICES } from '../audio/chords';
import { loopDuration, loopEvents } from '../audio/schedule';
import type { LiveMessage } from '../sync/live';
import { clear, field, h } from './dom';

/**
 * One public loop in a list.  Its counters follow the live channel
 * (apply) or a poll: the likes shown are the server's count, plus this
 * device's like while it waits in the outbox.
 */
interface Card {
  el: HTMLElement;
  apply(m: { likesCount?: number; playsCount?: number }): Promise<void>;
  gone(): void;
}

function loopCard(app: App, l: ApiLoop, likes: Map<string, boolean>): Card {
  let liked = likes.has(l.id) ? likes.get(l.id)! : l.likedByMe;
  let serverLiked = l.likedByMe;
  let serverCount = l.likesCount;
  const countEl = h('span', { class: 'count', 'aria-label': 'Likes' });
  const playsEl = h('span', { class: 'count', 'aria-label': 'Plays' }, `${l.playsCount} plays`);
  const show = () => {
    const n = Math.max(0, serverCount + (liked === serverLiked ? 0 : liked ? 1 : -1));
    const t = `${n} likes`;
    if (countEl.textContent !== t) countEl.textContent = t;
  };
  show();
  const like = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      'aria-pressed': String(liked),
      onclick: async () => {
        if (!app.auth) {
          app.notice('Sign in to like loops.', 'info', { href: '#/signin', text: 'Sign in' });
          return;
        }
        liked = like.getAttribute('aria-pressed') !== 'true';
        like.setAttribute('aria-pressed', String(liked));
        likes.set(l.id, liked);
        show();
        await app.write(() => app.repo.like('loop', l.id, liked));
      },
    },
    'Like',
  );
  const actions = h(
    'span',
    { class: 'actions' },
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: async () => {
          await app.player.play(loopEvents(l), loopDuration(l));
          await app.write(() => app.repo.play('loop', l.id));
        },
      },
      'Play',
    ),
    h('button', { type: 'button', class: 'secondary', onclick: () => app.player.stop() }, 'Stop'),
    like,
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: async () => {
          if (!app.auth) {
            app.notice('Sign in to remix loops.', 'info', { href: '#/signin', text: 'Sign in' });
            return;
          }
          const copy = await app.write(() => app.repo.remix(l));
          if (copy) location.hash = `#/loop/${copy.id}`;
        },
      },
      'Remix',
    ),
  );
  const el = h(
    'li',
    { class: 'item', style: `--c:${l.color}`, 'aria-label': l.name, 'data-loop-id': l.id },
    h('strong', {}, l.name),
    h('span', { class: 'meta' }, 'by ', h('a', { href: `#/u/${encodeURIComponent(l.username)}` }, l.username), ` · ${l.bpm} bpm · ${l.bars} bars · ${l.chordProgression.map((c) => c.chord).join(' ')}`),
    countEl,
    playsEl,
    actions,
  );
  return {
    el,
    async apply(m) {
      if (m.likesCount !== undefined) {
        // Once this device's like has left the outbox, the server's
        // count has it.
        const waiting = (await app.store.outboxForItem('loop', l.id)).some((e) => e.kind === 'like');
        if (!waiting) serverLiked = liked;
        serverCount = m.likesCount;
        show();
      }
      if (m.playsCount !== undefined) playsEl.textContent = `${m.playsCount} plays`;
    },
    gone() {
      el.classList.add('gone');
      actions.replaceChildren(h('span', { class: 'muted' }, 'No longer public'));
    },
  };
}

/**
 * The cards of a list and their live channels: each card's loop is
 * watched while the list shows it; a "changed" loop is read again, a
 * "removed" one marked; poll() reads every card's counters again.
 */
class LiveCards {
  private cards = new Map<string, { card: Card; loop: ApiLoop; unwatch: () => void }>();

  constructor(
    private app: App,
    private likes: () => Map<string, boolean>,
  ) {}

  add(l: ApiLoop): HTMLElement {
    this.cards.get(l.id)?.unwatch();
    const card = loopCard(this.app, l, this.likes());
    this.cards.set(l.id, { card, loop: l, unwatch: this.app.live.watch(`loop:${l.id}`) });
    return card.el;
  }

  clear(): void {
    for (const c of this.cards.values()) c.unwatch();
    this.cards.clear();
  }

  async live(m: LiveMessage): Promise<void> {
    if (m.type !== 'loop' || !m.id) return;
    const c = this.cards.get(m.id);
    if (!c) return;
    if (m.event === 'counters') await c.card.apply(m);
    else if (m.event === 'removed') c.card.gone();
    else if (m.event === 'changed' && (m.version ?? 0) > c.loop.version) await this.reload(m.id);
  }

  /** Without the live channel: the counters of every card, read again. */
  async poll(): Promise<void> {
    for (const id of [...this.cards.keys()].slice(0, 50)) await this.reload(id);
  }

  private async reload(id: string): Promise<void> {
    const c = this.cards.get(id);
    if (!c) return;
    try {
      const r = await this.app.api.request<{ loop: ApiLoop }>('GET', `/api/loops/${encodeURIComponent(id)}`);
      if (r.status === 404) c.card.gone();
      if (r.status !== 200 || !r.body) return;
      const l = r.body.loop;
      if (l.version !== c.loop.version || l.name !== c.loop.name) {
        const el = this.add(l);
        c.card.el.replaceWith(el);
      } else await c.card.apply(l);
    } catch {
      /* offline: the next poll tries again */
    }
  }
}

async function pendingLikes(app: App): Promise<Map<string, boolean>> {
  const m = new Map<string, boolean>();
  for (const e of await app.store.outboxList()) if (e.kind === 'like' && e.type === 'loop') m.set(e.id, !!e.liked);
  return m;
}

export function exploreView(app: App): View {
  const sort = h('select', { onchange: () => void load(true) }, ['new', 'top', 'popular', 'updated'].map((s) => h('option', { value: s }, { new: 'Newest', top: 'Most liked', popular: 'Most played', updated: 'Recently changed' }[s]!)));
  const chord = h('select', { onchange: () => void load(true) }, h('option', { value: '' }, 'Any chord'), CHORD_CHOICES.map((c) => h('option', { value: c }, c)));
  const list = h('ul', { class: 'items', 'aria-label': 'Public loops' });
  const msg = h('p', { class: 'muted', role: 'status' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => void load(false) }, 'Load more');
  let cursor: string | null = null;
  let likes = new Map<string, boolean>();
  let generation = 0;
  const cards = new LiveCards(app, () => likes);

  /** Loads a page; a newer load (another sort or filter) wins over an older one still on its way. */
  async function load(reset: boolean): Promise<void> {
    const gen = ++generation;
    if (reset) {
      cursor = null;
      clear(list);
      cards.clear();
    }
    if (!navigator.onLine) {
      msg.textContent = 'Explore needs the network. Your own loops work offline.';
      more.hidden = true;
      return;
    }
    likes = await pendingLikes(app);
    if (gen !== generation) return;
    msg.textContent = 'Loading…';
    const q = new URLSearchParams({ public: 'true', sort: sort.value, limit: '20' });
    if (chord.value) q.set('chord', chord.value);
    if (cursor) q.set('cursor', cursor);
    try {
      const r = await app.api.request<LoopList>('GET', `/api/loops?${q}`);
      if (gen !== generation) return;
      if (r.status !== 200 || !r.body) {
        msg.textContent = `The feed could not be loaded: ${problemMessage(r)}`;
        return;
      }
      for (const l of r.body.loops) list.append(cards.add(l));
      cursor = r.body.nextCursor;
      more.hidden = !cursor;
      msg.textContent = list.children.length ? '' : 'No public loops match.';
    } catch {
      msg.textContent = 'The server cannot be reached right now.';
    }
  }

  void load(true);
  const el = h(
    'div',
    { class: 'view' },
    h('h1', {}, 'Explore'),
    h('div', { class: 'row filters' }, field('Sort', sort), field('Chord', chord)),
    msg,
    list,
    more,
  );
  return { el, live: (m) => cards.live(m), poll: () => cards.poll(), destroy: () => cards.clear() };
}

export function profileView(app: App, username: string): View {
  const head = h('div', {}, h('h1', {}, username));
  const list = h('ul', { class: 'items', 'aria-label': `Loops by ${username}` });
  const msg = h('p', { class: 'muted', role: 'status' }, 'Loading…');
  let likes = new Map<string, boolean>();
  const cards = new LiveCards(app, () => likes);
  (async () => {
    if (!navigator.onLine) {
      msg.textContent = 'Profiles need the network.';
      return;
    }
    try {
      const u = await app.api.request<{ user: ApiPublicUser }>('GET', `/api/users/${encodeURIComponent(username)}`);
      if (u.status !== 200 || !u.body) {
        msg.textContent = u.status === 404 ? 'No such user.' : problemMessage(u);
        return;
      }
      const user = u.body.user;
      clear(head);
      head.append(
        h('h1', {}, user.displayName || user.username),
        h('p', { class: 'meta' }, `@${user.username} · ${user.loopsCount} public loops · ${user.songsCount} public songs · since ${user.createdAt.slice(0, 10)}`),
      );
      likes = await pendingLikes(app);
      const r = await app.api.request<LoopList>('GET', `/api/loops?user=${encodeURIComponent(user.username)}&limit=50`);
      msg.textContent = '';
      for (const l of r.body?.loops ?? []) if (l.isPublic) list.append(cards.add(l));
      if (!list.children.length) msg.textContent = 'No public loops yet.';
    } catch {
      msg.textContent = 'The server cannot be reached right now.';
    }
  })();
  return { el: h('div', { class: 'view' }, head, msg, list), live: (m) => cards.live(m), poll: () => cards.poll(), destroy: () => cards.clear() };
}
