/*
 * Boot: open the storage (IndexedDB, or localStorage when it is not to
 * be had), start the app, and register the service worker that keeps the
 * app shell for offline use.
 */
import './style.css';
import { App } from './app';
import { openStorage } from './storage/open';
import { newLoop } from './model';

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  try {
    const opened = await openStorage();
    const app = new App(root, opened);
    // Hooks for the browser tests and bench/web.mjs (nothing else uses them).
    (window as unknown as { __mp: App }).__mp = app;
    (window as unknown as { __mpModel: unknown }).__mpModel = {
      benchLoop: (name: string, k: number) => ({
        ...newLoop(name),
        chordProgression: [{ bar: 0, chord: 'Am7' }],
        iconSequence: [{ bar: k % 16, row: 0, soundId: 'kick', velocity: 0.8, pitch: 36, duration16: 1 }],
      }),
    };
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
