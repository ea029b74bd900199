/** A tiny observable value for `useSyncExternalStore`: immutable snapshots, batched notify. */
export class Store<T> {
  private listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private value: T) {}

  get = (): T => this.value;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Replaces the snapshot and notifies now. */
  set(next: T): void {
    this.value = next;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    for (const l of this.listeners) l();
  }

  /** Replaces the snapshot and notifies within ~100 ms (for progress updates). */
  setSoon(next: T): void {
    this.value = next;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      for (const l of this.listeners) l();
    }, 100);
  }
}
