/*
 * Boot: open the storage (IndexedDB, or localStorage when it is not to
 * be had), start the app, and register the service worker that keeps the
 * app shell for offline use.
 */
import './style.css';
import { App } from './app';
import { openStorage } from './storage/open';

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  try {
    const opened = await openStorage();
    const app = new App(root, opened);
    (window as unknown as { __mp: App }).__mp = app;
    await app.start();
    document.documentElement.dataset.storage = opened.store.kind;
    document.documentElement.dataset.ready = 'true';
  } catch (e) {
    root.textContent = `The composer could not start: ${(e as Error).message}`;
    throw e;
  }
  if (import.meta.env.PROD && 'serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').catch(() => {
      /* no offline shell, everything else works */
    });
  }
}

void boot();
