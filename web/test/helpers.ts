import { IDBFactory } from 'fake-indexeddb';
import { IdbAdapter } from '../src/storage/idb';
import { LocalStorageAdapter } from '../src/storage/local';
import type { StorageAdapter } from '../src/storage/types';

/** An in-memory Storage (what localStorage is), with an optional fault. */
export class MemoryStorage implements Storage {
  private m = new Map<string, string>();
  /** Throws this (once per key match) from setItem: a crash or a full disk. */
  failOn: { match: (key: string) => boolean; error: () => Error } | null = null;
  get length(): number {
    return this.m.size;
  }
  clear(): void {
    this.m.clear();
  }
  getItem(key: string): string | null {
    return this.m.has(key) ? this.m.get(key)! : null;
  }
  key(i: number): string | null {
    return [...this.m.keys()][i] ?? null;
  }
  removeItem(key: string): void {
    this.m.delete(key);
  }
  setItem(key: string, value: string): void {
    if (this.failOn?.match(key)) throw this.failOn.error();
    this.m.set(key, String(value));
  }
  [name: string]: unknown;
}

export function freshFactory(): IDBFactory {
  return new IDBFactory();
}

export type AdapterKind = 'indexeddb' | 'localstorage';

export async function makeAdapter(kind: AdapterKind): Promise<{ store: StorageAdapter; ls: MemoryStorage; factory: IDBFactory }> {
  const ls = new MemoryStorage();
  const factory = freshFactory();
  const store = kind === 'indexeddb' ? await IdbAdapter.open(factory) : new LocalStorageAdapter(ls);
  return { store, ls, factory };
}

export const ADAPTERS: AdapterKind[] = ['indexeddb', 'localstorage'];
