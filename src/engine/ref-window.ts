// The bounded memory of applied command ids: id → event types, oldest forgotten first.

export class RefWindow {
  private readonly entries = new Map<string, string[]>();

  constructor(private readonly capacity: number) {}

  get(ref: string): readonly string[] | undefined {
    return this.entries.get(ref);
  }

  note(ref: string, type: string): void {
    const types = this.entries.get(ref);
    if (types) {
      this.entries.delete(ref);
      this.entries.set(ref, [...types, type]);
    } else {
      this.entries.set(ref, [type]);
    }
    this.trim();
  }

  set(ref: string, types: readonly string[]): void {
    this.entries.delete(ref);
    this.entries.set(ref, [...types]);
    this.trim();
  }

  clear(): void {
    this.entries.clear();
  }

  toJSON(): Array<[string, string[]]> {
    return [...this.entries];
  }

  private trim(): void {
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) return;
      this.entries.delete(oldest);
    }
  }
}
