#!/usr/bin/env node
/**
 * The `portoon` command. Exit codes: 0 ok, 1 internal error, 2 usage error, 3 bad input (not an
 * image or video, undecodable, too large, missing file), 4 `portoon verify` found no Portoon mark in
 * a file, 130 stopped by Ctrl-C, each error with one clear message on stderr.
 */
import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { PortoonError, toPortoonError } from '../core/errors.js';
import { VERSION } from '../node/version.js';
import { INTERRUPTED_EXIT_CODE, runCartoonize, type CartoonizeCliOptions } from './cartoonize-command.js';
import { runModelsList, runModelsPull, runModelsVerify, type PullCliOptions } from './models-command.js';
import { intParser, listWords, lowerCase, parseDevice, splitMix } from './parse.js';
import { addServeCommand } from './serve-command.js';
import { addWorkerCommand } from './worker-command.js';
import { runStyles } from './styles-command.js';
import { applyUsageErrors, toUsageError } from './usage-errors.js';
import { NO_MARK_EXIT_CODE, runVerify, type VerifyCliOptions } from './verify-command.js';

export const EXIT = { ok: 0, internal: 1, usage: 2, badInput: 3, noMark: NO_MARK_EXIT_CODE, interrupted: INTERRUPTED_EXIT_CODE } as const;

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('portoon')
    .description('Turn photos and videos of people into cartoon portraits.')
    .version(VERSION, '-V, --version')
    // Options after a subcommand belong to it: without this, `portoon styles --json` or
    // `portoon models pull --models-dir X` would hand --json/--models-dir to the root command.
    .enablePositionalOptions()
    // `portoon help [command]` as well as --help (commander adds it only to commands without an action).
    .helpCommand(true)
    .argument('[inputs...]', 'photos, videos or folders (folders are searched recursively; a video is recognised by its content)')
    .option('-s, --style <id>', 'style to apply (see: portoon styles)', 'anime')
    .option(
      '-o, --out <path>',
      'output file (one input) or folder (several inputs); default <name>-<style>.<ext> here, or ./portoon-out for batches',
    )
    .option('--strength <0..1>', "how much of the style to apply (0 = original photo); default: the style's default")
    .option('--mix <style:weight>', 'interpolate toward a second style, e.g. sketch:0.3 (weight default 0.5)', splitMix)
    .option(
      '--max-side <px>',
      "shrink the input (a photo or a video's frames) so its long side is at most this, 16 or more (default: full size)",
    )
    .addOption(
      new Option(
        '--background <mode>',
        'stylize (everything) | keep (original outside the faces) | blur (backdrop behind people out of focus)',
      ).argParser(lowerCase),
    )
    .option('--format <fmt>', "output format png | jpeg | webp (default: from the output name, else the input's)", lowerCase)
    .option('--quality <1..100>', 'JPEG/WebP quality (default 90)')
    .option('--preview', 'a cheap thumbnail of a photo: at most 256 px, JPEG')
    .addOption(new Option('--detector <which>', 'face detector: both | retinaface | yunet').argParser(lowerCase))
    .option('--fps <n>', "video: output frames per second (default: the input's, every frame kept)")
    .option('--start <seconds>', 'video: start this many seconds into the clip (default 0)')
    .option('--duration <seconds>', 'video: process this many seconds (default: to the end)')
    .option('--crf <n>', 'video: quality, 0..51, lower is better (default 20 for mp4, 32 for webm)')
    .option('--no-audio', 'video: leave out the sound track (default: copied as it is)')
    .addOption(
      new Option('--video-format <fmt>', 'video: output container mp4 | webm | gif (default: from the output name, else mp4)').argParser(
        lowerCase,
      ),
    )
    .option('--no-temporal', 'video: stylize each frame on its own, without the blending that keeps it from flickering (to compare)')
    .option('--flicker', 'video: measure the flicker (warping error) of the output and put it in the report')
    .option('--json', 'print the report of each image or video as one JSON line on stdout')
    .option('-q, --quiet', 'no progress bar or summary')
    .option('--overwrite', 'replace outputs that exist (default: a batch skips them, a single image or video is refused)')
    .option('--workers <n>', 'images processed in parallel (default 1; videos run one after another)', intParser('--workers', 1))
    .option('--threads <n>', 'inference threads per worker (default: the cores divided among the workers)', intParser('--threads', 1))
    .option('--device <device>', 'inference device: cpu | cuda (default cpu)', parseDevice)
    .option('--models-dir <dir>', 'models folder (default: $PORTOON_MODELS or the per-user cache)')
    .option('--label', 'draw a small visible "AI-generated" label in a corner away from faces (default: off)')
    .addOption(
      new Option('--watermark-key <key>', "key of the invisible watermark (default: Portoon's public key, which anyone can verify)").env(
        'PORTOON_WATERMARK_KEY',
      ),
    )
    .addOption(
      new Option('--c2pa-cert <file>', 'PEM certificate chain to sign outputs with C2PA content credentials (with --c2pa-key)').env(
        'PORTOON_C2PA_CERT',
      ),
    )
    .addOption(new Option('--c2pa-key <file>', 'PEM private key of --c2pa-cert').env('PORTOON_C2PA_KEY'))
    .action(async (inputs: string[], options: CartoonizeCliOptions) => {
      checkInputs(program, inputs);
      setExit(await runCartoonize(inputs, options));
    });

  program
    .command('styles')
    .description('list styles, whether their models are installed, and their licences')
    .option('--json', 'machine-readable output')
    .option('--models-dir <dir>', 'models folder')
    .action((options: { json?: boolean; modelsDir?: string }) => setExit(runStyles(options)));

  program
    .command('verify')
    .description("check whether images carry Portoon's provenance marks: invisible watermark, C2PA manifest, XMP label")
    .argument('<files...>', 'images to check')
    .option('--json', "print each file's report as JSON (an array when several files are checked)")
    .addOption(
      new Option('--watermark-key <key>', 'the key the watermark was made with (default: the built-in public key)').env(
        'PORTOON_WATERMARK_KEY',
      ),
    )
    .addHelpText(
      'after',
      `\nExit codes: 0 every file carries a Portoon mark, ${NO_MARK_EXIT_CODE} at least one readable file carries none, 3 a file is not a readable image (named on stderr; the others are still checked), 2 usage error.`,
    )
    .action(async (files: string[], options: VerifyCliOptions) => setExit(await runVerify(files, options)));

  addServeCommand(program, setExit);
  addWorkerCommand(program, setExit);

  const models = program.command('models').description('manage the model store (list | pull | verify)');
  models
    .command('list')
    .description('show every catalogued model and whether it is installed')
    .option('--json', 'machine-readable output')
    .option('--models-dir <dir>', 'models folder')
    .action((options: { json?: boolean; modelsDir?: string }) => setExit(runModelsList(options)));
  models
    .command('pull')
    .description('install models (default: the default set) from a mirror folder or http(s) URL, verifying sha256')
    .argument('[ids...]', 'model ids (see: portoon models list)')
    .option('--from <dir|url>', 'mirror folder or http(s) base URL (default: $PORTOON_MODEL_MIRROR)')
    .option('--all', 'install every catalogued model, not just the default set')
    .option('--force', 'reinstall even if the installed file verifies')
    .option('--json', 'machine-readable output')
    .option('-q, --quiet', 'no progress bars')
    .option('--models-dir <dir>', 'models folder')
    .action(async (ids: string[], options: PullCliOptions) => setExit(await runModelsPull(ids, options)));
  models
    .command('verify')
    .description('check installed models against their sha256')
    .argument('[ids...]', 'model ids (default: every installed model)')
    .option('--json', 'machine-readable output')
    .option('--models-dir <dir>', 'models folder')
    .action(async (ids: string[], options: { json?: boolean; modelsDir?: string }) => setExit(await runModelsVerify(ids, options)));
  applyUsageErrors(program);
  return program;
}

