/*
 * Songs: the list and the arranger.  A song places loops on a timeline
 * of bars; each block can be dragged (move) or dragged by its right edge
 * (resize), and has buttons doing the same by one bar for keyboards and
 * screen readers.  Play schedules every block's loop (repeated over the
 * block) at the song's bpm.
 */
import type { App, View } from '../app';
import type { ApiLoop, LoopContent, SongContent, TimelineBlock } from '../api/types';
import { songDuration, songEvents } from '../audio/schedule';
import { loopContent, newId, newSong, songContent, totalBars, type LocalLoop, type LocalSong } from '../model';
import { append, clear, field, h } from './dom';
import { badge, conflictPanel, restorePanel } from './shared';

export async function songsView(app: App): Promise<View> {
  const list = h('ul', { class: 'items', 'aria-label': 'My songs' });
  const refresh = async () => {
    const songs = (await app.store.listSongs()).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
    const entries = await app.store.outboxList();
    clear(list);
    if (!songs.length) list.append(h('li', { class: 'empty' }, 'No songs yet. Arrange your loops with “New song”.'));
    for (const s of songs)
      list.append(
        h('li', { class: 'item' }, h('a', { href: `#/song/${s.id}` }, s.name), h('span', { class: 'meta' }, `${s.bpm} bpm · ${totalBars(s)} bars · ${s.timeline.length} blocks`), badge(s, entries)),
      );
  };
  await refresh();
  return {
    el: h('div', { class: 'view' }, h('div', { class: 'row' }, h('h1', {}, 'Songs'), h('button', { type: 'button', onclick: () => (location.hash = '#/song/new') }, 'New song')), list),
    refresh,
  };
}

const CELL = 24;

