/*
 * Change notifications: listeners in this tab, and the other tabs of the
 * same browser through a BroadcastChannel (where there is one).  Messages
 * carry no data: a tab that hears "changed" reads the database again.
 */
export type BusMessage =
  | { type: 'changed' }
  | { type: 'outbox' }
  | { type: 'sync-request' }
  | { type: 'status'; status: unknown };

export class Bus {
  private listeners = new Set<(m: BusMessage, remote: boolean) => void>();
  private channel: BroadcastChannel | null = null;

  constructor(name = 'music-playground') {
    if (typeof BroadcastChannel !== 'undefined') {
      this.channel = new BroadcastChannel(name);
      this.channel.onmessage = (ev: MessageEvent<BusMessage>) => this.deliver(ev.data, true);
    }
  }

  on(fn: (m: BusMessage, remote: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Tells this tab's listeners and every other tab. */
  emit(m: BusMessage): void {
    this.deliver(m, false);
    this.channel?.postMessage(m);
  }

  private deliver(m: BusMessage, remote: boolean): void {
    for (const fn of [...this.listeners]) fn(m, remote);
  }

  close(): void {
    this.channel?.close();
    this.listeners.clear();
  }
}
