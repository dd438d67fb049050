/** HTTP helpers for tests that talk to a listening service over a real socket. */
import { randomBytes } from 'node:crypto';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A `POST /api/v1/cartoon` form for `fetch`: the text fields first, then the photo in the field "image". */
export function cartoonForm(photo: Buffer, fields: Record<string, string>, filename = 'photo.jpg'): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('image', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), filename);
  return form;
}

/**
 * A hand-made multipart/form-data body, split around the file's bytes so callers can stream (or
 * trickle) the file themselves: send `head`, then the file, then `tail`.
 */
export interface MultipartFrame {
  contentType: string;
  head: Buffer;
  tail: Buffer;
}

export function multipartFrame(fields: Record<string, string>, filename = 'photo.jpg', fileType = 'image/jpeg'): MultipartFrame {
  const boundary = `----portoon-test-${randomBytes(8).toString('hex')}`;
  const text = Object.entries(fields)
    .map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
    .join('');
  const file = `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="${filename}"\r\nContent-Type: ${fileType}\r\n\r\n`;
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    head: Buffer.from(text + file, 'utf8'),
    tail: Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'),
  };
}

/** `n` random bytes that start like a JPEG file (SOI + APP0 marker). */
export function fakeJpeg(n: number): Buffer {
  const bytes = randomBytes(n);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]).copy(bytes, 0);
  return bytes;
}

/** Runs `task(0..count-1)` with at most `concurrency` running at once; results in index order. */
export async function promisePool<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await task(index);
      }
    }),
  );
  return results;
}

/** The value of one Prometheus sample (`name{labels} value`), or undefined when the line is absent. */
export function metricValue(metrics: string, sample: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

/** Nearest-rank percentile (0..100) of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
