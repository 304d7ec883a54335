/*
 * The browser side of the e2e tests: Debian's chromium driven by
 * playwright-core, each test with a fresh empty profile, screenshots of
 * every step kept under MP_TEST_SCREENSHOTS.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BASE = process.env.MP_TEST_URL ?? 'http://127.0.0.1:18084';
export const SHOTS = process.env.MP_TEST_SCREENSHOTS ?? join(process.cwd(), '..', 'var', 'test', 'screenshots');
const EXE = process.env.MP_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--autoplay-policy=no-user-gesture-required',
];

export interface Session {
  browser: Browser;
  dirs: string[];
  close(): Promise<void>;
}

/**
 * A browser with a new empty user-data dir.  launchPersistentContext is
 * the only way to give chromium its own --user-data-dir; further contexts
 * (a second device) are new browsers with their own dirs.
 */
export async function launch(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'mp-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: EXE,
    headless: true,
    args: CHROMIUM_ARGS,
    ignoreDefaultArgs: ['--enable-automation'],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    close: async () => {
      const t0 = Date.now();
      await context.close().catch(() => {});
      if (process.env.MP_TEST_TIMING) console.log(`close: ${Date.now() - t0} ms`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let shotNo = 0;
export const shots: string[] = [];

/** Keeps a screenshot of the step; returns its path. */
export async function shot(page: Page, test: string, step: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const p = join(SHOTS, `${test}-${String(++shotNo).padStart(2, '0')}-${step.replace(/[^a-z0-9]+/gi, '-')}.png`);
  await page.bringToFront().catch(() => {});
  await page.screenshot({ path: p, fullPage: true, timeout: 10000 }).catch(() => {});
  shots.push(p);
  return p;
}

/**
 * Runs one step: on failure the step's screenshot is taken and its path
 * is put into the error, so the test output names the picture.
 */
export async function step<T>(page: Page, test: string, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    const r = await fn();
    if (process.env.MP_TEST_TIMING) console.log(`${test} ${name}: ${Date.now() - t0} ms`);
    await shot(page, test, name);
    return r;
  } catch (e) {
    const p = await shot(page, test, `FAILED-${name}`);
    const err = e as Error;
    err.message = `${err.message}\n  step “${name}” failed; screenshot: ${p}`;
    throw err;
  }
}

export function uniq(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
