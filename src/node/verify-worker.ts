/**
 * A thread of the verification pool: reads one image's provenance marks (`verifyImage`) off the
 * service's event loop. Errors cross back serialized, like the engine workers' do.
 */
import { toPortoonError, type SerializedError } from '../core/errors.js';
import { verifyImage, type VerifyOptions, type VerifyReport } from './verify.js';

export interface VerifyTask {
  bytes: Uint8Array;
  options: VerifyOptions;
}

export type VerifyTaskResult = { ok: true; report: VerifyReport } | { ok: false; error: SerializedError };

export default async function runVerify(task: VerifyTask): Promise<VerifyTaskResult> {
  try {
    return { ok: true, report: await verifyImage(task.bytes, task.options) };
  } catch (error) {
    return { ok: false, error: toPortoonError(error).toJSON() };
  }
}
