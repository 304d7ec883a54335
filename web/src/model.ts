/*
 * The client's own records: a loop or song as stored locally, i.e. its
 * content (what a PUT sends), the server's read-only fields as last seen,
 * and the sync bookkeeping: `server` (the version this copy is based on
 * and the server's content at that version, the base of a three-way
 * merge), `dirty` (local edits not yet accepted by the server), `rev`
 * (bumped by every local edit), `conflict` and `deletedOnServer`.
 */
import type { ApiLoop, ApiSong, ChordCell, IconStep, LoopContent, SongContent, TimelineBlock } from './api/types';

export type ItemType = 'loop' | 'song';

export interface ServerBase<C> {
  version: number;
  base: C;
}

/** One field group both sides changed: the values of its fields on each side. */
export interface GroupConflict<C> {
  mine: Partial<C>;
  theirs: Partial<C>;
}

export interface ConflictState<C> {
  /** The server version the conflict was found against. */
  version: number;
  groups: Record<string, GroupConflict<C>>;
}

export interface LocalMeta<C> {
  id: string;
  createdAt: string;
  updatedAt: string;
  server: ServerBase<C> | null;
  dirty: boolean;
  rev: number;
  conflict: ConflictState<C> | null;
  deletedOnServer: boolean;
  userId?: string;
  username?: string;
  likesCount: number;
  playsCount: number;
  likedByMe: boolean;
}

export type LocalLoop = LoopContent &
  LocalMeta<LoopContent> & {
    parentLoopId: string | null;
    remixesCount: number;
  };

export type LocalSong = SongContent & LocalMeta<SongContent>;

export const LOOP_FIELDS = [
  'name',
  'bars',
  'color',
  'bpm',
  'chordProgression',
  'iconSequence',
  'schemaVersion',
  'isPublic',
] as const satisfies readonly (keyof LoopContent)[];

export const SONG_FIELDS = ['name', 'bpm', 'timeSignature', 'timeline', 'schemaVersion', 'isPublic'] as const satisfies readonly (keyof SongContent)[];

/** Field groups, each resolved as one ("keep mine" / "take theirs"). */
export const LOOP_GROUPS: Record<string, readonly (keyof LoopContent)[]> = {
  settings: ['name', 'bars', 'color', 'bpm', 'isPublic', 'schemaVersion'],
  chords: ['chordProgression'],
  steps: ['iconSequence'],
};

export const SONG_GROUPS: Record<string, readonly (keyof SongContent)[]> = {
  settings: ['name', 'bpm', 'timeSignature', 'isPublic', 'schemaVersion'],
  timeline: ['timeline'],
};

export const GROUP_LABELS: Record<string, string> = {
  settings: 'Name and settings',
  chords: 'Chords',
  steps: 'Steps',
  timeline: 'Timeline',
};

export const DEFAULT_COLOR = '#FFD11A';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID_RE.test(s);
}

/** A random (version 4) UUID; crypto.randomUUID where the browser has it. */
export function newId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * A UUID (version-4 shaped) derived from a string: the same old id always
 * maps to the same new one, so importing old data twice finds it again.
 */
export function uuidFrom(s: string): string {
  let h1 = 0x811c9dc5,
    h2 = 0x01000193,
    h3 = 0xdeadbeef,
    h4 = 0x9e3779b9;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x85ebca6b);
    h3 = Math.imul(h3 ^ c, 0xc2b2ae35);
    h4 = Math.imul(h4 ^ c, 0x27d4eb2f);
  }
  const hex = [h1, h2, h3, h4].map((h) => (h >>> 0).toString(16).padStart(8, '0')).join('');
  const v = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${v}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** JSON with object keys sorted: equal values give equal strings. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return (
      '{' +
      Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort()
        .map((k) => JSON.stringify(k) + ':' + canonical(o[k]))
        .join(',') +
      '}'
    );
  }
  return JSON.stringify(v);
}

export function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

export function loopContent(l: LoopContent): LoopContent {
  return {
    name: l.name,
    bars: l.bars,
    color: l.color,
    bpm: l.bpm,
    chordProgression: l.chordProgression.map((c) => ({ bar: c.bar, chord: c.chord })),
    iconSequence: l.iconSequence.map(normStep),
    schemaVersion: l.schemaVersion,
    isPublic: l.isPublic,
  };
}

export function songContent(s: SongContent): SongContent {
  return {
    name: s.name,
    bpm: s.bpm,
    timeSignature: s.timeSignature,
    timeline: s.timeline.map(normBlock),
    schemaVersion: s.schemaVersion,
    isPublic: s.isPublic,
  };
}

function normStep(s: IconStep): IconStep {
  return {
    bar: s.bar,
    row: s.row,
    soundId: s.soundId,
    velocity: s.velocity ?? 0.8,
    pitch: s.pitch,
    duration16: s.duration16 ?? 1,
  };
}

