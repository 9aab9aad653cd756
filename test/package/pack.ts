// Packs the repository as `npm publish` would (lifecycle scripts skipped: the tests run after
// the build) into a fresh directory under .scratch/, and unpacks it there. .scratch/ is ignored
// by git and outside the typechecked folders; being inside the repository, it lets an app
// installed there find ringbus's dependencies in the repository's node_modules, as it would find
// them in its own.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const root = fileURLToPath(new URL('../../', import.meta.url))

export interface Packed {
  /** The directory holding the tarball and `package/`, the unpacked package. */
  dir: string
  tarball: string
  /** Paths in the package, as `npm pack` lists them. */
  files: string[]
  remove(): void
}

export async function pack(): Promise<Packed> {
  mkdirSync(join(root, '.scratch'), { recursive: true })
  const dir = mkdtempSync(join(root, '.scratch/pack-'))
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root })
  const [info] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
  const tarball = join(dir, info.filename)
  mkdirSync(join(dir, 'package'))
  await run('tar', ['-xzf', tarball, '-C', join(dir, 'package'), '--strip-components=1'])
  return { dir, tarball, files: info.files.map((f) => f.path).sort(), remove: () => rmSync(dir, { recursive: true, force: true }) }
}
