/** Ordered concurrent map: up to `limit` calls in flight, results yielded in input order. */
export async function* mapOrdered<T, R>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const window: Promise<R>[] = [];
  for (const item of items) {
    const p = fn(item);
    p.catch(() => {}); // handled when its turn comes; stops an "unhandled rejection" meanwhile
    window.push(p);
    if (window.length >= limit) yield await window.shift()!;
  }
  while (window.length > 0) yield await window.shift()!;
}
