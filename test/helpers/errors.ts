/** Helpers for asserting on Portoon's typed errors. */
import { expect } from 'vitest';
import { PortoonError } from '../../src/core/errors.js';

/** The PortoonError `fn` throws; fails the test when it throws something else or nothing. */
export function errorOf(fn: () => unknown): PortoonError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PortoonError);
    return error as PortoonError;
  }
  throw new Error('expected a PortoonError');
}

/** The PortoonError `promise` rejects with; fails the test when it resolves or rejects with something else. */
export async function rejection(promise: Promise<unknown>): Promise<PortoonError> {
  const error = await promise.then(
    () => new Error('expected a rejection, but it resolved'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PortoonError);
  return error as PortoonError;
}
