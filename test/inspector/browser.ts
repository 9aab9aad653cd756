// Debian's Chromium, driven by playwright, for the inspector's page tests.
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
