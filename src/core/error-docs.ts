/**
 * The error reference in Markdown, built from ERROR_TABLE so that the table cannot drift from the
 * code: `npm run docs:errors` writes it to docs/errors.md, and a test fails when the committed file is
 * stale. Platform-neutral (no file access): callers decide where the text goes; `errorTableMarkdown`
 * is the table alone, for any other page that shows it.
 */
import { ERROR_TABLE } from './errors.js';

type ErrorTable = Readonly<
  Record<string, { readonly status: number; readonly exit: number; readonly summary: string; readonly retry: boolean }>
>;

const HEADER = ['code', 'HTTP status', 'CLI exit', 'job retried', 'meaning'] as const;

/** A pipe would end the cell early; backslash-escaping it is how GitHub Markdown and Prettier keep it. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/**
 * The table of every error code, with its columns padded the way Prettier pads them, so the
 * generated file passes `prettier --check` as it is written.
 */
export function errorTableMarkdown(table: ErrorTable = ERROR_TABLE): string {
  const rows = Object.entries(table).map(([code, entry]) => [
    `\`${code}\``,
    String(entry.status),
    String(entry.exit),
    entry.retry ? 'yes' : 'no',
    cell(entry.summary),
  ]);
  const widths = HEADER.map((title, column) => Math.max(3, title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((text, column) => text.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(HEADER), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** The whole of docs/errors.md. */
export function errorsDocument(table: ErrorTable = ERROR_TABLE): string {
  return `# Error codes

<!-- Generated from ERROR_TABLE in src/core/errors.ts by \`npm run docs:errors\`; edit the table there, not this file. -->

Every error Portoon reports has a stable code and one message a user can act on. The library throws
\`PortoonError\` (\`error.code\`, \`error.message\`, \`error.details\`); the CLI prints
\`portoon: <message> [<code>]\` on stderr and exits with the code's exit status; the HTTP service
answers with the code's status. This file is generated from \`ERROR_TABLE\` in \`src/core/errors.ts\`
by \`npm run docs:errors\`, and a test fails when the two differ.

"Job retried" says what a queue worker does with a background job that fails with the code: \`yes\`
runs it again (up to the attempts the queue allows, perhaps on another worker), \`no\` fails it at
once, because another attempt would fail the same way (a bad input, a timeout).

${errorTableMarkdown(table)}

CLI exit codes: \`0\` success, \`1\` internal error (models, runtime, output), \`2\` usage error (bad
option, unknown style, output exists without \`--overwrite\`), \`3\` bad input (not an image, undecodable, too large, missing file). In a
batch, bad inputs are reported one per line and the run ends with \`3\`; other errors stop the batch.

## Over HTTP

The service answers every error with the code's HTTP status and one body shape:

\`\`\`json
{ "error": { "code": "E_QUEUE_FULL", "message": "The server is busy (9 images in progress); retry in 12 s" } }
\`\`\`

- \`503\` answers (\`E_QUEUE_FULL\`, \`E_NOT_READY\`, \`E_CLOSED\`, \`E_MODEL_MISSING\`) and \`429\` (\`E_RATE_LIMITED\`)
  carry a \`Retry-After\` header in seconds.
- \`500\` answers never contain a stack trace or a file path: the message is the code's meaning and the
  request id (also in the \`X-Request-Id\` header), which finds the full error in the service log.
- Framework errors are mapped to the same codes: a parameter failing its JSON schema is
  \`E_BAD_OPTION\`, a request that is not \`multipart/form-data\` is \`E_UNSUPPORTED_FORMAT\`, an upload
  over the limit is \`E_FILE_TOO_LARGE\`, an unknown route is \`E_NOT_FOUND\`.
- Requests that are not well-formed get the same shape too: broken HTTP framing (a bad
  Content-Length, chunked plus Content-Length, a bad chunk size), an undecodable URL escape or a
  broken multipart body is \`E_BAD_REQUEST\`; headers over the size limit are
  \`E_HEADERS_TOO_LARGE\`; a request that does not arrive within the time limit is
  \`E_REQUEST_TIMEOUT\`. These answers close the connection.
- While the service shuts down, \`/readyz\` and new work answer \`503 E_CLOSED\`; an image still
  unfinished when the grace period ends is answered \`503 E_CLOSED\` too (send it again).
`;
}
