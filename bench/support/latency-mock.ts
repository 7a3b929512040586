/**
 * A stand-alone OpenAI-compatible server for benchmarks, in its own process so that its work does
 * not share the measured server's event loop. Every call is answered after BENCH_MOCK_LATENCY_MS.
 * Prints `listening <url>` once it accepts connections; exits on SIGTERM or when stdin closes.
 */
import { startFakeLlmServer } from '../../test/support/fake-llm-server';

async function main(): Promise<void> {
  const latency = Number(process.env.BENCH_MOCK_LATENCY_MS ?? 100);
  const server = await startFakeLlmServer();
  // The fake keeps every request for tests; a benchmark only needs the answers.
  server.setResponder(() => {
    server.requests.length = 0;
    return { delayMs: latency };
  });
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.stdin.once('end', stop);
  process.stdin.resume();
  console.log(`listening ${server.url}`);
}

void main();
