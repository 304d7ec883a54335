/*
 * The application shell: header (navigation, the live sync status, "Sync
 * now", sign in/out), notices, and the hash router that mounts one view
 * at a time.  It owns the storage, the outbox write path (Repo), the sync
 * engine and the player, and wires them:
 *  - only the tab holding the Web Lock "music-playground-sync" runs the
 *    engine; other tabs write to the same database and hear about changes
 *    (and the leader's status) over a BroadcastChannel;
 *  - the engine syncs on start, when the browser comes back online, after
 *    local edits (debounced), on "Sync now", and every minute.
 */
import { Api, problemMessage } from './api/client';
import type { AuthResponse } from './api/types';
import { Player, type PlayerState } from './audio/player';
import { newId } from './model';
import type { OpenedStorage } from './storage/open';
import { LEGACY_IMPORT_META } from './storage/open';
import { StorageFullError, type StorageAdapter } from './storage/types';
import { Bus } from './sync/bus';
import { SyncEngine, type Auth, type SyncStatus } from './sync/engine';
import { Repo } from './sync/repo';
import { clear, h } from './ui/dom';
import { authView } from './ui/auth';
import { editorView, loopsView } from './ui/loops';
import { exploreView, profileView } from './ui/explore';
import { arrangerView, songsView } from './ui/songs';

export interface View {
  el: HTMLElement;
  /** The data changed (here or in another tab, or by sync). */
  refresh?(): void | Promise<void>;
  destroy?(): void;
}

export class App {
  readonly store: StorageAdapter;
  readonly bus = new Bus();
  readonly repo: Repo;
  readonly api = new Api('');
  readonly engine: SyncEngine;
  readonly player: Player;
  auth: Auth | undefined;
  leader = false;
  private leaderStatus: SyncStatus | null = null;
  private view: View | null = null;
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  private statusEl!: HTMLElement;
  private statusHint!: HTMLElement;
  private noticesEl!: HTMLElement;
  private accountEl!: HTMLElement;
  private navEl!: HTMLElement;
  private main!: HTMLElement;
  private playbackListeners = new Set<(s: PlayerState) => void>();

  constructor(
    private root: HTMLElement,
    private opened: OpenedStorage,
  ) {
    this.store = opened.store;
    this.repo = new Repo(this.store, this.bus);
    this.engine = new SyncEngine(this.store, this.repo, this.api, {
      onStatus: (s) => {
        if (this.leader) this.bus.emit({ type: 'status', status: s });
        this.renderStatus();
      },
      onNotice: (m) => this.notice(m),
    });
    this.engine.active = false;
    this.player = new Player((s) => {
      for (const fn of this.playbackListeners) fn(s);
    });
  }

  onPlayback(fn: (s: PlayerState) => void): () => void {
    this.playbackListeners.add(fn);
    return () => this.playbackListeners.delete(fn);
  }

