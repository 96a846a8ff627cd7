/**
 * Groups calls made while an earlier group is being written: the first call of a quiet moment runs at once (on
 * the next turn of the event loop, with whatever else arrived in that turn), and the calls made while a group runs
 * form the next group, up to `maxItems`. One group runs at a time. Under load a worker's concurrent sends thus
 * share one transaction instead of one each; alone, a call waits for nothing but the turn. A group that fails
 * fails each of its calls (their jobs retry).
 */
export function createBatcher<I, O>(run: (items: I[]) => Promise<O[]>, maxItems = 64): (item: I) => Promise<O> {
  const waiting: Array<{ item: I; resolve: (o: O) => void; reject: (err: unknown) => void }> = [];
  let running = false;
  let scheduled = false;

  const pump = async () => {
    scheduled = false;
    if (running || waiting.length === 0) return;
    running = true;
    const group = waiting.splice(0, maxItems);
    try {
      const out = await run(group.map((g) => g.item));
      group.forEach((g, i) => g.resolve(out[i]!));
    } catch (err) {
      for (const g of group) g.reject(err);
    } finally {
      running = false;
      schedule();
    }
  };
  const schedule = () => {
    if (scheduled || running || waiting.length === 0) return;
    scheduled = true;
    setImmediate(() => void pump());
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      schedule();
    });
}
