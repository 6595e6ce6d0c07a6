// Headless Chromium for browser tests: Debian's `chromium` (.ci/run installs it) driven by
// playwright-core, a fresh profile per call, page errors collected.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

/** The browser used: `SETGEN_CHROMIUM` or /usr/bin/chromium. */
export const CHROMIUM = process.env.SETGEN_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Runs `use` with a new page of headless Chromium and the list of uncaught page errors (filled as
 * they happen), then closes the browser and removes its profile, whatever `use` did.
 */
export async function withChromiumPage<T>(use: (page: Page, errors: string[]) => Promise<T>): Promise<T> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `withChromiumPage: no browser at ${CHROMIUM} (apt-get install chromium, or set SETGEN_CHROMIUM)`,
    );
  }
  const { chromium } = await import('playwright-core'); // loaded only by browser tests
  const profile = mkdtempSync(join(tmpdir(), 'setgen-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    return await use(page, errors);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
