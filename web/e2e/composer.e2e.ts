/*
 * The composer in a real browser (Debian's chromium, playwright-core)
 * against the real stack: nginx serving the built app and the API,
 * the C workers, PostgreSQL.  Nothing is mocked.  The five tests are the
 * issue's; screenshots of every step go to MP_TEST_SCREENSHOTS, and a
 * failing step names its screenshot in the error.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { launch, step } from './browser';
import { cell, makeAndSaveLoop, newUser, offlineEditCreateReload, open, openLoop, ready, save, signIn, signUp, statusText, synced } from './flows';
import { eventually, login, serverState } from './server';
import { uuidFrom } from '../src/model';
import { randomUUID } from 'node:crypto';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function browser() {
  const b = await launch();
  closers.push(b.close);
  return b.context;
}

describe('the composer in chromium against the real stack', () => {
  it('1: signs up, makes a loop with chords and steps, plays it, and saves it to the server under the same id', async () => {
    const context = await browser();
    const page = await open(context);
    expect(await page.evaluate(() => document.documentElement.dataset.storage)).toBe('indexeddb');
    await makeAndSaveLoop(page, 't1', newUser());
  });

  it('2: keeps offline edits and creations across an offline reload and sends each exactly once when back online', async () => {
    const context = await browser();
    const page = await open(context);
    const u = newUser();
    const { id } = await makeAndSaveLoop(page, 't2', u);
    await offlineEditCreateReload(context, page, 't2', u, id);
  });

  it('3: two devices edit one loop offline; the second gets a conflict prompt for the field both changed and nothing is lost', async () => {
    const t = 't3';
    const one = await browser();
    const two = await browser();
    const u = newUser();
    const p1 = await open(one);
    await step(p1, t, 'one-signs-up', () => signUp(p1, u));
    let id = '';
    await step(p1, t, 'one-makes-loop', async () => {
      await p1.getByRole('button', { name: 'New loop' }).click();
      await p1.getByLabel('Name').fill('Shared');
      await cell(p1, 1, 1).click();
      await save(p1);
      id = /#\/loop\/([0-9a-f-]{36})/.exec(p1.url())![1];
      await synced(p1);
    });
    const p2 = await open(two);
    await step(p2, t, 'two-signs-in', async () => {
      await signIn(p2, u);
      await synced(p2);
      await expect.poll(() => p2.getByRole('link', { name: 'Shared', exact: true }).count()).toBe(1);
    });
    await step(p1, t, 'both-offline', async () => {
      await one.setOffline(true);
      await two.setOffline(true);
      await expect.poll(() => statusText(p1)).toBe('Offline');
      await expect.poll(() => statusText(p2)).toBe('Offline');
    });
    await step(p1, t, 'one-edits-name-and-chords', async () => {
      await openLoop(p1, 'Shared');
      await p1.getByLabel('Name').fill('Name from one');
      await p1.getByLabel('Chord for bar 1').selectOption('vi');
      await p1.getByLabel('BPM').fill('100');
      await save(p1);
    });
    await step(p2, t, 'two-edits-name-and-steps', async () => {
      await openLoop(p2, 'Shared');
      await p2.getByLabel('Name').fill('Name from two');
      await cell(p2, 2, 5).click();
      await cell(p2, 3, 3).click();
      await save(p2);
    });
    await step(p1, t, 'one-back-online', async () => {
      await one.setOffline(false);
      await synced(p1);
    });
    await step(p2, t, 'two-back-online-sees-conflict', async () => {
      await two.setOffline(false);
      const group = p2.getByRole('group', { name: 'Conflict: Name and settings' });
      await group.waitFor({ timeout: 30000 });
      expect(await p2.getByRole('group', { name: /^Conflict: / }).count()).toBe(1);
      // The other side's chord and bpm were merged in; this side's steps stayed.
      await expect.poll(() => p2.getByLabel('Chord for bar 1').inputValue()).toBe('vi');
      await expect.poll(() => p2.getByLabel('BPM').inputValue()).toBe('100');
      expect(await cell(p2, 2, 5).getAttribute('aria-pressed')).toBe('true');
      await expect.poll(() => statusText(p2)).toBe('1 changes waiting');
    });
    await step(p2, t, 'two-keeps-mine', async () => {
      await p2.getByRole('group', { name: 'Conflict: Name and settings' }).getByRole('button', { name: 'Keep mine' }).click();
      await synced(p2);
      expect(await p2.getByRole('group', { name: /^Conflict: / }).count()).toBe(0);
    });
    const token = await login(u.email, u.password);
    const loop = await step(p2, t, 'server-has-every-field', () =>
      eventually(async () => {
        const l = (await serverState(token)).loops.find((x) => x.id === id);
        return l && l.name === 'Name from two' ? l : null;
      }, 'the merged loop'),
    );
    expect(loop.chordProgression).toEqual([{ bar: 0, chord: 'vi' }]);
    expect(loop.bpm).toBe(100);
    expect(loop.iconSequence.map((s) => [s.row, s.bar]).sort()).toEqual(
      [
        [0, 0],
        [1, 4],
        [2, 2],
      ].sort(),
    );
    await step(p1, t, 'one-sees-the-merge', async () => {
      await p1.getByRole('button', { name: 'Sync now' }).click();
      await synced(p1);
      await p1.goto(p1.url().replace(/#.*/, '#/loops'));
      await ready(p1);
      await expect.poll(() => p1.getByRole('link', { name: 'Name from two', exact: true }).count(), { timeout: 15000 }).toBe(1);
    });
  });

  it('4: with IndexedDB unavailable, uses the localStorage adapter and steps 1 and 2 still pass', async () => {
    const context = await browser();
    await context.addInitScript(() => {
      Object.defineProperty(window, 'indexedDB', { configurable: true, get: () => undefined });
    });
    const page = await open(context);
    expect(await page.evaluate(() => document.documentElement.dataset.storage)).toBe('localstorage');
    await expect.poll(() => page.getByRole('note').filter({ hasText: 'IndexedDB is not available here' }).count()).toBe(1);
    const u = newUser();
    const { id } = await makeAndSaveLoop(page, 't4', u);
    expect(await page.evaluate(() => Object.keys(localStorage).some((k) => k.startsWith('music-playground-v1:loop:')))).toBe(true);
    await offlineEditCreateReload(context, page, 't4', u, id);
    expect(await page.evaluate(() => document.documentElement.dataset.storage)).toBe('localstorage');
  });

  it('5: opens the old client version-1 database, upgrades it and syncs its loops', async () => {
    const t = 't5';
    const context = await browser();
    // Fresh ids each run: the test database outlives a run, and an id
    // another account already holds would (rightly) be re-minted.
    const oldId = randomUUID();
    const legacyId = `legacy-${randomUUID().slice(0, 8)}`;
    const old = [
      {
        id: oldId,
        name: 'Old client groove',
        bars: 4,
        color: '#00AAFF',
        bpm: 100,
        chordProgression: [
          { bar: 0, chord: 'I' },
          { bar: 1, chord: 'V' },
          { bar: 2, chord: 'vi' },
          { bar: 3, chord: 'IV' },
        ],
        iconSequence: [
          { bar: 0, row: 0, soundId: 'kick', velocity: 0.9, pitch: 36, duration16: 1 },
          { bar: 8, row: 0, soundId: 'snare', velocity: 0.9, pitch: 38, duration16: 2 },
        ],
        schemaVersion: 1,
        updatedAt: '2025-10-20T12:00:00.000Z',
      },
      { id: legacyId, name: 'Non-UUID id', bars: '1', bpm: 120, chordProgression: [], iconSequence: [{ bar: 3, row: 0, soundId: 'hihat', pitch: 42 }], schemaVersion: 1, updatedAt: '2025-10-21T08:00:00.000Z' },
    ];
    await context.addInitScript((loops) => {
      if (sessionStorage.getItem('prefilled')) return;
      sessionStorage.setItem('prefilled', '1');
      const req = indexedDB.open('music-playground-v1', 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        const s = db.createObjectStore('loops');
        db.createObjectStore('songs');
        db.createObjectStore('samples');
        for (const l of loops) s.put(l, l.id);
      };
      req.onsuccess = () => req.result.close();
    }, old);
    const page = await open(context);
    await step(page, t, 'upgraded', async () => {
      expect(await page.evaluate(() => document.documentElement.dataset.storage)).toBe('indexeddb');
      const version = await page.evaluate(
        () =>
          new Promise<number>((resolve) => {
            const r = indexedDB.open('music-playground-v1');
            r.onsuccess = () => {
              resolve(r.result.version);
              r.result.close();
            };
          }),
      );
      expect(version).toBe(3);
      await expect.poll(() => page.getByRole('link', { name: 'Old client groove', exact: true }).count()).toBe(1);
      await expect.poll(() => page.getByRole('link', { name: 'Non-UUID id', exact: true }).count()).toBe(1);
      expect(await statusText(page)).toBe('2 changes waiting');
    });
    const u = newUser();
    await step(page, t, 'sign-up-and-sync', async () => {
      await signUp(page, u);
      await synced(page);
    });
    const token = await login(u.email, u.password);
    const state = await step(page, t, 'loops-on-server', () => eventually(async () => ((await serverState(token)).loops.length === 2 ? serverState(token) : null), 'the two old loops'));
    const a = state.loops.find((l) => l.id === old[0].id)!;
    expect(a).toMatchObject({ name: 'Old client groove', bars: 4, color: '#00AAFF', bpm: 100, chordProgression: old[0].chordProgression, version: 1 });
    expect(a.iconSequence).toEqual(expect.arrayContaining(old[0].iconSequence.map((s) => expect.objectContaining(s))));
    const b = state.loops.find((l) => l.id === uuidFrom(legacyId))!;
    expect(b).toMatchObject({ name: 'Non-UUID id', bars: 1, iconSequence: [{ bar: 3, row: 0, soundId: 'hihat', pitch: 42, velocity: 0.8, duration16: 1 }] });
  });

  it('keeps one syncing tab per browser (Web Locks); an edit in the other tab is synced and both tabs show it', async () => {
    const t = 'tabs';
    const context = await browser();
    const a = await open(context);
    const u = newUser();
    await step(a, t, 'sign-up', () => signUp(a, u));
    const b = await context.newPage();
    await b.goto(a.url());
    await ready(b);
    await step(b, t, 'one-leader', async () => {
      const leaders = async () =>
        (await a.evaluate(() => document.documentElement.dataset.syncLeader === 'true' ? 1 : 0)) +
        (await b.evaluate(() => document.documentElement.dataset.syncLeader === 'true' ? 1 : 0));
      await expect.poll(leaders).toBe(1);
      expect(await a.evaluate(() => document.documentElement.dataset.syncLeader)).toBe('true');
    });
    await step(b, t, 'edit-in-the-other-tab', async () => {
      await b.getByRole('button', { name: 'New loop' }).click();
      await b.getByLabel('Name').fill('From the second tab');
      await cell(b, 1, 1).click();
      await save(b);
      await synced(b);
    });
    await step(a, t, 'first-tab-shows-it', async () => {
      await expect.poll(() => a.getByRole('link', { name: 'From the second tab', exact: true }).count()).toBe(1);
      await synced(a);
    });
    const token = await login(u.email, u.password);
    const state = await eventually(async () => ((await serverState(token)).loops.length === 1 ? serverState(token) : null), 'the loop on the server');
    expect(state.loops[0].name).toBe('From the second tab');
  });

  it('shares a public loop in Explore, where another user plays, likes and remixes it, and arranges it in a song', async () => {
    const t = 'explore';
    const ctxA = await browser();
    const a = await open(ctxA);
    const ua = newUser();
    await step(a, t, 'owner-publishes', async () => {
      await signUp(a, ua);
      await a.getByRole('button', { name: 'New loop' }).click();
      await a.getByLabel('Name').fill(`Public ${ua.username}`);
      await a.getByLabel('Chord for bar 1').selectOption('Cmaj7');
      await cell(a, 1, 1).click();
      await a.getByLabel('Public').check();
      await save(a);
      await synced(a);
    });
    const ctxB = await browser();
    const b = await open(ctxB);
    const ub = newUser();
    const card = b.getByRole('listitem', { name: `Public ${ua.username}` });
    await step(b, t, 'listener-finds-it', async () => {
      await signUp(b, ub);
      await b.getByRole('link', { name: 'Explore' }).click();
      await b.getByLabel('Chord').selectOption('Cmaj7');
      await card.waitFor({ timeout: 15000 });
    });
    await step(b, t, 'listener-plays-and-likes', async () => {
      await card.getByRole('button', { name: 'Play' }).click();
      await card.getByRole('button', { name: 'Like' }).click();
      await expect.poll(() => card.getByRole('button', { name: 'Like' }).getAttribute('aria-pressed')).toBe('true');
      await synced(b);
    });
    const tokenA = await login(ua.email, ua.password);
    const original = await eventually(async () => {
      const l = (await serverState(tokenA)).loops[0];
      return l && l.likesCount === 1 && l.playsCount === 1 ? l : null;
    }, 'one like and one play on the server');
    await step(b, t, 'listener-remixes', async () => {
      await b.getByRole('link', { name: 'Explore' }).click();
      await card.waitFor();
      await card.getByRole('button', { name: 'Remix' }).click();
      await b.waitForURL(/#\/loop\//);
      await expect.poll(() => b.getByLabel('Name').inputValue()).toBe(`Remix of Public ${ua.username}`);
      await synced(b);
    });
    await step(b, t, 'listener-arranges-a-song', async () => {
      await b.getByRole('link', { name: 'Songs' }).click();
      await b.getByRole('button', { name: 'New song' }).click();
      await b.getByLabel('Name').fill('First song');
      await b.getByRole('button', { name: 'Add to song' }).click();
      await b.getByRole('button', { name: 'Add to song' }).click();
      const remix = `Remix of Public ${ua.username}`;
      await b.getByRole('button', { name: `Make ${remix} longer` }).first().click();
      await b.getByRole('button', { name: `Move ${remix} later` }).last().click();
      await b.getByRole('button', { name: 'Play', exact: true }).click();
      await save(b);
      await synced(b);
    });
    const tokenB = await login(ub.email, ub.password);
    const state = await eventually(async () => {
      const s = await serverState(tokenB);
      return s.songs.length === 1 && s.loops.length === 1 ? s : null;
    }, 'the remix and the song on the server');
    const remix = state.loops[0];
    expect(remix.parentLoopId).toBe(original.id);
    expect(state.songs[0]).toMatchObject({ name: 'First song', totalBars: 3 });
    expect(state.songs[0].timeline.map((x) => [x.loopId, x.startBar, x.bars])).toEqual([
      [remix.id, 0, 2],
      [remix.id, 2, 1],
    ]);
    const after = (await serverState(tokenA)).loops[0];
    expect(after.remixesCount).toBe(1);
  });
});
