/**
 * A real S3-compatible HTTP server for tests: @20minutes/s3rver, in this process, on a free loopback
 * port, keeping objects as files in a fresh folder under test-output. The S3 store is tested over
 * HTTP with real signatures, listings and errors, not against a mock of the SDK.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import S3rver from '@20minutes/s3rver';
import { TEST_OUTPUT_DIR } from './env.js';

export interface S3Server {
  /** e.g. http://127.0.0.1:40123 */
  endpoint: string;
  /** Where the server keeps buckets and objects as files (tests may look, never write). */
  directory: string;
  /** A bucket that exists, created at start. */
  bucket: string;
  /** The only key pair s3rver knows (it checks the key id, not the signature: see below). */
  accessKeyId: string;
  secretAccessKey: string;
  /** Closes the server (and its open connections) and removes its folder. */
  stop(): Promise<void>;
}

let started = 0;

export async function startS3Server(): Promise<S3Server> {
  started += 1;
  const directory = join(TEST_OUTPUT_DIR, `s3-${process.pid}-${started}`);
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  const bucket = 'portoon-test';
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    // Path-style requests only: a request's Host is never taken for a bucket name.
    vhostBuckets: false,
    // s3rver 4.0.4 signs a bucket-level request (ListObjectsV2: GET /bucket/?list-type=2) over the
    // path "/bucket", while the AWS SDK v3 signs the path it sends, "/bucket/": every listing would
    // fail with SignatureDoesNotMatch. So signatures are not compared; the access key id still is
    // (an unknown one fails with InvalidAccessKeyId).
    allowMismatchedSignatures: true,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    directory,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    stop: async () => {
      // Clients keep connections alive; close() alone would wait for them to time out.
      server.httpServer?.closeAllConnections();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
