/**
 * Where a distributed queue keeps job payloads: uploads waiting for a worker, and results waiting for
 * their client. Redis carries only references (keys); the bytes live here, so Redis memory does not
 * grow with images and videos. Two implementations: a folder every node mounts (the default), and an
 * S3-compatible bucket for nodes on several hosts.
 *
 * Keys are relative, slash-separated names such as `inputs/<job id>` or `results/<job id>.png`: letters,
 * digits, `-`, `_`, `.` and `/`, no empty, `.` or `..` segment, at most 512 characters. Any other key is
 * refused with E_BAD_OPTION before the store is touched.
 */

/** A local file holding a blob's bytes, for as long as the caller needs it. */
export interface LocalBlob {
  /** An absolute path on this machine. */
  readonly path: string;
  /** Removes the local copy when one was made (a download); the stored blob itself stays. */
  release(): Promise<void>;
}

export interface BlobStore {
  /** What and where, for logs and health reports; never a credential (e.g. `fs:/srv/portoon/blobs`, `s3://bucket/prefix`). */
  readonly description: string;
  /**
   * A new local path where a file meant for this store can be written (a worker's output). For a
   * folder store it lies inside the store's folder, so `putFile(key, path, { move: true })` is a rename.
   */
  scratchPath(extension?: string): string;
  /**
   * Stores a local file under `key`, replacing a blob stored under it before. The blob appears whole
   * or not at all: a reader never sees a partial file, even if this process dies while writing.
   * @param options.move the local file is taken over (renamed when it can be, else copied and removed);
   *   without it the file is left as it is.
   * @returns the blob's size in bytes.
   */
  putFile(key: string, file: string, options?: { move?: boolean }): Promise<number>;
  /** Stores bytes under `key` (whole or not at all); returns the size. */
  putBytes(key: string, bytes: Uint8Array): Promise<number>;
  /**
   * A local file with the blob's bytes: the stored file itself for a folder store (no copy), a
   * download into `scratchDir` for a remote one.
   * @returns undefined when there is no blob under `key`.
   */
  localCopy(key: string, scratchDir: string): Promise<LocalBlob | undefined>;
  /** The blob's size in bytes, or undefined when there is none. */
  size(key: string): Promise<number | undefined>;
  /** Removes a blob; a missing one is fine (already removed). */
  delete(key: string): Promise<void>;
  /**
   * Keys under `prefix` (e.g. `inputs/`) whose blobs were last written before `before` (ms since the
   * epoch): what a sweeper removes when nothing refers to them any more.
   */
  listOlderThan(prefix: string, before: number): Promise<string[]>;
  /**
   * Proves the store works now: writes, reads back and removes a small probe blob.
   * @throws PortoonError E_BLOB_STORE naming the store and what failed.
   */
  check(): Promise<void>;
  /** Releases connections; a store made on a private temporary folder removes it. */
  close(): Promise<void>;
}
