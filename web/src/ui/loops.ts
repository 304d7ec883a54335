/*
 * "My loops" and the loop editor.
 *
 * The editor works on a draft: the fields the user touched are tracked,
 * and Save writes only those onto the latest stored record, so a merge
 * or a pull that changed other fields meanwhile is not undone.  The grid
 * is 4 rows (one sound each) × 16 steps per bar; each cell is a toggle
 * button named "Row r step s".
 */
import type { App, View } from '../app';
import type { IconStep, LoopContent } from '../api/types';
import { CHORD_CHOICES } from '../audio/chords';
import { loopDuration, loopEvents } from '../audio/schedule';
import { DEFAULT_COLOR, loopContent, newLoop, type LocalLoop } from '../model';
import { append, clear, field, h } from './dom';
import { badge, conflictPanel, restorePanel } from './shared';

export const ROWS = [
  { soundId: 'kick', pitch: 36, label: 'Kick' },
  { soundId: 'snare', pitch: 38, label: 'Snare' },
  { soundId: 'hihat', pitch: 42, label: 'Hi-hat' },
  { soundId: 'pluck', pitch: 60, label: 'Pluck' },
];

export async function loopsView(app: App): Promise<View> {
  const list = h('ul', { class: 'items', 'aria-label': 'My loops' });
  const el = h(
    'div',
    { class: 'view' },
    h(
      'div',
      { class: 'row' },
      h('h1', {}, 'My loops'),
      h('button', { type: 'button', onclick: () => (location.hash = '#/loop/new') }, 'New loop'),
    ),
    list,
  );
  const refresh = async () => {
    const loops = (await app.store.listLoops()).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
    const entries = await app.store.outboxList();
    clear(list);
    if (!loops.length) list.append(h('li', { class: 'empty' }, 'No loops yet. Make one with “New loop”.'));
    for (const l of loops) {
      list.append(
        h(
          'li',
          { class: 'item', style: `--c:${l.color}` },
          h('a', { href: `#/loop/${l.id}` }, l.name),
          h('span', { class: 'meta' }, `${l.bpm} bpm · ${l.bars} ${l.bars === 1 ? 'bar' : 'bars'} · ${l.iconSequence.length} steps${l.isPublic ? ' · public' : ''}`),
          badge(l, entries),
        ),
      );
    }
  };
  await refresh();
  return { el, refresh };
}

type Field = keyof LoopContent;