function normBlock(b: TimelineBlock): TimelineBlock {
  const o: TimelineBlock = { id: b.id, loopId: b.loopId, startBar: b.startBar, bars: b.bars };
  if (b.color) o.color = b.color;
  return o;
}

export function contentOf(type: ItemType, item: LoopContent | SongContent): LoopContent | SongContent {
  return type === 'loop' ? loopContent(item as LoopContent) : songContent(item as SongContent);
}

export function newLoop(name = 'New loop'): LocalLoop {
  const t = nowIso();
  return {
    id: newId(),
    name,
    bars: 1,
    color: DEFAULT_COLOR,
    bpm: 120,
    chordProgression: [],
    iconSequence: [],
    schemaVersion: 1,
    isPublic: false,
    createdAt: t,
    updatedAt: t,
    server: null,
    dirty: true,
    rev: 0,
    conflict: null,
    deletedOnServer: false,
    parentLoopId: null,
    likesCount: 0,
    playsCount: 0,
    remixesCount: 0,
    likedByMe: false,
  };
}

export function newSong(name = 'New song'): LocalSong {
  const t = nowIso();
  return {
    id: newId(),
    name,
    bpm: 120,
    timeSignature: '4/4',
    timeline: [],
    schemaVersion: 1,
    isPublic: false,
    createdAt: t,
    updatedAt: t,
    server: null,
    dirty: true,
    rev: 0,
    conflict: null,
    deletedOnServer: false,
    likesCount: 0,
    playsCount: 0,
    likedByMe: false,
  };
}

/** The local record of a loop as the server has it (nothing unsynced). */
export function loopFromServer(a: ApiLoop): LocalLoop {
  const c = loopContent(a);
  return {
    ...c,
    id: a.id,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
    server: { version: a.version, base: loopContent(a) },
    dirty: false,
    rev: 0,
    conflict: null,
    deletedOnServer: false,
    userId: a.userId,
    username: a.username,
    parentLoopId: a.parentLoopId ?? null,
    likesCount: a.likesCount ?? 0,
    playsCount: a.playsCount ?? 0,
    remixesCount: a.remixesCount ?? 0,
    likedByMe: a.likedByMe ?? false,
  };
}

export function songFromServer(a: ApiSong): LocalSong {
  const c = songContent(a);
  return {
    ...c,
    id: a.id,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
    server: { version: a.version, base: songContent(a) },
    dirty: false,
    rev: 0,
    conflict: null,
    deletedOnServer: false,
    userId: a.userId,
    username: a.username,
    likesCount: a.likesCount ?? 0,
    playsCount: a.playsCount ?? 0,
    likedByMe: a.likedByMe ?? false,
  };
}

/* ---- validation of data from elsewhere (old client, old databases) ---- */

export class InvalidRecord extends Error {}

function int(v: unknown, lo: number, hi: number, what: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) throw new InvalidRecord(`${what}: must be an integer ${lo}-${hi}`);
  return n;
}

function str(v: unknown, lo: number, hi: number, what: string): string {
  if (typeof v !== 'string' || [...v].length < lo || [...v].length > hi) throw new InvalidRecord(`${what}: must be a string of ${lo}-${hi} characters`);
  return v;
}

const COLOR_RE = /^#[0-9a-f]{6}$/i;

/**
 * A loop of the old client (or any older record) checked and brought to
 * the current shape, with the rules of the API (doc/API.md, Loops).
 * Throws InvalidRecord naming the first bad field.  A non-UUID id is
 * replaced by one derived from it (the API needs UUIDs); `oldId` tells
 * the caller.
 */
