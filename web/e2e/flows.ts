/*
 * What a person does in the composer, by role and label only (the same
 * names the issue lists), shared by the browser tests.
 */
import { expect } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { ApiLoop } from '../src/api/types';
import { BASE, step, uniq } from './browser';
import { eventually, login, serverState } from './server';

export interface User {
  email: string;
  username: string;
  password: string;
}

export function newUser(): User {
  const username = uniq('e2e');
  return { email: `${username}@example.com`, username, password: 'correct horse battery staple' };
}

export async function open(context: BrowserContext, hash = '#/loops'): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${BASE}/${hash}`);
  await page.waitForSelector('html[data-ready="true"]', { timeout: 20000 });
  return page;
}

export async function ready(page: Page): Promise<void> {
  await page.waitForSelector('html[data-ready="true"]', { timeout: 20000 });
}

export function status(page: Page) {
  return page.getByRole('status').filter({ hasText: /Offline|Syncing|All changes synced|changes waiting/ });
}

export async function statusText(page: Page): Promise<string> {
  return ((await page.locator('#sync-status').textContent()) ?? '').trim();
}

/**
 * Waits until nothing is pending and the status reads "All changes
 * synced", and still does half a second later (right after a local write
 * the status may not have counted the new entry yet).
 */
export async function synced(page: Page, ms = 30000): Promise<void> {
  const end = Date.now() + ms;
  const ok = () =>
    page.evaluate(() => {
      const s = document.getElementById('sync-status');
      return !!s && s.textContent === 'All changes synced' && s.dataset.pending === '0';
    });
  for (;;) {
    await page.waitForFunction(() => {
      const s = document.getElementById('sync-status');
      return s && s.textContent === 'All changes synced' && s.dataset.pending === '0';
    }, undefined, { timeout: Math.max(1000, end - Date.now()) });
    await page.waitForTimeout(500);
    if (await ok()) return;
    if (Date.now() > end) throw new Error('the status did not stay at "All changes synced"');
  }
}

export async function signUp(page: Page, u: User): Promise<void> {
  await page.goto(`${BASE}/#/signup`);
  await ready(page);
  await page.getByLabel('Email').fill(u.email);
  await page.getByLabel('Username').fill(u.username);
  await page.getByLabel('Password').fill(u.password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.waitForURL(/#\/loops$/, { timeout: 20000 });
  await expect.poll(() => page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
}

export async function signIn(page: Page, u: User): Promise<void> {
  await page.goto(`${BASE}/#/signin`);
  await ready(page);
  await page.getByLabel('Email').fill(u.email);
  await page.getByLabel('Password').fill(u.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/#\/loops$/, { timeout: 20000 });
}

export function cell(page: Page, row: number, stepNo: number) {
  return page.getByRole('button', { name: `Row ${row} step ${stepNo}`, exact: true });
}

export async function save(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect.poll(() => page.locator('.save-state').textContent()).toBe('Saved on this device');
}

/** The id of the loop open in the editor (from the address). */
export function loopIdOf(page: Page): string {
  const m = /#\/loop\/([0-9a-f-]{36})/.exec(page.url());
  if (!m) throw new Error(`no loop id in ${page.url()}`);
  return m[1];
}

export async function openLoop(page: Page, name: string): Promise<void> {
  await page.goto(`${BASE}/#/loops`);
  await ready(page);
  await page.getByRole('link', { name, exact: true }).click();
  await page.waitForURL(/#\/loop\//);
  await expect.poll(() => page.getByLabel('Name').inputValue()).toBe(name);
}

/**
 * Issue step 1: sign up, make a loop with chords and steps, Play (the
 * AudioContext runs and events are scheduled), Save → the loop is on
 * the server with the same id and fields.
 */
export async function makeAndSaveLoop(page: Page, t: string, u: User): Promise<{ id: string; loop: ApiLoop }> {
  await step(page, t, 'sign-up', () => signUp(page, u));
  await step(page, t, 'new-loop', async () => {
    await page.getByRole('button', { name: 'New loop' }).click();
    await page.waitForURL(/#\/loop\/new/);
    await page.getByLabel('Name').fill('Night drive');
    await page.getByLabel('BPM').fill('96');
    await page.getByLabel('Bars').selectOption('2');
    await page.getByLabel('Chord for bar 1').selectOption('Am7');
    await page.getByLabel('Chord for bar 2').selectOption('F');
    for (const [r, s] of [
      [1, 1],
      [1, 9],
      [2, 5],
      [2, 13],
      [3, 3],
      [4, 17],
    ])
      await cell(page, r, s).click();
    await expect.poll(() => cell(page, 4, 17).getAttribute('aria-pressed')).toBe('true');
  });
  await step(page, t, 'play', async () => {
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    const out = page.getByLabel('Playback');
    await expect.poll(() => out.getAttribute('data-audio-state'), { timeout: 15000 }).toBe('running');
    // 6 steps + 2 chords scheduled on the transport.
    expect(await out.getAttribute('data-scheduled-events')).toBe('8');
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await expect.poll(() => out.getAttribute('data-scheduled-events')).toBe('0');
  });
  const id = await step(page, t, 'save', async () => {
    await save(page);
    await page.waitForURL(/#\/loop\/[0-9a-f-]{36}/);
    return loopIdOf(page);
  });
  await step(page, t, 'synced', () => synced(page));
  const token = await login(u.email, u.password);
  const loop = await step(page, t, 'on-server', () =>
    eventually(async () => (await serverState(token)).loops.find((l) => l.id === id), 'the loop on the server'),
  );
  expect(loop).toMatchObject({
    id,
    name: 'Night drive',
    bpm: 96,
    bars: 2,
    isPublic: false,
    chordProgression: [
      { bar: 0, chord: 'Am7' },
      { bar: 1, chord: 'F' },
    ],
    version: 1,
  });
  const steps = loop.iconSequence.map((s) => [s.row, s.bar, s.soundId, s.pitch, s.velocity, s.duration16]).sort((a, b) => (a[1] as number) - (b[1] as number) || (a[0] as number) - (b[0] as number));
  expect(steps).toEqual([
    [0, 0, 'kick', 36, 0.8, 1],
    [2, 2, 'hihat', 42, 0.8, 1],
    [1, 4, 'snare', 38, 0.8, 1],
    [0, 8, 'kick', 36, 0.8, 1],
    [1, 12, 'snare', 38, 0.8, 1],
    [3, 16, 'pluck', 60, 0.8, 1],
  ]);
  return { id, loop };
}

/** Waits until the service worker controls the page (the shell is cached). */
export async function shellCached(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller)
      await new Promise<void>((r) => navigator.serviceWorker.addEventListener('controllerchange', () => r(), { once: true }));
  });
}

/**
 * Issue step 2: go offline, edit and create, reload offline → all local
 * work is still there and the status says how many changes wait; back
 * online → the server has every edit, exactly once.
 */
export async function offlineEditCreateReload(context: BrowserContext, page: Page, t: string, u: User, loopId: string): Promise<void> {
  await step(page, t, 'shell-cached', () => shellCached(page));
  await step(page, t, 'go-offline', async () => {
    await context.setOffline(true);
    await expect.poll(() => statusText(page)).toBe('Offline');
  });
  await step(page, t, 'edit-offline', async () => {
    await openLoop(page, 'Night drive');
    await page.getByLabel('Name').fill('Night drive (offline edit)');
    await cell(page, 3, 7).click();
    await save(page);
    await expect.poll(() => statusText(page)).toBe('Offline · 1 changes waiting');
  });
  await step(page, t, 'create-offline', async () => {
    await page.goto(`${BASE}/#/loops`);
    await ready(page);
    await page.getByRole('button', { name: 'New loop' }).click();
    await page.getByLabel('Name').fill('Made offline');
    await cell(page, 1, 1).click();
    await cell(page, 1, 5).click();
    await page.getByLabel('Chord for bar 1').selectOption('vi');
    await save(page);
    await expect.poll(() => statusText(page)).toBe('Offline · 2 changes waiting');
  });
  const createdId = loopIdOf(page);
  await step(page, t, 'reload-offline', async () => {
    const res = await page.reload();
    expect(res?.fromServiceWorker()).toBe(true);
    await ready(page);
    await page.goto(`${BASE}/#/loops`);
    await expect.poll(() => statusText(page)).toBe('Offline · 2 changes waiting');
    await expect.poll(() => page.getByRole('link', { name: 'Night drive (offline edit)', exact: true }).count()).toBe(1);
    await expect.poll(() => page.getByRole('link', { name: 'Made offline', exact: true }).count()).toBe(1);
  });
  await step(page, t, 'back-online', async () => {
    await context.setOffline(false);
    await synced(page);
  });
  const token = await login(u.email, u.password);
  const state = await step(page, t, 'server-has-every-edit', () =>
    eventually(async () => {
      const s = await serverState(token);
      return s.loops.length === 2 && s.loops.every((l) => l.name !== 'Night drive') ? s : null;
    }, 'both loops on the server'),
  );
  const edited = state.loops.find((l) => l.id === loopId)!;
  const created = state.loops.find((l) => l.id === createdId)!;
  expect(edited.name).toBe('Night drive (offline edit)');
  expect(edited.version).toBe(2); // one create + exactly one edit
  expect(edited.iconSequence.some((s) => s.row === 2 && s.bar === 6)).toBe(true);
  expect(edited.iconSequence).toHaveLength(7);
  expect(created).toMatchObject({ name: 'Made offline', version: 1, chordProgression: [{ bar: 0, chord: 'vi' }] });
  expect(created.iconSequence.map((s) => s.bar).sort((a, b) => a - b)).toEqual([0, 4]);
  expect(state.loops.filter((l) => l.name === 'Made offline')).toHaveLength(1);
}
