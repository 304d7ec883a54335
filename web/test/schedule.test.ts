import { describe, expect, it } from 'vitest';
import { loopDuration, loopEvents, songDuration, songEvents } from '../src/audio/schedule';
import { chordNotes } from '../src/audio/chords';
import { loopContent, newLoop } from '../src/model';
import type { LoopContent, SongContent } from '../src/api/types';

const loop = (o: Partial<LoopContent>): LoopContent => ({ ...loopContent(newLoop('t')), ...o });

describe('chord symbols', () => {
  it.each([
    ['I', [60, 64, 67]],
    ['vi', [69, 72, 76]],
    ['bVII', [70, 74, 77]],
    ['Am7', [57, 60, 64, 67]],
    ['Cmaj7', [60, 64, 67, 71]],
    ['G7', [55, 59, 62, 65]],
    ['F#m', [54, 57, 61]],
    ['Bb', [58, 62, 65]],
  ])('%s sounds %j', (sym, notes) => {
    expect(chordNotes(sym)).toEqual(notes);
  });
  it('gives no notes for a symbol it does not know', () => {
    expect(chordNotes('H7')).toEqual([]);
    expect(chordNotes('Cwhatever')).toEqual([]);
  });
});

describe('scheduling a loop', () => {
  it('places steps on sixteenths at the loop bpm', () => {
    const ev = loopEvents(loop({ bpm: 120, iconSequence: [{ bar: 4, row: 0, soundId: 'kick', velocity: 0.9, pitch: 36, duration16: 2 }] }));
    expect(ev).toEqual([{ time: 0.5, kind: 'step', soundId: 'kick', notes: [36], duration: 0.25, velocity: 0.9, row: 0 }]);
  });

  it('sounds each chord until the next chord cell or the end of the loop', () => {
    const ev = loopEvents(loop({ bars: 4, bpm: 60, chordProgression: [{ bar: 2, chord: 'V' }, { bar: 0, chord: 'I' }] }));
    expect(ev.map((e) => [e.time, e.duration, e.notes])).toEqual([
      [0, 8, [60, 64, 67]],
      [8, 8, [67, 71, 74]],
    ]);
  });

  it('orders events by time, then by row', () => {
    const ev = loopEvents(
      loop({
        iconSequence: [
          { bar: 2, row: 1, soundId: 'snare', pitch: 38 },
          { bar: 0, row: 3, soundId: 'pluck', pitch: 60 },
          { bar: 0, row: 0, soundId: 'kick', pitch: 36 },
        ],
      }),
    );
    expect(ev.map((e) => e.soundId)).toEqual(['kick', 'pluck', 'snare']);
    expect(ev[0]).toMatchObject({ velocity: 0.8, duration: 0.125 });
  });

  it('leaves out steps and chords past the loop bars and cuts a long step at the end', () => {
    const ev = loopEvents(
      loop({
        bars: 1,
        chordProgression: [{ bar: 1, chord: 'I' }],
        iconSequence: [
          { bar: 15, row: 0, soundId: 'pad', pitch: 60, duration16: 8 },
          { bar: 20, row: 0, soundId: 'kick', pitch: 36 },
        ],
      }),
    );
    expect(ev).toHaveLength(1);
    expect(ev[0].duration).toBeCloseTo(0.125);
  });

  it('lasts bars × 16 sixteenths', () => {
    expect(loopDuration({ bars: 2, bpm: 120 })).toBe(4);
  });
});

describe('scheduling a song', () => {
  const a = loop({ bars: 1, iconSequence: [{ bar: 0, row: 0, soundId: 'kick', pitch: 36 }] });
  const song: SongContent = {
    name: 's',
    bpm: 60,
    timeSignature: '4/4',
    schemaVersion: 1,
    isPublic: false,
    timeline: [
      { id: 'b1', loopId: 'A', startBar: 2, bars: 3 },
      { id: 'b2', loopId: 'missing', startBar: 0, bars: 4 },
    ],
  };
  it('repeats a block loop over the block at the song bpm and skips missing loops', () => {
    const ev = songEvents(song, new Map([['A', a]]));
    expect(ev.map((e) => e.time)).toEqual([8, 12, 16]);
    expect(songDuration(song)).toBe(20);
  });
  it('cuts the last repeat at the end of the block', () => {
    const two = loop({ bars: 2, iconSequence: [{ bar: 0, row: 0, soundId: 'kick', pitch: 36 }, { bar: 16, row: 0, soundId: 'snare', pitch: 38 }] });
    const ev = songEvents({ ...song, timeline: [{ id: 'b', loopId: 'B', startBar: 0, bars: 3 }] }, new Map([['B', two]]));
    expect(ev.map((e) => e.soundId)).toEqual(['kick', 'snare', 'kick']);
  });
});