export function parseLegacyLoop(raw: unknown): { loop: LocalLoop; oldId: string } {
  if (!raw || typeof raw !== 'object') throw new InvalidRecord('not an object');
  const r = raw as Record<string, unknown>;
  const oldId = typeof r.id === 'string' && r.id.length > 0 ? r.id : '';
  if (!oldId) throw new InvalidRecord('id: missing');
  const bars = int(r.bars, 1, 8, 'bars');
  if (![1, 2, 4, 8].includes(bars)) throw new InvalidRecord('bars: must be 1, 2, 4 or 8');
  const color = r.color === undefined || r.color === null ? DEFAULT_COLOR : str(r.color, 7, 7, 'color');
  if (!COLOR_RE.test(color)) throw new InvalidRecord('color: must be #RRGGBB');
  const chords = Array.isArray(r.chordProgression) ? r.chordProgression : r.chordProgression === undefined ? [] : null;
  if (!chords || chords.length > 64) throw new InvalidRecord('chordProgression: must be an array of at most 64');
  const steps = Array.isArray(r.iconSequence) ? r.iconSequence : r.iconSequence === undefined ? [] : null;
  if (!steps || steps.length > 1024) throw new InvalidRecord('iconSequence: must be an array of at most 1024');
  const maxBar = Math.max(63, bars * 16 - 1);
  const loop = newLoop(str(r.name, 1, 100, 'name'));
  loop.id = isUuid(oldId) ? oldId.toLowerCase() : uuidFrom(oldId);
  loop.bars = bars as 1 | 2 | 4 | 8;
  loop.color = color;
  loop.bpm = r.bpm === undefined || r.bpm === null ? 120 : int(r.bpm, 40, 300, 'bpm');
  loop.schemaVersion = r.schemaVersion === undefined ? 1 : int(r.schemaVersion, 1, 1000000, 'schemaVersion');
  loop.chordProgression = chords.map((c: unknown, i: number): ChordCell => {
    const o = (c ?? {}) as Record<string, unknown>;
    return { bar: int(o.bar, 0, 15, `chordProgression[${i}].bar`), chord: str(o.chord, 1, 20, `chordProgression[${i}].chord`) };
  });
  loop.iconSequence = steps.map((s: unknown, i: number): IconStep => {
    const o = (s ?? {}) as Record<string, unknown>;
    const v = o.velocity === undefined ? 0.8 : o.velocity;
    if (typeof v !== 'number' || v < 0 || v > 1) throw new InvalidRecord(`iconSequence[${i}].velocity: must be a number 0-1`);
    return {
      bar: int(o.bar, 0, maxBar, `iconSequence[${i}].bar`),
      row: o.row === undefined ? 0 : int(o.row, 0, 3, `iconSequence[${i}].row`),
      soundId: str(o.soundId, 1, 64, `iconSequence[${i}].soundId`),
      velocity: v,
      pitch: int(o.pitch, 0, 127, `iconSequence[${i}].pitch`),
      duration16: o.duration16 === undefined ? 1 : int(o.duration16, 1, 64, `iconSequence[${i}].duration16`),
    };
  });
  if (typeof r.isPublic === 'boolean') loop.isPublic = r.isPublic;
  if (typeof r.updatedAt === 'string' && !Number.isNaN(Date.parse(r.updatedAt))) loop.updatedAt = new Date(r.updatedAt).toISOString();
  return { loop, oldId };
}

/** The id an old loop id becomes (see parseLegacyLoop). */
export function legacyLoopId(oldId: string): string {
  return isUuid(oldId) ? oldId.toLowerCase() : uuidFrom(oldId);
}

/** A song of the old client, checked like parseLegacyLoop. */
export function parseLegacySong(raw: unknown): { song: LocalSong; oldId: string } {
  if (!raw || typeof raw !== 'object') throw new InvalidRecord('not an object');
  const r = raw as Record<string, unknown>;
  const oldId = typeof r.id === 'string' && r.id.length > 0 ? r.id : '';
  if (!oldId) throw new InvalidRecord('id: missing');
  const song = newSong(str(r.name, 1, 100, 'name'));
  song.id = isUuid(oldId) ? oldId.toLowerCase() : uuidFrom(oldId);
  song.bpm = int(r.bpm, 40, 300, 'bpm');
  const ts = r.timeSignature === undefined ? '4/4' : r.timeSignature;
  if (ts !== '4/4' && ts !== '3/4') throw new InvalidRecord('timeSignature: must be 4/4 or 3/4');
  song.timeSignature = ts;
  const tl = Array.isArray(r.timeline) ? r.timeline : r.timeline === undefined ? [] : null;
  if (!tl || tl.length > 512) throw new InvalidRecord('timeline: must be an array of at most 512');
  song.timeline = tl.map((b: unknown, i: number): TimelineBlock => {
    const o = (b ?? {}) as Record<string, unknown>;
    const blk: TimelineBlock = {
      id: str(o.id, 1, 64, `timeline[${i}].id`),
      loopId: legacyLoopId(str(o.loopId, 1, 100, `timeline[${i}].loopId`)),
      startBar: int(o.startBar, 0, 4095, `timeline[${i}].startBar`),
      bars: int(o.bars, 1, 4096, `timeline[${i}].bars`),
    };
    if (typeof o.color === 'string' && COLOR_RE.test(o.color)) blk.color = o.color;
    return blk;
  });
  song.schemaVersion = r.schemaVersion === undefined ? 1 : int(r.schemaVersion, 1, 1000000, 'schemaVersion');
  return { song, oldId };
}

/** Replace loop ids in song timelines (after legacy ids were re-minted). */
export function remapTimeline(song: LocalSong, ids: Map<string, string>): void {
  for (const b of song.timeline) {
    const n = ids.get(b.loopId);
    if (n) b.loopId = n;
  }
}

export function totalBars(song: SongContent): number {
  return song.timeline.reduce((m, b) => Math.max(m, b.startBar + b.bars), 0);
}
