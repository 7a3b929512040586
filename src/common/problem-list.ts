/** An error body lists at most this many problems: a huge bad request must not yield a huger answer. */
export const MAX_LISTED_PROBLEMS = 50;

/**
 * The first MAX_LISTED_PROBLEMS messages, then one line counting the rest. A `… and N more` line
 * already present (a validator's own cap) is folded into the count.
 */
export function capProblems<T>(message: T): T | string[] {
  if (!Array.isArray(message) || message.length <= MAX_LISTED_PROBLEMS) return message;
  const listed = (message as unknown[]).slice(0, MAX_LISTED_PROBLEMS).map(String);
  let more = message.length - MAX_LISTED_PROBLEMS;
  const last = String(message[message.length - 1]);
  const folded = /^… and (\d+) more/.exec(last);
  if (folded) more += Number(folded[1]) - 1;
  listed.push(`… and ${more} more problem(s)`);
  return listed;
}
