/*
 * The storage interface: one contract, two adapters (IndexedDB through
 * idb, and localStorage for browsers where IndexedDB is missing or
 * refuses).  All operations are asynchronous and never touch the network.
 */
import type { ItemType, LocalLoop, LocalSong } from '../model';

export type OutboxKind = 'put' | 'delete' | 'like' | 'play' | 'remix';

/**
 * A pending operation.  A `put` carries no body: the body is the item's
 * local record when it is sent, so edits made while it waits go with it
 * (one `put` per item).  A `delete` remembers the version it was based
 * on.  Every POST (play, remix) carries its Idempotency-Key, minted when
 * the entry is made and kept for every retry.
 */
export interface OutboxEntry {
  seq?: number;
  kind: OutboxKind;
  type: ItemType;
  id: string;
  baseVersion?: number;
  liked?: boolean;
  idempotencyKey?: string;
  remix?: { sourceId: string; name?: string };
  createdAt: string;
  attempts: number;
  lastError?: string;
  /** Not sent until the user acts: a merge conflict, a server-side deletion, a refusal. */
  held?: 'conflict' | 'deleted' | 'rejected';
}

/** Writes applied together (atomically where the adapter can). */
export interface Commit {
  putLoops?: LocalLoop[];
  deleteLoops?: string[];
  putSongs?: LocalSong[];
  deleteSongs?: string[];
  outboxAdd?: OutboxEntry[];
  outboxPut?: OutboxEntry[];
  outboxDelete?: number[];
  meta?: Record<string, unknown>;
}

export class StorageFullError extends Error {
  constructor(detail: string) {
    super(
      `Local storage is full (${detail}). Your last change was not saved: sign in and sync, or delete loops you no longer need, then try again.`,
    );
    this.name = 'StorageFullError';
  }
}

export interface StorageAdapter {
  readonly kind: 'indexeddb' | 'localstorage';

  getLoop(id: string): Promise<LocalLoop | undefined>;
  putLoop(loop: LocalLoop): Promise<void>;
  deleteLoop(id: string): Promise<void>;
  listLoops(): Promise<LocalLoop[]>;

  getSong(id: string): Promise<LocalSong | undefined>;
  putSong(song: LocalSong): Promise<void>;
  deleteSong(id: string): Promise<void>;
  listSongs(): Promise<LocalSong[]>;

  putSample(key: string, blob: Blob): Promise<void>;
  getSample(key: string): Promise<Blob | undefined>;
  deleteSample(key: string): Promise<void>;

  /** Appends an entry; returns its sequence number (increasing). */
  outboxAdd(entry: OutboxEntry): Promise<number>;
  /** Every entry, oldest first. */
  outboxList(): Promise<OutboxEntry[]>;
  /** The entries of one item, oldest first. */
  outboxForItem(type: ItemType, id: string): Promise<OutboxEntry[]>;
  outboxPut(entry: OutboxEntry): Promise<void>;
  outboxDelete(seq: number): Promise<void>;
  outboxCount(): Promise<number>;

  getMeta<T>(key: string): Promise<T | undefined>;
  setMeta(key: string, value: unknown): Promise<void>;
  deleteMeta(key: string): Promise<void>;

  commit(c: Commit): Promise<void>;
  /** Removes every loop, song, sample, outbox entry and meta value. */
  clear(): Promise<void>;
  close(): void;
}
