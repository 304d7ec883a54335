import { describe, expect, it } from 'vitest';
import { merge3 } from '../src/sync/merge';
import { LOOP_GROUPS, SONG_GROUPS } from '../src/model';
import type { LoopContent, SongContent } from '../src/api/types';

const kick = { bar: 0, row: 0, soundId: 'kick', velocity: 0.8, pitch: 36, duration16: 1 };
const snare = { bar: 4, row: 1, soundId: 'snare', velocity: 0.8, pitch: 38, duration16: 1 };
const base: LoopContent = {
  name: 'Base',
  bars: 1,
  color: '#FFD11A',
  bpm: 120,
  chordProgression: [{ bar: 0, chord: 'I' }],
  iconSequence: [kick],
  schemaVersion: 1,
  isPublic: false,
};
const L = (o: Partial<LoopContent>): LoopContent => ({ ...base, ...o });

type Case = [string, LoopContent | null, LoopContent, LoopContent, Partial<LoopContent>, string[]];

/* [what, base, mine, theirs, expected merged fields, conflicting groups] */
const cases: Case[] = [
  ['nothing changed anywhere', base, base, base, {}, []],
  ['only mine changed the name', base, L({ name: 'Mine' }), base, { name: 'Mine' }, []],
  ['only theirs changed the name', base, base, L({ name: 'Theirs' }), { name: 'Theirs' }, []],
  ['both changed the name the same way', base, L({ name: 'Same' }), L({ name: 'Same' }), { name: 'Same' }, []],
  ['both changed the name differently', base, L({ name: 'Mine' }), L({ name: 'Theirs' }), { name: 'Mine' }, ['settings']],
  ['mine changed the name, theirs the bpm', base, L({ name: 'Mine' }), L({ bpm: 90 }), { name: 'Mine', bpm: 90 }, []],
  ['mine changed bpm, theirs changed colour (one group, different fields)', base, L({ bpm: 100 }), L({ color: '#000000' }), { bpm: 100, color: '#000000' }, []],
  ['both changed bpm differently', base, L({ bpm: 100 }), L({ bpm: 140 }), { bpm: 100 }, ['settings']],
  ['mine changed steps, theirs changed chords', base, L({ iconSequence: [kick, snare] }), L({ chordProgression: [{ bar: 0, chord: 'vi' }] }), { iconSequence: [kick, snare], chordProgression: [{ bar: 0, chord: 'vi' }] }, []],
  ['both changed steps differently', base, L({ iconSequence: [kick, snare] }), L({ iconSequence: [] }), { iconSequence: [kick, snare] }, ['steps']],
  ['both changed chords differently', base, L({ chordProgression: [{ bar: 0, chord: 'IV' }] }), L({ chordProgression: [{ bar: 0, chord: 'V' }] }), { chordProgression: [{ bar: 0, chord: 'IV' }] }, ['chords']],
  [
    'every group conflicts at once',
    base,
    L({ name: 'M', chordProgression: [], iconSequence: [] }),
    L({ name: 'T', chordProgression: [{ bar: 1, chord: 'ii' }], iconSequence: [snare] }),
    { name: 'M', chordProgression: [], iconSequence: [] },
    ['settings', 'chords', 'steps'],
  ],
  ['same steps in another key order are equal', base, L({ iconSequence: [{ pitch: 36, bar: 0, row: 0, soundId: 'kick', velocity: 0.8, duration16: 1 }] }), base, {}, []],
  ['mine made it public, theirs renamed', base, L({ isPublic: true }), L({ name: 'Renamed' }), { isPublic: true, name: 'Renamed' }, []],
  ['no base: equal fields merge, different ones conflict', null, L({ name: 'A' }), L({ name: 'B' }), { name: 'A' }, ['settings']],
  ['no base and equal content: no conflict', null, base, base, {}, []],
  ['mine reverted to base while theirs changed: theirs wins', L({ bpm: 99 }), L({ bpm: 99 }), L({ bpm: 120 }), { bpm: 120 }, []],
];

describe('the three-way merge of a loop', () => {
  it.each(cases)('%s', (_what, b, mine, theirs, expected, groups) => {
    const r = merge3(b, mine, theirs, LOOP_GROUPS);
    expect(r.merged).toEqual({ ...mine, ...expected });
    expect(Object.keys(r.conflicts).sort()).toEqual([...groups].sort());
  });

  it('reports both sides of only the conflicting fields of a group', () => {
    const r = merge3(base, L({ name: 'Mine', bpm: 100 }), L({ name: 'Theirs', color: '#111111' }), LOOP_GROUPS);
    expect(r.conflicts.settings).toEqual({ mine: { name: 'Mine' }, theirs: { name: 'Theirs' } });
    expect(r.merged).toMatchObject({ name: 'Mine', bpm: 100, color: '#111111' });
  });

  it('drops nothing: every field is mine, theirs where only they changed it, or in a conflict', () => {
    const mine = L({ name: 'M', bpm: 77, iconSequence: [snare] });
    const theirs = L({ name: 'T', color: '#222222', iconSequence: [kick, snare] });
    const r = merge3(base, mine, theirs, LOOP_GROUPS);
    for (const f of Object.keys(base) as (keyof LoopContent)[]) {
      const inConflict = Object.values(r.conflicts).some((g) => f in g.mine);
      const ok = JSON.stringify(r.merged[f]) === JSON.stringify(mine[f]) || JSON.stringify(r.merged[f]) === JSON.stringify(theirs[f]);
      expect(ok).toBe(true);
      if (JSON.stringify(mine[f]) !== JSON.stringify(base[f]) && JSON.stringify(theirs[f]) !== JSON.stringify(base[f]) && JSON.stringify(mine[f]) !== JSON.stringify(theirs[f]))
        expect(inConflict).toBe(true);
    }
  });
});

describe('the three-way merge of a song', () => {
  const sb: SongContent = { name: 'S', bpm: 120, timeSignature: '4/4', timeline: [], schemaVersion: 1, isPublic: false };
  const blk = { id: 'b1', loopId: 'l1', startBar: 0, bars: 4 };
  it('keeps a timeline edit here and a rename there', () => {
    const r = merge3(sb, { ...sb, timeline: [blk] }, { ...sb, name: 'Renamed' }, SONG_GROUPS);
    expect(r.merged).toEqual({ ...sb, name: 'Renamed', timeline: [blk] });
    expect(r.conflicts).toEqual({});
  });
  it('reports a timeline both sides changed', () => {
    const r = merge3(sb, { ...sb, timeline: [blk] }, { ...sb, timeline: [{ ...blk, startBar: 8 }] }, SONG_GROUPS);
    expect(Object.keys(r.conflicts)).toEqual(['timeline']);
  });
});
