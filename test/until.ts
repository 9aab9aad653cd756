// Waiting until a condition holds, in Node and in a browser (test/threads.ts is Node's only).

/** Resolves once `condition` holds, polling every few ms; fails after `ms` (10 s) naming `what`. */
export async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