export async function editorView(app: App, id: string): Promise<View> {
  let rec: LocalLoop | undefined;
  let isNew = false;
  if (id === 'new') {
    rec = newLoop();
    rec.rev = -1;
    isNew = true;
  } else {
    rec = await app.store.getLoop(id);
    if (!rec) {
      const moved = (await app.store.getMeta<Record<string, string>>('rekeyed'))?.[id];
      if (moved) {
        location.replace(`#/loop/${moved}`);
        return { el: h('div', { class: 'view' }) };
      }
      return { el: h('div', { class: 'view' }, h('h1', {}, 'Loop not found'), h('p', {}, 'This loop is not on this device.'), h('a', { href: '#/loops' }, 'My loops')) };
    }
  }
  let draft: LoopContent = loopContent(rec);
  const touched = new Set<Field>();
  const el = h('div', { class: 'view editor' });
  const playback = h('output', { class: 'playback', 'aria-label': 'Playback', 'data-audio-state': 'suspended', 'data-scheduled-events': '0' }, 'Stopped');
  const offPlayback = app.onPlayback((s) => {
    playback.dataset.audioState = s.contextState;
    playback.dataset.scheduledEvents = String(s.scheduled);
    playback.textContent = s.playing ? `Playing (${s.scheduled} events)` : 'Stopped';
  });

  const set = <K extends Field>(k: K, v: LoopContent[K]) => {
    draft = { ...draft, [k]: v };
    touched.add(k);
    saveState.textContent = 'Unsaved changes';
  };
  const saveState = h('span', { class: 'save-state' });

  const save = async () => {
    const latest = isNew ? rec! : ((await app.store.getLoop(rec!.id)) ?? rec!);
    const next: LocalLoop = { ...latest };
    for (const k of touched) (next as unknown as Record<string, unknown>)[k] = draft[k];
    const saved = await app.write(() => app.repo.saveLoop(next));
    if (!saved) return;
    rec = saved;
    touched.clear();
    saveState.textContent = 'Saved on this device';
    if (isNew) {
      isNew = false;
      history.replaceState(null, '', `#/loop/${saved.id}`);
    }
    render();
  };

  function grid(): HTMLElement {
    const steps = draft.bars * 16;
    const on = new Set(draft.iconSequence.map((s) => `${s.row}:${s.bar}`));
    const g = h('div', { class: 'grid', role: 'group', 'aria-label': 'Steps', style: `--steps:${steps}` });
    ROWS.forEach((row, r) => {
      const line = h('div', { class: 'grid-row' }, h('span', { class: 'row-label' }, row.label));
      for (let s = 0; s < steps; s++) {
        const pressed = on.has(`${r}:${s}`);
        const b = h('button', {
          type: 'button',
          class: `cell${s % 4 === 0 ? ' beat' : ''}${s % 16 === 0 ? ' bar' : ''}`,
          'aria-pressed': String(pressed),
          'aria-label': `Row ${r + 1} step ${s + 1}`,
          title: `${row.label}, step ${s + 1}`,
          onclick: () => {
            const now = b.getAttribute('aria-pressed') === 'true';
            let seq: IconStep[];
            if (now) seq = draft.iconSequence.filter((x) => !(x.row === r && x.bar === s));
            else seq = [...draft.iconSequence, { bar: s, row: r, soundId: row.soundId, velocity: 0.8, pitch: row.pitch, duration16: 1 }];
            seq.sort((a, b2) => a.bar - b2.bar || a.row - b2.row);
            set('iconSequence', seq);
            b.setAttribute('aria-pressed', String(!now));
          },
        });
        line.append(b);
      }
      g.append(line);
    });
    return g;
  }

  function chordRow(): HTMLElement {
    const wrap = h('div', { class: 'chords', role: 'group', 'aria-label': 'Chords' });
    for (let bar = 0; bar < draft.bars; bar++) {
      const cur = draft.chordProgression.find((c) => c.bar === bar)?.chord ?? '';
      const choices = CHORD_CHOICES.includes(cur) || !cur ? CHORD_CHOICES : [cur, ...CHORD_CHOICES];
      const sel = h(
        'select',
        {
          onchange: () => {
            const rest = draft.chordProgression.filter((c) => c.bar !== bar);
            const next = sel.value ? [...rest, { bar, chord: sel.value }] : rest;
            set('chordProgression', next.sort((a, b) => a.bar - b.bar));
          },
        },
        h('option', { value: '', selected: !cur }, '—'),
        choices.map((c) => h('option', { value: c, selected: c === cur }, c)),
      );
      wrap.append(field(`Chord for bar ${bar + 1}`, sel));
    }
    return wrap;
  }

  function render(): void {
    clear(el);
    const name = h('input', { type: 'text', value: draft.name, maxlength: 100, required: true, oninput: () => set('name', name.value) });
    const bpm = h('input', {
      type: 'number',
      min: 40,
      max: 300,
      step: 1,
      value: String(draft.bpm),
      oninput: () => {
        const n = Number(bpm.value);
        if (Number.isInteger(n) && n >= 40 && n <= 300) set('bpm', n);
      },
    });
    const bars = h(
      'select',
      {
        onchange: () => {
          set('bars', Number(bars.value) as LoopContent['bars']);
          render();
        },
      },
      [1, 2, 4, 8].map((n) => h('option', { value: String(n), selected: n === draft.bars }, String(n))),
    );
    const color = h('input', { type: 'color', value: /^#[0-9a-f]{6}$/i.test(draft.color) ? draft.color : DEFAULT_COLOR, oninput: () => set('color', color.value.toUpperCase()) });
    const pub = h('input', { type: 'checkbox', checked: draft.isPublic, onchange: () => set('isPublic', pub.checked) });
    const after = async () => {
      rec = (await app.store.getLoop(rec!.id)) ?? rec;
      draft = loopContent(rec!);
      touched.clear();
      render();
    };
    append(el, [
      h('div', { class: 'row' }, h('h1', {}, isNew ? 'New loop' : draft.name || 'Loop'), isNew ? null : badge(rec!, []), saveState),
      restorePanel(app, 'loop', rec!, (gone) => (gone ? (location.hash = '#/loops') : void after())),
      conflictPanel(app, 'loop', rec!, () => void after()),
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
        field('Bars', bars),
        field('Colour', color),
        h('div', { class: 'field check' }, h('label', {}, pub, ' Public')),
      ),
      chordRow(),
      grid(),
      h(
        'div',
        { class: 'row actions' },
        h('button', { type: 'button', onclick: () => void save() }, 'Save'),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: async () => {
              await app.player.play(loopEvents(draft), loopDuration(draft));
              if (!isNew) await app.write(() => app.repo.play('loop', rec!.id));
            },
          },
          'Play',
        ),
        h('button', { type: 'button', class: 'secondary', onclick: () => app.player.stop() }, 'Stop'),
        playback,
        isNew
          ? null
          : h(
              'button',
              {
                type: 'button',
                class: 'danger',
                onclick: async () => {
                  if (!window.confirm(`Delete “${rec!.name}”?`)) return;
                  await app.write(() => app.repo.deleteItem('loop', rec!.id));
                  location.hash = '#/loops';
                },
              },
              'Delete',
            ),
      ),
    ]);
  }

  render();
  return {
    el,
    refresh: async () => {
      if (isNew) return;
      const fresh = await app.store.getLoop(rec!.id);
      if (!fresh) {
        const moved = (await app.store.getMeta<Record<string, string>>('rekeyed'))?.[rec!.id];
        if (moved) location.replace(`#/loop/${moved}`);
        return;
      }
      const changed = JSON.stringify(fresh) !== JSON.stringify(rec);
      rec = fresh;
      if (!changed) return;
      // Keep what the user is typing; take everything else from the record.
      const mineNow = draft;
      draft = loopContent(fresh);
      for (const k of touched) (draft as unknown as Record<string, unknown>)[k] = mineNow[k];
      const focused = document.activeElement?.getAttribute('aria-label') ?? null;
      render();
      if (focused) (el.querySelector(`[aria-label="${focused}"]`) as HTMLElement | null)?.focus();
    },
    destroy: () => offPlayback(),
  };
}
