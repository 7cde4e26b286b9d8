/**
 * The `failclosed` command line. Exit status: 0 compliant / ok, 1 non-compliant / check failed,
 * 2 inconclusive or usage error. Help lists only what is implemented.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CommandIO, CommandSpec } from './command.ts';
import { errorText } from './command.ts';
import { checkAuditCommand } from './check-audit-command.ts';
import { doctorCommand } from './doctor-command.ts';
import { exploreCommand } from './explore-command.ts';
import { mergeCommand } from './merge-command.ts';
import { mutantsCommand } from './mutants-command.ts';
import { replayCommand } from './replay-command.ts';
import { runCommand } from './run-command.ts';
import { serveCommand } from './serve-command.ts';
import { verifyCommand } from './verify-command.ts';

const COMMANDS: CommandSpec[] = [runCommand, replayCommand, mergeCommand, verifyCommand, checkAuditCommand, doctorCommand, mutantsCommand, exploreCommand, serveCommand];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'failclosed — conformance suite and formal model for fail-closed AI execution gates',
    '',
    'Usage: failclosed <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options: --help (also after a command), --version',
    'Exit status: 0 ok, 1 a check failed, 2 inconclusive or usage error.',
    '',
  ].join('\n');
}

function commandHelp(command: CommandSpec): string {
  return [`Usage: ${command.usage}`, '', command.summary, '', ...command.details, ''].join('\n');
}

export async function main(argv: string[], io?: Partial<Pick<CommandIO, 'out' | 'err'>>): Promise<number> {
  const out = io?.out ?? ((text: string) => void process.stdout.write(text));
  const err = io?.err ?? ((text: string) => void process.stderr.write(text));
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(generalHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    out(`${version()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    err(`failclosed: unknown command "${name}"\nCommands: ${COMMANDS.map((c) => c.name).join(', ')}; failclosed --help tells what each does.\n`);
    return 2;
  }
  const prefix = `failclosed ${command.name}`;
  // A usage error says what is wrong with the arguments and how the command is used; the options
  // themselves are one --help away, not repeated after every mistake.
  const usageError = (message: string) => {
    err(`${prefix}: ${message}\nUsage: ${command.usage}\n(failclosed ${command.name} --help tells every option)\n`);
    return 2;
  };
  // Every other error is one line of cause and one of remedy.
  const fail = (cause: string, remedy: string, status = 2) => {
    err(errorText(prefix, cause, remedy));
    return status;
  };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (parsed.values.help) {
    out(commandHelp(command));
    return 0;
  }
  return command.run(parsed.values as Record<string, string | boolean | string[] | undefined>, { out, err, usageError, fail, live: io?.out === undefined }, parsed.positionals);
}