  async start(): Promise<void> {
    this.shell();
    this.auth = await this.engine.loadAuth();
    if (this.opened.notice) this.notice(this.opened.notice, 'info');
    const imp = this.opened.imported;
    if (imp && (imp.loops || imp.songs)) this.notice(`Imported ${imp.loops} loops and ${imp.songs} songs saved by the previous version of the composer.`, 'info');
    if (imp?.errors.length) this.notice(`Some old items could not be imported: ${imp.errors.join('; ')}`, 'error');
    this.bus.on((m, remote) => void this.onBus(m, remote));
    window.addEventListener('hashchange', () => void this.route());
    window.addEventListener('online', () => {
      this.renderStatus();
      this.requestSync();
    });
    window.addEventListener('offline', () => void this.engine.refresh());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.requestSync();
    });
    setInterval(() => {
      if (this.leader && navigator.onLine) void this.engine.sync();
    }, 60_000);
    this.elect();
    await this.engine.refresh();
    this.renderAccount();
    await this.route();
  }

  /** Web Locks: the tab that gets the lock syncs until it closes. */
  private elect(): void {
    const become = async () => {
      this.leader = true;
      this.engine.active = true;
      document.documentElement.dataset.syncLeader = 'true';
      await this.engine.start();
    };
    const locks = (navigator as Navigator & { locks?: LockManager }).locks;
    if (locks?.request) {
      void locks.request('music-playground-sync', () => {
        void become();
        return new Promise<void>(() => {});
      });
    } else {
      void become();
    }
  }

  private async onBus(m: import('./sync/bus').BusMessage, remote: boolean): Promise<void> {
    if (m.type === 'status') {
      if (remote) {
        this.leaderStatus = m.status as SyncStatus;
        await this.engine.refresh();
      }
      return;
    }
    if (m.type === 'changed') {
      if (remote) {
        this.auth = await this.engine.loadAuth();
        this.renderAccount();
      }
      await this.view?.refresh?.();
      await this.engine.refresh();
      return;
    }
    if (m.type === 'outbox' || m.type === 'sync-request') {
      if (this.leader) {
        if (remote) this.auth = await this.engine.loadAuth();
        this.scheduleSync(m.type === 'sync-request' ? 0 : 250);
      }
    }
  }

  private scheduleSync(ms: number): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      void this.engine.sync(ms === 0);
    }, ms);
  }

  /** Sync now (from this tab, or by asking the tab that syncs). */
  requestSync(force = false): void {
    if (this.leader) this.scheduleSync(force ? 0 : 50);
    else this.bus.emit({ type: 'sync-request' });
  }

  /* ---------------------------------------------------------- shell */

  private shell(): void {
    clear(this.root);
    this.statusEl = h('span', { role: 'status', 'aria-live': 'polite', class: 'status', id: 'sync-status' }, '…');
    this.statusHint = h('span', { class: 'status-hint' });
    this.noticesEl = h('div', { class: 'notices', 'aria-label': 'Notices' });
    this.accountEl = h('div', { class: 'account' });
    this.navEl = h('nav', { 'aria-label': 'Main' });
    this.main = h('main', { id: 'main' });
    const syncBtn = h('button', { type: 'button', class: 'secondary', onclick: () => this.requestSync(true) }, 'Sync now');
    this.root.append(
      h(
        'header',
        { class: 'top' },
        h('a', { href: '#/loops', class: 'brand' }, 'Music Playground'),
        this.navEl,
        h('div', { class: 'sync' }, this.statusEl, this.statusHint, syncBtn),
        this.accountEl,
      ),
      this.noticesEl,
      this.main,
    );
  }

  private renderNav(): void {
    clear(this.navEl);
    const cur = location.hash || '#/loops';
    const link = (href: string, text: string) => h('a', { href, 'aria-current': cur.startsWith(href) ? 'page' : undefined }, text);
    this.navEl.append(link('#/loops', 'My loops'), link('#/songs', 'Songs'), link('#/explore', 'Explore'), this.auth ? link(`#/u/${encodeURIComponent(this.auth.user.username)}`, 'Profile') : '');
  }

  renderAccount(): void {
    clear(this.accountEl);
    if (this.auth) {
      this.accountEl.append(
        h('span', { class: 'who' }, this.auth.user.username),
        h('button', { type: 'button', class: 'secondary', onclick: () => void this.signOut() }, 'Sign out'),
      );
    } else {
      this.accountEl.append(h('a', { href: '#/signin' }, 'Sign in'), ' ', h('a', { href: '#/signup' }, 'Sign up'));
    }
    this.renderNav();
  }

  /** The live status: "Offline", "Syncing", "All changes synced" or "N changes waiting". */
  renderStatus(): void {
    if (!this.statusEl) return;
    const own = this.engine.status;
    const s = this.leader || !this.leaderStatus ? own : { ...this.leaderStatus, pending: own.pending, held: own.held, conflicts: own.conflicts };
    const online = navigator.onLine;
    const pending = own.pending;
    let text: string;
    if (!online) text = pending ? `Offline · ${pending} changes waiting` : 'Offline';
    else if (s.syncing) text = 'Syncing';
    else if (pending) text = `${pending} changes waiting`;
    else text = 'All changes synced';
    if (this.statusEl.textContent !== text) this.statusEl.textContent = text;
    this.statusEl.dataset.pending = String(pending);
    let hint = '';
    if (!this.auth && pending) hint = 'Sign in to sync';
    else if (s.authRequired) hint = 'Sign in again to sync';
    else if (own.conflicts) hint = `${own.conflicts} need your choice`;
    else if (s.backoffUntil && online) hint = `retrying in ${Math.max(1, Math.round((s.backoffUntil - Date.now()) / 1000))} s`;
    this.statusHint.textContent = hint;
    if (s.authRequired && this.auth) this.sessionEnded();
  }

  private sessionEndedShown = false;
  private sessionEnded(): void {
    if (this.sessionEndedShown) return;
    this.sessionEndedShown = true;
    this.notice('Your session has ended. Sign in again to sync; your work stays on this device.', 'error', { href: '#/signin', text: 'Sign in' });
  }

  notice(text: string, kind: 'info' | 'error' = 'info', action?: { href: string; text: string }): void {
    const el = h(
      'div',
      { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'note' },
      h('span', {}, text),
      action ? h('a', { href: action.href }, action.text) : null,
      h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss', onclick: () => el.remove() }, '×'),
    );
    this.noticesEl.append(el);
    while (this.noticesEl.children.length > 4) this.noticesEl.firstElementChild!.remove();
  }

  /** Runs a local write; a full store becomes a clear message. */
  async write<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof StorageFullError) {
        this.notice(e.message, 'error');
        return undefined;
      }
      throw e;
    }
  }

  /* ----------------------------------------------------------- auth */

  async signIn(kind: 'signin' | 'signup', body: Record<string, string>): Promise<string | null> {
    if (!navigator.onLine) return 'You are offline: signing in needs the network. Your work is kept here meanwhile.';
    let r;
    try {
      r = await this.api.request<AuthResponse>('POST', kind === 'signup' ? '/api/auth/signup' : '/api/auth/login', {
        body,
        auth: false,
        headers: { 'Idempotency-Key': newId() },
      });
    } catch {
      return 'The server cannot be reached. Try again when you are online.';
    }
    if ((r.status !== 200 && r.status !== 201) || !r.body?.token) return problemMessage(r);
    const a = r.body;
    const owner = await this.store.getMeta<string>('owner');
    if (owner && owner !== a.user.id) {
      const pending = await this.store.outboxCount();
      const ok = pending === 0 || window.confirm(`${pending} unsynced changes of the previous account on this device will be removed. Continue?`);
      if (!ok) return 'Signed in cancelled: the previous account’s unsynced work is kept.';
      const legacy = await this.store.getMeta(LEGACY_IMPORT_META);
      await this.store.clear();
      if (legacy) await this.store.setMeta(LEGACY_IMPORT_META, legacy);
    }
    await this.store.setMeta('owner', a.user.id);
    this.sessionEndedShown = false;
    await this.engine.setAuth({ token: a.token, user: { id: a.user.id, username: a.user.username, email: a.user.email }, expiresAt: a.expiresAt });
    this.auth = await this.engine.loadAuth();
    this.bus.emit({ type: 'changed' });
    this.bus.emit({ type: 'sync-request' });
    this.renderAccount();
    location.hash = '#/loops';
    return null;
  }

  async signOut(): Promise<void> {
    const pending = await this.store.outboxCount();
    if (pending && !window.confirm(`${pending} changes are not synced yet. They stay on this device and go up when you sign in again. Sign out?`)) return;
    // Revoke the token on the server too when it can be reached (a
    // token left behind offline dies at its expiry).
    if (navigator.onLine && this.api.token)
      await this.api.request('POST', '/api/auth/logout', { headers: { 'Idempotency-Key': newId() }, timeoutMs: 5000 }).catch(() => undefined);
    await this.engine.setAuth(null);
    this.auth = undefined;
    this.bus.emit({ type: 'changed' });
    this.renderAccount();
    location.hash = '#/signin';
  }

  /* --------------------------------------------------------- router */

  async route(): Promise<void> {
    const hash = location.hash.replace(/^#/, '') || '/loops';
    const parts = hash.split('/').filter(Boolean).map(decodeURIComponent);
    this.view?.destroy?.();
    this.player.stop();
    let v: View;
    switch (parts[0]) {
      case 'signin':
        v = authView(this, 'signin');
        break;
      case 'signup':
        v = authView(this, 'signup');
        break;
      case 'loop':
        v = await editorView(this, parts[1] ?? 'new');
        break;
      case 'explore':
        v = exploreView(this);
        break;
      case 'songs':
        v = await songsView(this);
        break;
      case 'song':
        v = await arrangerView(this, parts[1] ?? 'new');
        break;
      case 'u':
        v = profileView(this, parts[1] ?? '');
        break;
      default:
        v = await loopsView(this);
    }
    this.view = v;
    clear(this.main);
    this.main.append(v.el);
    this.renderNav();
    const heading = v.el.querySelector('h1');
    if (heading) document.title = `${heading.textContent} · Music Playground`;
  }
}
