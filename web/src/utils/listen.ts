/**
 * Adds each of `handlers` (event type → listener, typed by the target's event map) to
 * `target` and returns the function that removes them all, ready to be an effect's cleanup.
 */
export function listen<Events>(target: EventTarget, handlers: { [K in keyof Events & string]?: (event: Events[K]) => void }): () => void {
  const entries = Object.entries(handlers) as [string, EventListener][];
  for (const [type, handler] of entries) target.addEventListener(type, handler);
  return () => {
    for (const [type, handler] of entries) target.removeEventListener(type, handler);
  };
}
