/**
 * "Check an image": the user picks or drops a picture, the server reads Portoon's marks in it (POST
 * /api/v1/verify: the invisible watermark, Content Credentials, the XMP label) and the panel says in
 * words whether it was made with Portoon, and what each mark showed. The verdict is a polite live
 * region, so a screen reader hears it once it is known; failures are shown as an alert.
 */
import type { WatermarkReading } from '../../src/core/provenance/watermark.js';
import { ApiError, NETWORK_ERROR, toApiError } from './api.js';
import { h } from './dom.js';
import { isAbortError } from './sleep.js';
import { wireFileIntake } from './upload.js';
import { formatBytes } from './validate-file.js';

/** The body of POST /api/v1/verify (the fields the panel shows). */
export interface VerifyResult {
  marked: boolean;
  format: string;
  width: number;
  height: number;
  xmp: { present: boolean; digitalSourceType?: string; software?: string; version?: string; style?: string; id?: string };
  c2pa: { present: boolean; valid: boolean; status: string[]; claimGenerator?: string; signer?: string; error?: string };
  watermark: WatermarkReading;
  summary: string;
}

export interface VerifyPanelElements {
  /** The drop target around the button. */
  drop: HTMLElement;
  pick: HTMLButtonElement;
  input: HTMLInputElement;
  /** The verdict (a live region). */
  verdict: HTMLElement;
  /** A description list of the three findings. */
  findings: HTMLElement;
  error: HTMLElement;
}

const TRAINED_ALGORITHMIC_MEDIA = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
/** Codes about trust in the signer's certificate authority, not about the manifest's integrity. */
const TRUST_CODES = new Set(['signingCredential.untrusted', 'timeStamp.untrusted']);

/**
 * Sends one image to POST /api/v1/verify. Failures become ApiErrors with the server's code and words
 * (401 included, so the page can ask for a key and try again).
 */
export async function requestVerification(
  image: Blob,
  fileName: string,
  apiKey: string | null,
  signal?: AbortSignal,
): Promise<VerifyResult> {
  const form = new FormData();
  form.append('image', image, fileName);
  const headers = new Headers({ Accept: 'application/json' });
  if (apiKey) headers.set('Authorization', `Bearer ${apiKey}`);
  let response: Response;
  try {
    response = await fetch('/api/v1/verify', { method: 'POST', body: form, headers, signal: signal ?? null });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, NETWORK_ERROR, 'Could not reach the Portoon server. Check your connection and try again.');
  }
  if (response.ok) return (await response.json()) as VerifyResult;
  throw await toApiError(response);
}

export class VerifyPanel {
  private current: AbortController | null = null;

  constructor(
    private readonly elements: VerifyPanelElements,
    /** Checks a file with the server (asking for an API key when needed). */
    private readonly check: (file: File, signal: AbortSignal) => Promise<VerifyResult>,
    /** The server's upload limit. */
    private readonly maxUploadBytes: () => number,
  ) {
    const { drop, pick, input } = elements;
    wireFileIntake({ input, pickers: [pick], dropTargets: [drop] }, (file) => void this.take(file));
  }

  /** Checks one file; a file chosen meanwhile replaces it. */
  async take(file: File): Promise<void> {
    this.current?.abort();
    const controller = new AbortController();
    this.current = controller;
    this.clear();
    const name = `“${file.name}”`;
    if (file.size === 0) return this.fail(`${name} is empty.`);
    const limit = this.maxUploadBytes();
    if (file.size > limit) {
      return this.fail(`${name} is ${formatBytes(file.size)}; the limit is ${formatBytes(limit)}. Please choose a smaller image.`);
    }
    const { verdict, pick } = this.elements;
    verdict.dataset.state = 'checking';
    verdict.textContent = `Checking ${name}…`;
    pick.disabled = true;
    try {
      const result = await this.check(file, controller.signal);
      if (this.current === controller) this.show(file.name, result);
    } catch (error) {
      if (this.current !== controller || isAbortError(error)) return;
      this.clear();
      this.fail(error instanceof ApiError ? error.message : `Something went wrong in the page: ${String(error)}`, error);
    } finally {
      if (this.current === controller) {
        pick.disabled = false;
        this.current = null;
      }
    }
  }

  private clear(): void {
    const { verdict, findings, error } = this.elements;
    verdict.textContent = '';
    delete verdict.dataset.state;
    findings.hidden = true;
    findings.replaceChildren();
    error.hidden = true;
    error.replaceChildren();
    delete error.dataset.code;
  }

  private fail(message: string, cause?: unknown): void {
    const { error } = this.elements;
    error.replaceChildren(message);
    error.dataset.code = cause instanceof ApiError ? cause.code : 'E_CLIENT_CHECK';
    error.hidden = false;
  }

  private show(fileName: string, result: VerifyResult): void {
    const { verdict, findings } = this.elements;
    verdict.dataset.state = result.marked ? 'marked' : 'unmarked';
    verdict.replaceChildren(
      h('strong', { class: 'verify-verdict-title' }, result.marked ? 'Made with Portoon — AI-generated' : 'No Portoon mark found'),
      h(
        'span',
        { class: 'verify-verdict-note' },
        result.marked
          ? `“${fileName}” carries Portoon's provenance marks.`
          : `“${fileName}” carries none of Portoon's marks. That does not prove it was not made with AI: marks can be removed.`,
      ),
    );
    const rows: Array<[string, string, boolean]> = [
      ['Invisible watermark', describeWatermark(result.watermark), result.watermark.found],
      ['Content Credentials (C2PA)', describeC2pa(result.c2pa), result.c2pa.present && result.c2pa.valid],
      ['Metadata label (XMP)', describeXmp(result.xmp), result.xmp.digitalSourceType === TRAINED_ALGORITHMIC_MEDIA],
    ];
    findings.replaceChildren(...rows.flatMap(([term, text, found]) => [h('dt', {}, term), h('dd', { 'data-found': String(found) }, text)]));
    findings.hidden = false;
  }
}

function describeWatermark(watermark: WatermarkReading): string {
  if (!watermark.found) return 'Not found';
  return `Found: id ${watermark.id ?? '?'}, confidence ${Math.round(watermark.confidence * 100)}%`;
}

function describeC2pa(c2pa: VerifyResult['c2pa']): string {
  if (!c2pa.present) return 'None';
  if (c2pa.error !== undefined && !c2pa.valid) return `Present but unreadable (${c2pa.error})`;
  const by = c2pa.claimGenerator ? `made by ${c2pa.claimGenerator}` : 'made by an unnamed tool';
  const signer = c2pa.signer ? `, signed by ${c2pa.signer}` : '';
  if (c2pa.valid) return `Valid, ${by}${signer}`;
  const problems = c2pa.status.filter((code) => !TRUST_CODES.has(code));
  return `Not valid${problems.length > 0 ? ` (${problems.join(', ')})` : ''}, ${by}${signer}`;
}

function describeXmp(xmp: VerifyResult['xmp']): string {
  if (!xmp.present) return 'None';
  if (xmp.digitalSourceType === undefined) return 'Present, without a source type';
  if (xmp.digitalSourceType !== TRAINED_ALGORITHMIC_MEDIA) {
    return `Source type: ${xmp.digitalSourceType.slice(xmp.digitalSourceType.lastIndexOf('/') + 1)}`;
  }
  const software = [xmp.software, xmp.version].filter((part) => part !== undefined).join(' ');
  const details = [software ? `by ${software}` : '', xmp.style !== undefined ? `style ${xmp.style}` : ''].filter(Boolean);
  return `AI-generated${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
}
