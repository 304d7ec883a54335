/*
 * Live updates in real browsers against the real stack: nginx's nchan
 * holds the EventSource, `mpapi relay` publishes what the API wrote.
 * One browser likes a loop; the other's counter changes without a
 * reload, over the live channel or, where that channel is blocked, by
 * the 30 s poll it falls back to.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { launch, step } from './browser';
import { cell, newUser, open, save, signUp, synced, type User } from './flows';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function browser(): Promise<BrowserContext> {
  const b = await launch();
  closers.push(b.close);
  return b.context;
}

/** Signs up u in page and publishes a loop with Cmaj7 (Explore finds it by that chord). */
async function publish(page: Page, u: User, name: string): Promise<void> {
  await signUp(page, u);
  await page.getByRole('button', { name: 'New loop' }).click();
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Chord for bar 1').selectOption('Cmaj7');
  await cell(page, 1, 1).click();
  await page.getByLabel('Public').check();
  await save(page);
  await synced(page);
}

/** Explore, filtered to Cmaj7, until the card of the loop called name shows. */
async function explore(page: Page, name: string) {
  await page.getByRole('link', { name: 'Explore' }).click();
  await page.getByLabel('Chord').selectOption('Cmaj7');
  const card = page.getByRole('listitem', { name });
  await card.waitFor({ timeout: 15000 });
  return card;
}

/** A mark that a reload would lose. */
async function mark(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
}
async function marked(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true);
}

describe('live updates in chromium against the real stack', () => {
  it('two browsers on one loop: one likes it, the other’s counter changes without a reload', async () => {
    const t = 'live';
    const ua = newUser();
    const ub = newUser();
    const name = `Live ${ua.username}`;
    const a = await open(await browser());
    const b = await open(await browser());
    const cardA = await step(a, t, 'owner-publishes-and-watches', async () => {
      await publish(a, ua, name);
      const card = await explore(a, name);
      await expect.poll(() => a.evaluate(() => document.documentElement.dataset.live), { timeout: 15000 }).toBe('live');
      await expect.poll(() => card.getByLabel('Likes').textContent()).toBe('0 likes');
      await mark(a);
      return card;
    });
    await step(b, t, 'listener-likes', async () => {
      await signUp(b, ub);
      const card = await explore(b, name);
      await card.getByRole('button', { name: 'Like' }).click();
      await expect.poll(() => card.getByLabel('Likes').textContent()).toBe('1 likes');
      await synced(b);
    });
    await step(a, t, 'owner-sees-it-live', async () => {
      await expect.poll(() => cardA.getByLabel('Likes').textContent(), { timeout: 15000 }).toBe('1 likes');
      expect(await marked(a)).toBe(true);
    });
    await step(a, t, 'owner-sees-the-play-live', async () => {
      const card = b.getByRole('listitem', { name });
      await card.getByRole('button', { name: 'Play' }).click();
      await expect.poll(() => cardA.getByLabel('Plays').textContent(), { timeout: 20000 }).toBe('1 plays');
      expect(await marked(a)).toBe(true);
    });
  });

  it('without the live channel (blocked), the counter still changes, by the 30 s poll', async () => {
    const t = 'live-blocked';
    const ua = newUser();
    const ub = newUser();
    const name = `Polled ${ua.username}`;
    const ctxA = await browser();
    await ctxA.route('**/api/live?**', (route) => route.abort());
    const a = await open(ctxA);
    const b = await open(await browser());
    const cardA = await step(a, t, 'owner-publishes-and-watches', async () => {
      await publish(a, ua, name);
      const card = await explore(a, name);
      await expect.poll(() => a.evaluate(() => document.documentElement.dataset.live), { timeout: 15000 }).toBe('polling');
      await mark(a);
      return card;
    });
    await step(b, t, 'listener-likes', async () => {
      await signUp(b, ub);
      const card = await explore(b, name);
      await card.getByRole('button', { name: 'Like' }).click();
      await synced(b);
    });
    await step(a, t, 'owner-sees-it-polled', async () => {
      await expect.poll(() => cardA.getByLabel('Likes').textContent(), { timeout: 45000, interval: 1000 }).toBe('1 likes');
      expect(await marked(a)).toBe(true);
      expect(await a.evaluate(() => document.documentElement.dataset.live)).toBe('polling');
    });
  });
});
