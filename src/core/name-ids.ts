// Ids found by name, each looked up once (in the core) and kept; the last one asked for is at
// hand without a map lookup, since the hot paths (send to an exchange, send to a queue by its
// name) ask for the same name in runs.

export class NameIds {
  private readonly ids = new Map<string, number>()
  private lastName: string | undefined
  private lastId = -1

  /** `lookup` finds a name not kept yet (its id, or what stands for none); called with no `this`. */
  constructor(private readonly lookup: (name: string) => number) {}

  get(name: string): number {
    if (name === this.lastName) return this.lastId
    let id = this.ids.get(name)
    if (id === undefined) this.ids.set(name, (id = this.lookup(name)))
    this.lastName = name
    return (this.lastId = id)
  }

  has(name: string): boolean {
    return this.ids.has(name)
  }

  /** Forgets every name (the ids behind them may have changed). */
  clear(): void {
    this.ids.clear()
    this.lastName = undefined
  }
}
