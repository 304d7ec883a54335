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
import { clear, field, h } from './dom';

function loopCard(app: App, l: ApiLoop, likes: Map<string, boolean>): HTMLElement {
  const liked = likes.has(l.id) ? likes.get(l.id)! : l.likedByMe;
  let count = l.likesCount + (liked === l.likedByMe ? 0 : liked ? 1 : -1);
  const countEl = h('span', { class: 'count' }, `${count} likes`);
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
        const now = like.getAttribute('aria-pressed') !== 'true';
        like.setAttribute('aria-pressed', String(now));
        count += now ? 1 : -1;
        countEl.textContent = `${count} likes`;
        likes.set(l.id, now);
        await app.write(() => app.repo.like('loop', l.id, now));
      },
    },
    'Like',
  );
  return h(
    'li',
    { class: 'item', style: `--c:${l.color}`, 'aria-label': l.name },
    h('strong', {}, l.name),
    h('span', { class: 'meta' }, 'by ', h('a', { href: `#/u/${encodeURIComponent(l.username)}` }, l.username), ` · ${l.bpm} bpm · ${l.bars} bars · ${l.chordProgression.map((c) => c.chord).join(' ')}`),
    countEl,
    h('span', { class: 'count' }, `${l.playsCount} plays`),
    h(
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
    ),
  );
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

  /** Loads a page; a newer load (another sort or filter) wins over an older one still on its way. */
  async function load(reset: boolean): Promise<void> {
    const gen = ++generation;
    if (reset) {
      cursor = null;
      clear(list);
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
      for (const l of r.body.loops) list.append(loopCard(app, l, likes));
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
  return { el };
}

export function profileView(app: App, username: string): View {
  const head = h('div', {}, h('h1', {}, username));
  const list = h('ul', { class: 'items', 'aria-label': `Loops by ${username}` });
  const msg = h('p', { class: 'muted', role: 'status' }, 'Loading…');
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
      const likes = await pendingLikes(app);
      const r = await app.api.request<LoopList>('GET', `/api/loops?user=${encodeURIComponent(user.username)}&limit=50`);
      msg.textContent = '';
      for (const l of r.body?.loops ?? []) if (l.isPublic) list.append(loopCard(app, l, likes));
      if (!list.children.length) msg.textContent = 'No public loops yet.';
    } catch {
      msg.textContent = 'The server cannot be reached right now.';
    }
  })();
  return { el: h('div', { class: 'view' }, head, msg, list) };
}
