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
