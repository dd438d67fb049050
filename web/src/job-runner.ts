/**
 * Runs one full-size render through the async job API: submit (a photo or a video), poll the job's
 * progress (per stage, or in frames), then fetch the result. Aborting the signal cancels the job on
 * the server too, so a cancelled render stops using a worker.
 */
import type { PublicJobStatus } from '../../src/core/job.js';
import { ApiError, type ApiClient, type BusyListener, type ImageResult } from './api.js';
import { sleep } from './sleep.js';

export interface JobListeners {
  /** Each status polled, for the progress display. */
  onStatus: (status: PublicJobStatus) => void;
  /** The server's queue is full; the submission is retried after `seconds`. */
  onBusy: BusyListener;
}

export interface JobOutcome {
  result: ImageResult;
  status: PublicJobStatus;
}

/** Sends the upload and answers with the new job (ApiClient.createJob or createVideoJob). */
export type SubmitJob = (signal: AbortSignal, onBusy: BusyListener) => Promise<PublicJobStatus>;

export async function runJob(api: ApiClient, submit: SubmitJob, listeners: JobListeners, signal: AbortSignal): Promise<JobOutcome> {
  const job = await submit(signal, listeners.onBusy);
  const cancel = (): void => void api.cancelJob(job.id).catch(() => undefined);
  signal.addEventListener('abort', cancel, { once: true });
  try {
    for (let polls = 0; ; polls++) {
      const status = await api.job(job.id, signal);
      listeners.onStatus(status);
      if (status.state === 'completed') {
        signal.removeEventListener('abort', cancel);
        return { result: await api.jobResult(job.id, signal), status };
      }
      if (status.state === 'failed') {
        const error = status.error ?? { code: 'E_INTERNAL', message: 'The render failed.' };
        throw new ApiError(200, error.code, error.message);
      }
      if (status.state === 'cancelled') throw new DOMException('The render was cancelled.', 'AbortError');
      // Quick polls at first (most renders take a second or two), then back off.
      await sleep(Math.min(1000, 150 + polls * 50), signal);
    }
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}
