import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { currentLogFields } from './log-context';

/**
 * Nest's ConsoleLogger, as JSON lines (`LOG_FORMAT=json`: `{level, pid, timestamp, message,
 * context, request_id?, run_id?, experiment_id?, …}`) or as text, without ANSI colours unless
 * stdout is a terminal. The ids come from the async context (log-context.ts).
 */
export class AppLogger extends ConsoleLogger {
  constructor(options: { format: 'json' | 'text'; levels: LogLevel[]; colors: boolean }) {
    super({
      logLevels: options.levels,
      json: options.format === 'json',
      colors: options.format === 'text' && options.colors,
    });
  }

  protected override getJsonLogObject(
    message: unknown,
    options: { context: string; logLevel: LogLevel; writeStreamType?: 'stdout' | 'stderr'; errorStack?: unknown },
  ): ReturnType<ConsoleLogger['getJsonLogObject']> {
    return { ...super.getJsonLogObject(message, options), ...currentLogFields() };
  }
}
