/*
 * The three-way merge of an item's content, pure.
 *
 * base:   the server's content this local copy was based on (null when
 *         there is none: a create that met an existing item)
 * mine:   the local content
 * theirs: the server's current content
 *
 * Field by field: equal on both sides → that value; changed only on
 * the server → theirs; changed only here → mine; changed on both sides
 * to different values → a conflict.  Conflicts are reported per field
 * group (name and settings / chords / steps; for songs settings /
 * timeline) with the values of the conflicting fields on each side; the
 * merged content holds mine for them until the user chooses.  Nothing is
 * dropped silently: every field of mine either wins, equals theirs, or
 * is in a conflict.
 */
import { sameValue, type GroupConflict } from '../model';

export interface MergeResult<C> {
  merged: C;
  conflicts: Record<string, GroupConflict<C>>;
}

export function merge3<C extends object>(base: C | null, mine: C, theirs: C, groups: Record<string, readonly (keyof C)[]>): MergeResult<C> {
  const merged = { ...mine } as C;
  const conflicts: Record<string, GroupConflict<C>> = {};
  for (const [group, fields] of Object.entries(groups)) {
    for (const f of fields) {
      const m = mine[f];
      const t = theirs[f];
      if (sameValue(m, t)) continue;
      if (base && sameValue(base[f], m)) {
        merged[f] = t;
        continue;
      }
      if (base && sameValue(base[f], t)) continue;
      const g = (conflicts[group] ??= { mine: {}, theirs: {} });
      g.mine[f] = m;
      g.theirs[f] = t;
    }
  }
  return { merged, conflicts };
}
