// `npm run cli -- <command> [flags]`. Results print as JSON on stdout; messages for people go to
// stderr. Bad input exits 2 with usage, other failures exit 1 with one line saying what to do.
import { parseArgs } from 'node:util';
import { systemClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import { AppError, ConfigError, InputError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import type { CliContext, Command } from './command.js';
import { commands } from './commands/index.js';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: npm run cli -- <command> [flags]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'npm run cli -- help <command> shows its flags.',
  ].join('\n');
}

function commandUsage(command: Command): string {
  return `usage: npm run cli -- ${command.usage}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const target = commands.find((c) => c.name === rest[0]);
    process.stdout.write(`${target ? commandUsage(target) : usage()}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`error: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }

  let flags: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values: flags, positionals } = parseArgs({
      args: rest,
      options: command.flags,
      strict: true,
      allowPositionals: command.positionals ?? false,
    }));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n${commandUsage(command)}\n`);
    return 2;
  }

  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const config = loadConfig();
    const ctx: CliContext = {
      config,
      log: createLogger({ level: config.LOG_LEVEL, name: command.name }),
      clock: systemClock,
      print: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
      say: (line) => process.stderr.write(`${line}\n`),
      stopSignal: controller.signal,
    };
    await command.run(ctx, flags as never, positionals);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`error: configuration ${error.message}\n`);
      return 1;
    }
    if (error instanceof InputError) {
      process.stderr.write(`error: ${error.message}\n${commandUsage(command)}\n`);
      return 2;
    }
    if (error instanceof AppError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`error: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

const code = await main(process.argv.slice(2));
// Pools and sockets are closed by each command; exiting explicitly keeps a stray timer in a
// dependency from holding a finished command open.
process.exit(code);
