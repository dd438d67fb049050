/** The package's name and version, read once from package.json (works from src/ and dist/). */
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };

export const SOFTWARE_NAME = 'Portoon';
export const VERSION: string = pkg.version;
