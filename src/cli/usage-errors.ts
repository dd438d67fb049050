/**
 * One format for every command-line mistake. Commander reports unknown options, unknown commands,
 * missing or surplus arguments in its own two-line style; here every command of the tree hands those
 * reports back as an E_BAD_OPTION PortoonError instead of printing them, so `main` prints them like
 * any other error: `portoon: <message> [E_BAD_OPTION]`, exit code 2.
 */
import type { Command, CommanderError } from 'commander';
import { PortoonError } from '../core/errors.js';
import { listWords } from './parse.js';

/** Applies the format to `root` and every subcommand below it; call it once the tree is complete. */
export function applyUsageErrors(root: Command): void {
  const visit = (command: Command): void => {
    command.exitOverride((error) => {
      // --help and --version end commander's parse with exit code 0: let them through.
      if (error.exitCode === 0) throw error;
      throw toUsageError(error, command);
    });
    // Commander writes to stderr only to report a mistake (the message, or the help after a
    // missing subcommand); the error thrown above carries it instead.
    command.configureOutput({ writeErr: () => undefined, outputError: () => undefined });
    for (const sub of command.commands) visit(sub);
  };
  visit(root);
}

/** `portoon models pull` */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function usage(message: string, details: Record<string, unknown> = {}): PortoonError {
  return new PortoonError('E_BAD_OPTION', message, { details });
}

function subcommandNames(command: Command): string[] {
  return command.commands.map((c) => c.name()).filter((name) => name !== 'help');
}

/** Turns one of commander's reports into the CLI's wording: what was expected, what arrived. */
export function toUsageError(error: CommanderError, command: Command): PortoonError {
  const path = commandPath(command);
  // Commander quotes the option or command at fault and may append "(Did you mean --x?)".
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
  const similar = /\(Did you mean (.+?)\?\)/.exec(error.message)?.[1];
  const suggestion = similar === undefined ? '' : ` (did you mean ${similar}?)`;
  switch (error.code) {
    case 'commander.unknownOption':
      return usage(`Expected an option listed by "${path} --help" but received ${quoted}${suggestion}`, { option: quoted });
    case 'commander.unknownCommand':
      return usage(
        `Expected a command of ${path} (${listWords(subcommandNames(command))}) but received ${String(command.args[0])}${suggestion}`,
        { command: command.args[0] },
      );
    case 'commander.help': {
      // Help as an error: a command that needs a subcommand got none (`portoon models`), or
      // `portoon help <name>` named no command.
      const unknown = command.args[0] === 'help' ? command.args[1] : command.args[0];
      return usage(`Expected a command of ${path} (${listWords(subcommandNames(command))}) but received ${unknown ?? 'none'}`);
    }
    case 'commander.optionMissingArgument': {
      const flag = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
      return usage(`Expected a value for ${flag} but received none`, { option: flag });
    }
    case 'commander.missingArgument':
      return usage(`Expected ${quoted} for ${path} but received none`);
    case 'commander.excessArguments': {
      const expected = command.registeredArguments.length;
      const surplus = command.args.slice(expected);
      return usage(
        `Expected ${expected === 0 ? 'no arguments' : `at most ${expected} argument${expected === 1 ? '' : 's'}`} for ${path} but received ${surplus.join(' ')}`,
      );
    }
    case 'commander.invalidArgument': {
      // Only built-in validation (e.g. `.choices()`) gets here; Portoon's own parsers throw PortoonError.
      const match = /option '([^']+)' argument '([^']*)' is invalid\.\s*(?:Allowed choices are (.+)\.)?/.exec(error.message);
      if (match) {
        const flag = /--[\w-]+/.exec(match[1]!)?.[0] ?? match[1]!;
        const what = match[3] !== undefined ? listWords(match[3].split(', ')) : 'a valid value';
        return usage(`Expected ${what} for ${flag} but received ${match[2]!}`, { option: flag });
      }
      return usage(plain(error.message));
    }
    default:
      return usage(plain(error.message));
  }
}

/** Commander's text without its "error: " prefix, capitalized, on one line. */
function plain(message: string): string {
  const text = message.replace(/^error:\s*/, '').replace(/\s*\n\s*/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
