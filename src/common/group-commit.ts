/**
 * Group commit: callers submit one item each and get their own answer, while the items submitted
 * close together travel in one statement. Items wait for the current event-loop turn to end
 * (`setImmediate`, well under a millisecond) and, when `maxInFlight` batches are already running,
 * for one of them to finish, never for a timer: a lone caller pays no delay, and under load the
 * batches grow to `maxRows` by themselves.
 *
 * `run(items)` returns one answer per item, in order. When a batch of several items fails, each
 * item is retried alone, so one bad item fails only its own caller (and the answer of every other
 * item is exactly what a statement of its own would have given).
 */
export class GroupCommit<I, O> {
  private pending: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: { maxRows: number; maxInFlight: number },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.pending.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.pending.length > 0 && this.inFlight < this.options.maxInFlight) {
        void this.flush(this.pending.splice(0, this.options.maxRows));
      }
    });
  }

  private async flush(batch: GroupCommit<I, O>['pending']): Promise<void> {
    this.inFlight++;
    try {
      const answers = await this.run(batch.map((entry) => entry.item));
      batch.forEach((entry, i) => entry.resolve(answers[i]));
    } catch (error) {
      if (batch.length === 1) batch[0].reject(error);
      else {
        await Promise.all(
          batch.map((entry) =>
            this.run([entry.item]).then(
              ([answer]) => entry.resolve(answer),
              (alone: unknown) => entry.reject(alone),
            ),
          ),
        );
      }
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}
