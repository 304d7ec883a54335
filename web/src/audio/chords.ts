/*
 * Chord symbols → MIDI notes, pure.  Roman numerals are read in C major
 * (the old composer's palette: I ii iii IV V vi bVII sus dim +7); names
 * like Am7, Cmaj7, G7, F#m, Bb, Csus4, Bdim are read as written.  An
 * unknown symbol gives no notes (it is silent, never an error).
 */
const ROMAN: Record<string, number[]> = {
  I: [60, 64, 67],
  ii: [62, 65, 69],
  iii: [64, 67, 71],
  IV: [65, 69, 72],
  V: [67, 71, 74],
  vi: [69, 72, 76],
  bVII: [70, 74, 77],
  sus: [60, 65, 67],
  dim: [59, 62, 65],
  '+7': [60, 64, 68, 70],
};

const PITCH: Record<string, number> = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 };

const QUALITY: Record<string, number[]> = {
  '': [0, 4, 7],
  maj: [0, 4, 7],
  M: [0, 4, 7],
  m: [0, 3, 7],
  min: [0, 3, 7],
  '7': [0, 4, 7, 10],
  maj7: [0, 4, 7, 11],
  M7: [0, 4, 7, 11],
  m7: [0, 3, 7, 10],
  min7: [0, 3, 7, 10],
  dim: [0, 3, 6],
  dim7: [0, 3, 6, 9],
  m7b5: [0, 3, 6, 10],
  aug: [0, 4, 8],
  '+': [0, 4, 8],
  sus2: [0, 2, 7],
  sus4: [0, 5, 7],
  sus: [0, 5, 7],
  '6': [0, 4, 7, 9],
  m6: [0, 3, 7, 9],
  '9': [0, 4, 7, 10, 14],
  add9: [0, 4, 7, 14],
};

export function chordNotes(symbol: string): number[] {
  const s = symbol.trim();
  if (ROMAN[s]) return [...ROMAN[s]];
  const m = /^([A-G])([#b]?)(.*)$/.exec(s);
  if (!m) return [];
  const q = QUALITY[m[3]];
  if (!q) return [];
  let root = 48 + PITCH[m[1]] + (m[2] === '#' ? 1 : m[2] === 'b' ? -1 : 0);
  if (root < 52) root += 12;
  return q.map((i) => root + i);
}

export const CHORD_CHOICES = ['I', 'ii', 'iii', 'IV', 'V', 'vi', 'bVII', 'sus', 'dim', '+7', 'C', 'Am', 'Am7', 'Cmaj7', 'Dm7', 'F', 'G', 'G7', 'Em'];
