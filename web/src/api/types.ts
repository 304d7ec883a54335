/*
 * The wire types of the Music Playground API, taken from the types that
 * openapi-typescript generates from doc/openapi.yaml at build time
 * (src/api/generated.ts, `npm run gen:api`, not committed).  This file
 * only names them for the client and loosens the few members the client
 * must work without: the feed's `likes`/`unavailable` and a token's
 * `expiresAt` (older servers), and the defaults a step or a block may
 * leave out (data from the old client).
 */
import type { components } from './generated';

type S = components['schemas'];

export type ChordCell = S['ChordCell'];

/** A step as the client holds it: velocity and duration16 have defaults. */
export type IconStep = Omit<S['Step'], 'velocity' | 'duration16'> & Partial<Pick<S['Step'], 'velocity' | 'duration16'>>;

/** The fields a client writes (the body of a loop's PUT). */
export type LoopContent = Pick<S['Loop'], 'name' | 'bars' | 'color' | 'bpm' | 'chordProgression' | 'schemaVersion' | 'isPublic'> & {
  iconSequence: IconStep[];
};

export type ApiLoop = S['Loop'];

/** A timeline block; `missing` only ever comes from the server. */
export type TimelineBlock = Omit<S['TimelineBlock'], 'color' | 'missing'> & { color?: string | null; missing?: boolean };

export type SongContent = Pick<S['Song'], 'name' | 'bpm' | 'timeSignature' | 'schemaVersion' | 'isPublic'> & { timeline: TimelineBlock[] };

export type ApiSong = S['Song'];
export type ApiUser = S['User'];
export type ApiPublicUser = S['PublicUser'];

export type AuthResponse = Omit<S['AuthResult'], 'expiresAt'> & Partial<Pick<S['AuthResult'], 'expiresAt'>>;

export type Tombstone = S['Tombstone'];
export type LikeChange = S['LikeChange'];
export type Unavailable = S['Unavailable'];

/** One page of the sync feed; the members added in 0.2 may be absent. */
export type SyncPage = Omit<S['SyncPage'], 'likes' | 'unavailable' | 'available'> & Partial<Pick<S['SyncPage'], 'likes' | 'unavailable' | 'available'>>;

export type LoopList = S['LoopPage'];
export type SongList = S['SongPage'];
export type LikeResponse = S['LikeState'];
export type PlaysResponse = S['PlayCount'];
export type FieldError = S['FieldError'];

/** RFC 9457 problem details, with what some answers add. */
export type Problem = S['Problem'] & { errors?: FieldError[]; loop?: ApiLoop; song?: ApiSong };
