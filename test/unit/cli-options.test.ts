import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  choiceOption,
  collectOptionProblems,
  durationOption,
  flagName,
  intOption,
  InvalidArgumentError,
  parseInteger,
} from '../../src/cli/toolkit/options.js';
import { reportError } from '../../src/cli/toolkit/command.js';
import { EXIT } from '../../src/cli/toolkit/exit-codes.js';

/** Parses argv with commander as `main.ts` does (exitOverride), capturing what it prints on stderr. */
function parse(build: (cmd: Command) => void, argv: string[]): { opts: Record<string, unknown>; error?: CommanderError; stderr: string } {
  let stderr = '';
  const cmd = new Command('t').exitOverride().configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => undefined });
  build(cmd);
  try {
    cmd.parse(argv, { from: 'user' });
    return { opts: cmd.opts(), stderr };
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    return { opts: cmd.opts(), error: err, stderr };
  }
}

describe('CLI option parsers (toolkit/options.ts)', () => {
  it('intOption: a bad value is commander\'s invalid-argument error, its message still "Expected `--limit` to be an integer from 1 to 10000, got `x`"', () => {
    const build = (c: Command) => void c.addOption(intOption('--limit <n>', 'how many', { min: 1, max: 10_000, default: 100 }));
    expect(parse(build, []).opts.limit).toBe(100);
    expect(parse(build, ['--limit', '250']).opts.limit).toBe(250);
    for (const bad of ['0', '10001', 'x', '1e3', '0x10', '+5', '5.0', ' 5', '', '-1', '99999999999999999999']) {
      const r = parse(build, ['--limit', bad]);
      expect(r.error?.code, bad).toBe('commander.invalidArgument');
      expect(r.stderr).toContain(`Expected \`--limit\` to be an integer from 1 to 10000, got \`${bad}\``);
    }
  });

  it('intOption without a max says "≥ min" and names the unit', () => {
    const build = (c: Command) => void c.addOption(intOption('--shutdown-timeout <ms>', 'force after', { min: 0, unit: 'ms', default: 30_000 }));
    expect(parse(build, []).opts.shutdownTimeout).toBe(30_000);
    expect(parse(build, ['--shutdown-timeout', '0']).opts.shutdownTimeout).toBe(0);
    expect(parse(build, ['--shutdown-timeout', 'soon']).stderr).toContain('Expected `--shutdown-timeout` to be an integer ≥ 0 (ms), got `soon`');
  });

  it('durationOption reads `1h30m` into ms and reports a bad one naming the flag', () => {
    const build = (c: Command) => void c.addOption(durationOption('--older-than <duration>', 'minimum age', { minMs: 1000 }));
    expect(parse(build, ['--older-than', '1h30m']).opts.olderThan).toBe(5_400_000);
    const r = parse(build, ['--older-than', '5 minutes']);
    expect(r.error?.code).toBe('commander.invalidArgument');
    expect(r.stderr).toMatch(/Expected `--older-than` to be a duration like .*, got `5 minutes`/);
    expect(parse(build, ['--older-than', '500ms']).stderr).toContain('Expected `--older-than` to be at least 1s, got `500ms`');
  });

  it('choiceOption lists the choices in help and rejects others with the one message shape', () => {
    const build = (c: Command) => void c.addOption(choiceOption('--log-level <level>', 'log level', ['info', 'warn'] as const, 'warn'));
    expect(parse(build, []).opts.logLevel).toBe('warn');
    expect(parse(build, ['--log-level', 'info']).opts.logLevel).toBe('info');
    expect(parse(build, ['--log-level', 'loud']).stderr).toContain('Expected `--log-level` to be one of info, warn, got `loud`');
    const help = new Command('t');
    build(help);
    expect(help.helpInformation()).toContain('(choices: "info", "warn", default: "warn")');
  });

  it('an invalid value checked inside an action is still a usage error (exit 2), not a runtime failure', () => {
    const original = process.stderr.write.bind(process.stderr);
    let written = '';
    process.stderr.write = ((s: string) => ((written += s), true)) as typeof process.stderr.write;
    try {
      let code: number | undefined;
      try {
        parseInteger('x', '--sessions', { min: 1, max: 5 });
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidArgumentError);
        code = reportError(err);
      }
      expect(code).toBe(EXIT.USAGE);
      expect(written).toBe('bb-reaper: Expected `--sessions` to be an integer from 1 to 5, got `x`\n');
    } finally {
      process.stderr.write = original;
    }
  });

  it('collectOptionProblems reports every bad option in one usage error', () => {
    const p = collectOptionProblems();
    expect(p.check(() => parseInteger('7', '--a', { min: 1 }))).toBe(7);
    expect(p.check(() => parseInteger('soon', '--b', { min: 1 }))).toBeUndefined();
    p.add('`--c`: expected a number');
    expect(() => p.throwIfAny('invalid flags: ')).toThrow(/^invalid flags: Expected `--b` to be an integer ≥ 1, got `soon`; `--c`: expected a number$/);
    try {
      p.throwIfAny();
    } catch (err) {
      expect(err).toMatchObject({ code: 'USAGE', exitCode: EXIT.USAGE });
    }
  });

  it('flagName picks the long flag', () => {
    expect(flagName('-o, --out <file>')).toBe('--out');
    expect(flagName('--limit <n>')).toBe('--limit');
    expect(flagName('-n <n>')).toBe('-n');
  });
});
