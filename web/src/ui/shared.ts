/*
 * Pieces several views use: the sync badge of an item, the conflict
 * panel ("Keep mine" / "Take theirs" per field group) and the restore
 * prompt for an item deleted on another device.
 */
import type { App } from '../app';
import { GROUP_LABELS, type ItemType, type LocalLoop, type LocalSong } from '../model';
import type { OutboxEntry } from '../storage/types';
import { h } from './dom';

export function badge(item: LocalLoop | LocalSong, entries: OutboxEntry[]): HTMLElement {
  const mine = entries.filter((e) => e.type === ('timeline' in item ? 'song' : 'loop') && e.id === item.id);
  let text = 'Synced';
  let cls = 'ok';
  const rejected = mine.find((e) => e.held === 'rejected');
  if (item.conflict) [text, cls] = ['Conflict', 'warn'];
  else if (item.deletedOnServer) [text, cls] = ['Deleted elsewhere', 'warn'];
  else if (rejected) [text, cls] = [`Refused: ${rejected.lastError ?? ''}`, 'warn'];
  else if (!item.server) [text, cls] = ['Not synced yet', 'pending'];
  else if (item.dirty || mine.length) [text, cls] = ['Changes waiting', 'pending'];
  return h('span', { class: `badge ${cls}`, 'data-sync': cls }, text);
}

function show(v: unknown): string {
  if (Array.isArray(v)) return `${v.length} ${v.length === 1 ? 'item' : 'items'}`;
  return String(v);
}

function describe(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([k, v]) => {
      if (k === 'chordProgression' && Array.isArray(v)) return 'chords ' + (v as { chord: string }[]).map((c) => c.chord).join(' ') || '(none)';
      if (k === 'iconSequence' && Array.isArray(v)) return `${v.length} steps`;
      if (k === 'timeline' && Array.isArray(v)) return `${v.length} blocks`;
      return `${k} ${show(v)}`;
    })
    .join(', ');
}

export function conflictPanel(app: App, type: ItemType, item: LocalLoop | LocalSong, after: () => void): HTMLElement | null {
  if (!item.conflict) return null;
  const groups = Object.entries(item.conflict.groups as Record<string, { mine: Record<string, unknown>; theirs: Record<string, unknown> }>);
  return h(
    'section',
    { class: 'conflicts', 'aria-label': 'Conflicts' },
    h('h2', {}, 'Changed on another device too'),
    h('p', {}, 'Everything else was merged. For each part below, choose which version to keep.'),
    groups.map(([g, c]) => {
      const label = GROUP_LABELS[g] ?? g;
      return h(
        'div',
        { role: 'group', 'aria-label': `Conflict: ${label}`, class: 'conflict' },
        h('h3', {}, label),
        h('p', {}, h('strong', {}, 'Mine: '), describe(c.mine)),
        h('p', {}, h('strong', {}, 'Theirs: '), describe(c.theirs)),
        h(
          'button',
          {
            type: 'button',
            onclick: async () => {
              await app.write(() => app.repo.resolve(type, item.id, g, 'mine'));
              after();
            },
          },
          'Keep mine',
        ),
        ' ',
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: async () => {
              await app.write(() => app.repo.resolve(type, item.id, g, 'theirs'));
              after();
            },
          },
          'Take theirs',
        ),
      );
    }),
  );
}

export function restorePanel(app: App, type: ItemType, item: LocalLoop | LocalSong, after: (discarded: boolean) => void): HTMLElement | null {
  if (!item.deletedOnServer) return null;
  return h(
    'section',
    { class: 'conflicts', role: 'alertdialog', 'aria-label': 'Deleted on another device' },
    h('h2', {}, `“${item.name}” was deleted on another device`),
    h('p', {}, 'You changed it here. Restore it on the server with your changes, or accept the deletion?'),
    h(
      'button',
      {
        type: 'button',
        onclick: async () => {
          await app.write(() => app.repo.restore(type, item.id));
          after(false);
        },
      },
      'Restore',
    ),
    ' ',
    h(
      'button',
      {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          await app.write(() => app.repo.discard(type, item.id));
          after(true);
        },
      },
      'Discard',
    ),
  );
}
