#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { printable } from '../shared/printable.js';
import { EXIT } from './toolkit/exit-codes.js';

/** Each command lives in its own file and registers itself on the program. */
type Register = (program: Command) => void;

/** The command files, in the order `--help` lists them: one name per file `src/cli/<name>.ts`. */
const COMMANDS = ['close', 'lease', 'dlq', 'sweep', 'sessions', 'projects', 'stats', 'slots', 'demo', 'simulator', 'worker', 'ingress', 'ui'] as const;

export async function buildProgram(): Promise<Command> {
  const program = new Command('bb-reaper')
    .description('Close Browserbase sessions in bulk: queue, rate limiter, retries, dead-letter queue, UI.')
    .version('0.1.0')
    // One line per error (a bad value, an unknown flag), not the whole help under it.
    .showHelpAfterError('(add --help for usage)')
    // Commander echoes the bad value (`argument '...' is invalid`): control characters in it are shown, not sent.
    .configureOutput({ outputError: (text, write) => write(text.split('\n').map(printable).join('\n')) })
    .exitOverride();
  for (const name of COMMANDS) ((await import(`./${name}.js`)) as { register: Register }).register(program);
  return program;
}

// `bb-reaper ... | head` closes our stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

async function main(): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    throw err;
  }
}

await main();
