interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for statements many concurrent callers make one row at a time: items submitted in
 * the same tick, or while the previous flush runs, go to the next flush together (at most `maxBatch`,
 * one flush at a time), and each caller gets its own result back. Under load a batch grows with the
 * number of callers; alone, a caller waits one tick.
 */
export class GroupBatcher<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private flushing = false;
  private scheduled = false;

  /** `flush` returns one result per item, in order. */
  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly maxBatch: number,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing || this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    if (this.flushing || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, this.maxBatch);
    this.flushing = true;
    let results: Promise<O[]>;
    try {
      results = this.flush(batch.map((w) => w.item));
    } catch (error) {
      results = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    results
      .then(
        (out) => batch.forEach((w, i) => w.resolve(out[i])),
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      )
      .finally(() => {
        this.flushing = false;
        this.schedule();
      });
  }
}
