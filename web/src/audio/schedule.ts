/*
 * Playback scheduling, pure: a loop (or a song and its loops) → the list
 * of timed events the player hands to the transport.  Times are seconds
 * from the start; a sixteenth lasts 60 / bpm / 4 s.  Chords sound for
 * their bar (until the next chord cell or the loop's end); steps for
 * duration16 sixteenths.  Steps outside the loop's bars are not played.
 */
import type { LoopContent, SongContent } from '../api/types';
import { chordNotes } from './chords';

export interface ScheduledEvent {
  time: number;
  kind: 'step' | 'chord';
  soundId: string;
  notes: number[];
  duration: number;
  velocity: number;
  row: number;
}

export function sixteenth(bpm: number): number {
  return 60 / bpm / 4;
}

export function loopDuration(loop: Pick<LoopContent, 'bars' | 'bpm'>, bpm = loop.bpm): number {
  return loop.bars * 16 * sixteenth(bpm);
}

/**
 * The events of one pass of `loop`, starting at bar `offsetBars`, played
 * at `bpm` (the loop's own by default; a song's when arranged), cut at
 * `maxBars` bars after the offset when given.
 */
export function loopEvents(loop: LoopContent, offsetBars = 0, bpm = loop.bpm, maxBars: number = loop.bars): ScheduledEvent[] {
  const t16 = sixteenth(bpm);
  const limit16 = Math.min(loop.bars, maxBars) * 16;
  const start16 = offsetBars * 16;
  const out: ScheduledEvent[] = [];
  const chords = [...loop.chordProgression].filter((c) => c.bar < loop.bars && c.bar * 16 < limit16).sort((a, b) => a.bar - b.bar);
  chords.forEach((c, i) => {
    const next = i + 1 < chords.length ? chords[i + 1].bar : loop.bars;
    const len16 = Math.min(next * 16, limit16) - c.bar * 16;
    const notes = chordNotes(c.chord);
    if (!notes.length) return;
    out.push({ time: (start16 + c.bar * 16) * t16, kind: 'chord', soundId: 'chords', notes, duration: len16 * t16, velocity: 0.5, row: -1 });
  });
  for (const s of loop.iconSequence) {
    if (s.bar >= limit16) continue;
    const d16 = Math.min(s.duration16 ?? 1, limit16 - s.bar);
    out.push({ time: (start16 + s.bar) * t16, kind: 'step', soundId: s.soundId, notes: [s.pitch], duration: d16 * t16, velocity: s.velocity ?? 0.8, row: s.row });
  }
  return out.sort((a, b) => a.time - b.time || a.row - b.row);
}

/** A song: each block repeats its loop over the block's bars, at the song's bpm. */
export function songEvents(song: SongContent, loops: Map<string, LoopContent>): ScheduledEvent[] {
  const out: ScheduledEvent[] = [];
  for (const b of song.timeline) {
    const loop = loops.get(b.loopId);
    if (!loop) continue;
    for (let at = 0; at < b.bars; at += loop.bars) out.push(...loopEvents(loop, b.startBar + at, song.bpm, b.bars - at));
  }
  return out.sort((a, b) => a.time - b.time || a.row - b.row);
}

export function songDuration(song: SongContent): number {
  const bars = song.timeline.reduce((m, b) => Math.max(m, b.startBar + b.bars), 0);
  return bars * 16 * sixteenth(song.bpm);
}