/**
 * The root command takes files, so a mistyped command (`portoon modles list`) arrives as an input:
 * a bare word that names no file is reported as a usage error naming both possibilities.
 */
function checkInputs(program: Command, inputs: readonly string[]): void {
  const commands = program.commands.map((c) => c.name()).filter((name) => name !== 'help');
  const what = `an image file, a folder or a command (${listWords(commands)})`;
  if (inputs.length === 0) throw new PortoonError('E_BAD_OPTION', `Expected ${what} but received none; see portoon --help`);
  const first = inputs[0]!;
  if (/^[a-z][a-z-]*$/.test(first) && !existsSync(first)) {
    throw new PortoonError('E_BAD_OPTION', `Expected ${what} but received ${first}, which names none of them; see portoon --help`, {
      details: { command: first },
    });
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    // Help and version end commander's parse with exit code 0; its other reports became PortoonErrors.
    if (error instanceof CommanderError && error.exitCode === 0) return EXIT.ok;
    const e = error instanceof CommanderError ? toUsageError(error, program) : toPortoonError(error);
    process.stderr.write(`portoon: ${e.message} [${e.code}]\n`);
    if (e.code === 'E_INTERNAL' && process.env.PORTOON_DEBUG && e.cause instanceof Error) process.stderr.write(`${e.cause.stack ?? ''}\n`);
    return e.details.signal === 'SIGINT' ? EXIT.interrupted : e.exitCode;
  }
}

// `portoon styles | head` closes stdout early: end quietly instead of crashing with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`portoon: internal error: ${String(error)}\n`);
    process.exitCode = EXIT.internal;
  },
);
