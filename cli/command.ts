// The shape of a CLI command and the helpers commands share for flags and output.
import type { ParseArgsConfig } from 'node:util';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { parseCalendarDate } from '../core/dates.js';
import { InputError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;
export type Flags = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface CliContext {
  config: Config;
  log: Logger;
  clock: Clock;
  /** Results go to stdout as JSON; everything for people goes to stderr. */
  print(value: unknown): void;
  say(line: string): void;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); long-running roles await it. */
  stopSignal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpec;
  /** Accept positional arguments (for example a job kind). */
  positionals?: boolean;
  run(ctx: CliContext, flags: Flags, positionals: string[]): Promise<void>;
}

export function intFlag(flags: Flags, name: string, fallback: number, min: number, max: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const text = String(raw).trim();
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InputError(
      `must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      `--${name}`,
    );
  }
  return value;
}

export function dateFlag(flags: Flags, name: string): string | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  return parseCalendarDate(String(raw), `--${name}`);
}

export function utcDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}
