// For the inspector's page tests: Debian's Chromium driven by playwright, and waiting on a condition.
import { chromium, type Browser, type Page } from 'playwright'
import { afterAll } from 'vitest'

/** A page in a Chromium that closes after the file's tests; page errors fail the test that looks. */
export function useChromium(): () => Promise<Page & { errors: string[] }> {
  let browser: Browser | undefined
  afterAll(async () => { await browser?.close() })
  return async () => {
    browser ??= await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] })
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()) })
    return Object.assign(page, { errors })
  }
}

/** Resolves once `condition` resolves true, looking every 50 ms; fails after 20 s naming `what`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; !(await condition());) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
