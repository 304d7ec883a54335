/*
 * The wire types of the Music Playground API (doc/API.md), in ONE file so
 * that they can be swapped for the ones generated from doc/openapi.yaml
 * once that lands.  Everything else imports the API's shapes from here.
 * Members added "Since 0.2" (likes, unavailable, expiresAt) are optional:
 * the client uses them when present and works without them.
 */

export interface ChordCell {
  bar: number;
  chord: string;
}

export interface IconStep {
  bar: number;
  row: number;
  soundId: string;
  velocity?: number;
  pitch: number;
  duration16?: number;
}

/** The fields a client writes (PUT body of a loop). */
export interface LoopContent {
  name: string;
  bars: 1 | 2 | 4 | 8;
  color: string;
  bpm: number;
  chordProgression: ChordCell[];
  iconSequence: IconStep[];
  schemaVersion: number;
  isPublic: boolean;
}

export interface ApiLoop extends LoopContent {
  id: string;
  userId: string;
  username: string;
  parentLoopId: string | null;
  playsCount: number;
  likesCount: number;
  remixesCount: number;
  likedByMe: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface TimelineBlock {
  id: string;
  loopId: string;
  startBar: number;
  bars: number;
  color?: string | null;
  missing?: boolean;
}

export interface SongContent {
  name: string;
  bpm: number;
  timeSignature: '4/4' | '3/4';
  timeline: TimelineBlock[];
  schemaVersion: number;
  isPublic: boolean;
}

export interface ApiSong extends SongContent {
  id: string;
  userId: string;
  username: string;
  totalBars: number;
  playsCount: number;
  likesCount: number;
  likedByMe: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface ApiUser {
  id: string;
  email: string;
  username: string;
  displayName: string;
  avatarUrl: string | null;
  createdAt: string;
}

export interface ApiPublicUser {
  id: string;
  username: string;
  displayName: string;
  avatarUrl: string | null;
  createdAt: string;
  loopsCount: number;
  songsCount: number;
}

export interface AuthResponse {
  user: ApiUser;
  token: string;
  /** Since 0.2. */
  expiresAt?: string;
}

export interface Tombstone {
  type: 'loop' | 'song';
  id: string;
  deletedAt: string;
}

export interface LikeChange {
  type: 'loop' | 'song';
  id: string;
  likedByMe: boolean;
  at: string;
}

export interface Unavailable {
  type: 'loop' | 'song';
  id: string;
  at: string;
}

export interface SyncPage {
  loops: ApiLoop[];
  songs: ApiSong[];
  deleted: Tombstone[];
  cursor: string;
  hasMore: boolean;
  /** Since 0.2. */
  likes?: LikeChange[];
  /** Since 0.2. */
  unavailable?: Unavailable[];
}

export interface LoopList {
  loops: ApiLoop[];
  nextCursor: string | null;
}

export interface SongList {
  songs: ApiSong[];
  nextCursor: string | null;
}

export interface LikeResponse {
  likesCount: number;
  likedByMe: boolean;
}

export interface PlaysResponse {
  playsCount: number;
}

export interface FieldError {
  field: string;
  message: string;
}

/** RFC 9457 problem details, plus the members the API adds. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  error: string;
  instance?: string;
  errors?: FieldError[];
  loop?: ApiLoop;
  song?: ApiSong;
}