export async function arrangerView(app: App, id: string): Promise<View> {
  let rec: LocalSong | undefined;
  let isNew = false;
  if (id === 'new') {
    rec = newSong();
    isNew = true;
  } else {
    rec = await app.store.getSong(id);
    if (!rec) return { el: h('div', { class: 'view' }, h('h1', {}, 'Song not found'), h('p', {}, 'This song is not on this device.'), h('a', { href: '#/songs' }, 'Songs')) };
  }
  let draft: SongContent = songContent(rec);
  const touched = new Set<keyof SongContent>();
  let loops = new Map<string, LocalLoop>();
  const el = h('div', { class: 'view arranger' });
  const saveState = h('span', { class: 'save-state' });
  const set = <K extends keyof SongContent>(k: K, v: SongContent[K]) => {
    draft = { ...draft, [k]: v };
    touched.add(k);
    saveState.textContent = 'Unsaved changes';
  };

  const save = async () => {
    const latest = isNew ? rec! : ((await app.store.getSong(rec!.id)) ?? rec!);
    const next: LocalSong = { ...latest };
    for (const k of touched) (next as unknown as Record<string, unknown>)[k] = draft[k];
    const saved = await app.write(() => app.repo.saveSong(next));
    if (!saved) return;
    rec = saved;
    touched.clear();
    saveState.textContent = 'Saved on this device';
    if (isNew) {
      isNew = false;
      history.replaceState(null, '', `#/song/${saved.id}`);
    }
    render();
  };

  const updateBlock = (bid: string, f: (b: TimelineBlock) => TimelineBlock) => {
    set(
      'timeline',
      draft.timeline.map((b) => (b.id === bid ? f(b) : b)),
    );
    render();
  };

  async function play(): Promise<void> {
    const byId = new Map<string, LoopContent>([...loops].map(([k, v]) => [k, loopContent(v)]));
    const missing = draft.timeline.filter((b) => !byId.has(b.loopId));
    if (missing.length && !isNew && navigator.onLine) {
      try {
        const r = await app.api.request<{ loops: ApiLoop[] }>('GET', `/api/songs/${rec!.id}?expand=loops`);
        for (const l of r.body?.loops ?? []) byId.set(l.id, loopContent(l));
      } catch {
        /* play what is here */
      }
    }
    await app.player.play(songEvents(draft, byId), Math.max(songDuration(draft), 0.5), true);
    if (!isNew) await app.write(() => app.repo.play('song', rec!.id));
  }

  function timeline(): HTMLElement {
    const bars = Math.max(16, totalBars(draft) + 4);
    const tl = h('div', { class: 'timeline', role: 'group', 'aria-label': 'Timeline', style: `--bars:${bars};--cell:${CELL}px` });
    tl.append(h('div', { class: 'ruler', 'aria-hidden': 'true' }, Array.from({ length: bars }, (_, i) => h('span', {}, i % 4 === 0 ? String(i + 1) : ''))));
    for (const b of draft.timeline) {
      const loop = loops.get(b.loopId);
      const name = loop?.name ?? 'Missing loop';
      const block = h(
        'div',
        { class: `block${loop ? '' : ' missing'}`, style: `left:${b.startBar * CELL}px;width:${b.bars * CELL}px;--c:${b.color ?? loop?.color ?? '#888'}`, 'aria-label': `${name}, bars ${b.startBar + 1}–${b.startBar + b.bars}` },
        h('span', { class: 'block-name' }, name),
        h('span', { class: 'handle', 'aria-hidden': 'true' }),
      );
      dragBlock(block, b);
      tl.append(
        h(
          'div',
          { class: 'lane' },
          block,
          h(
            'span',
            { class: 'block-tools' },
            h('button', { type: 'button', class: 'icon', 'aria-label': `Move ${name} earlier`, disabled: b.startBar === 0, onclick: () => updateBlock(b.id, (x) => ({ ...x, startBar: Math.max(0, x.startBar - 1) })) }, '◀'),
            h('button', { type: 'button', class: 'icon', 'aria-label': `Move ${name} later`, onclick: () => updateBlock(b.id, (x) => ({ ...x, startBar: x.startBar + 1 })) }, '▶'),
            h('button', { type: 'button', class: 'icon', 'aria-label': `Make ${name} shorter`, disabled: b.bars <= 1, onclick: () => updateBlock(b.id, (x) => ({ ...x, bars: Math.max(1, x.bars - 1) })) }, '−'),
            h('button', { type: 'button', class: 'icon', 'aria-label': `Make ${name} longer`, onclick: () => updateBlock(b.id, (x) => ({ ...x, bars: x.bars + 1 })) }, '+'),
            h(
              'button',
              {
                type: 'button',
                class: 'icon',
                'aria-label': `Remove ${name}`,
                onclick: () => {
                  set(
                    'timeline',
                    draft.timeline.filter((x) => x.id !== b.id),
                  );
                  render();
                },
              },
              '×',
            ),
          ),
        ),
      );
    }
    return tl;
  }

  function dragBlock(block: HTMLElement, b: TimelineBlock): void {
    block.addEventListener('pointerdown', (ev: PointerEvent) => {
      const resizing = (ev.target as HTMLElement).classList.contains('handle');
      const x0 = ev.clientX;
      block.setPointerCapture(ev.pointerId);
      const move = (e: PointerEvent) => {
        const d = Math.round((e.clientX - x0) / CELL);
        if (resizing) block.style.width = `${Math.max(1, b.bars + d) * CELL}px`;
        else block.style.left = `${Math.max(0, b.startBar + d) * CELL}px`;
      };
      const up = (e: PointerEvent) => {
        block.removeEventListener('pointermove', move);
        block.removeEventListener('pointerup', up);
        const d = Math.round((e.clientX - x0) / CELL);
        if (d) updateBlock(b.id, (x) => (resizing ? { ...x, bars: Math.max(1, x.bars + d) } : { ...x, startBar: Math.max(0, x.startBar + d) }));
      };
      block.addEventListener('pointermove', move);
      block.addEventListener('pointerup', up);
    });
  }

  function render(): void {
    clear(el);
    const name = h('input', { type: 'text', value: draft.name, maxlength: 100, oninput: () => set('name', name.value) });
    const bpm = h('input', {
      type: 'number',
      min: 40,
      max: 300,
      value: String(draft.bpm),
      oninput: () => {
        const n = Number(bpm.value);
        if (Number.isInteger(n) && n >= 40 && n <= 300) set('bpm', n);
      },
    });
    const ts = h('select', { onchange: () => set('timeSignature', ts.value as SongContent['timeSignature']) }, ['4/4', '3/4'].map((t) => h('option', { value: t, selected: t === draft.timeSignature }, t)));
    const pick = h('select', {}, [...loops.values()].map((l) => h('option', { value: l.id }, l.name)));
    const after = async () => {
      rec = (await app.store.getSong(rec!.id)) ?? rec;
      draft = songContent(rec!);
      touched.clear();
      render();
    };
    append(el, [
      h('div', { class: 'row' }, h('h1', {}, isNew ? 'New song' : draft.name || 'Song'), isNew ? null : badge(rec!, []), saveState),
      restorePanel(app, 'song', rec!, (gone) => (gone ? (location.hash = '#/songs') : void after())),
      conflictPanel(app, 'song', rec!, () => void after()),
      h(
        'form',
        {
          class: 'card settings',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void save();
          },
        },
        field('Name', name),
        field('BPM', bpm),
        field('Time signature', ts),
      ),
      h(
        'div',
        { class: 'row' },
        field('Loop to add', pick),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            disabled: loops.size === 0,
            onclick: () => {
              const l = loops.get(pick.value);
              if (!l) return;
              set('timeline', [...draft.timeline, { id: newId().slice(0, 8), loopId: l.id, startBar: totalBars(draft), bars: l.bars }]);
              render();
            },
          },
          'Add to song',
        ),
      ),
      timeline(),
      h(
        'div',
        { class: 'row actions' },
        h('button', { type: 'button', onclick: () => void save() }, 'Save'),
        h('button', { type: 'button', class: 'secondary', onclick: () => void play() }, 'Play'),
        h('button', { type: 'button', class: 'secondary', onclick: () => app.player.stop() }, 'Stop'),
        isNew
          ? null
          : h(
              'button',
              {
                type: 'button',
                class: 'danger',
                onclick: async () => {
                  if (!window.confirm(`Delete “${rec!.name}”?`)) return;
                  await app.write(() => app.repo.deleteItem('song', rec!.id));
                  location.hash = '#/songs';
                },
              },
              'Delete',
            ),
      ),
    ]);
  }

  const loadLoops = async () => {
    loops = new Map((await app.store.listLoops()).map((l) => [l.id, l]));
    // A remix placed here may have got its server id meanwhile.
    const moved = (await app.store.getMeta<Record<string, string>>('rekeyed')) ?? {};
    if (draft.timeline.some((b) => moved[b.loopId])) draft = { ...draft, timeline: draft.timeline.map((b) => (moved[b.loopId] ? { ...b, loopId: moved[b.loopId] } : b)) };
  };
  await loadLoops();
  render();
  return {
    el,
    refresh: async () => {
      await loadLoops();
      if (isNew) return render();
      const fresh = await app.store.getSong(rec!.id);
      if (!fresh) return;
      rec = fresh;
      const mine = draft;
      draft = songContent(fresh);
      for (const k of touched) (draft as unknown as Record<string, unknown>)[k] = mine[k];
      render();
    },
  };
}
