/**
 * Throwaway signing credentials for C2PA tests, made with the system `openssl` (run without a shell):
 * a root CA and an end-entity certificate it issues with the extensions the C2PA certificate profile
 * asks for (digitalSignature key usage, an email-protection / document-signing extended key usage,
 * not a CA, an O and a CN in the subject). C2PA rejects a self-signed end-entity certificate, hence
 * the two levels. The certificate file holds the chain, end-entity first, then the CA.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The kinds of signing key C2PA allows that these helpers can make. */
export type TestKeyType = 'ec-p256' | 'ec-p384' | 'ed25519' | 'rsa-pss';

export interface TestCertificates {
  /** PEM: the end-entity certificate, then the CA certificate. */
  certificatePath: string;
  /** PEM (PKCS#8): the end-entity's private key. */
  privateKeyPath: string;
  /** PEM: the root CA certificate alone (a trust anchor for readers that check trust). */
  caPath: string;
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args, { timeout: 30_000 });
}

/** Writes a new private key of `type` (PKCS#8 PEM) to `path`. */
export async function makeKey(path: string, type: TestKeyType = 'ec-p256'): Promise<void> {
  const args: Record<TestKeyType, string[]> = {
    'ec-p256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    'ec-p384': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
    ed25519: ['-algorithm', 'ED25519'],
    'rsa-pss': ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048'],
  };
  await openssl(['genpkey', ...args[type], '-out', path]);
}

const CA_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
O = Portoon Test Authority
CN = Portoon Test Root CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`;

const SIGNER_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
C = US
O = Portoon Test
CN = Portoon Test Signer
[signer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection, 1.3.6.1.5.5.7.3.36
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

/**
 * Makes a root CA (EC P-256) and a signing certificate it issues for a new key of `keyType`, in
 * `dir`, valid from now for 30 days.
 */
export async function makeTestCertificates(dir: string, keyType: TestKeyType = 'ec-p256'): Promise<TestCertificates> {
  const caKey = join(dir, 'ca.key');
  const caPath = join(dir, 'ca.pem');
  const caConfig = join(dir, 'ca.cnf');
  const privateKeyPath = join(dir, 'signer.key');
  const signerConfig = join(dir, 'signer.cnf');
  const csr = join(dir, 'signer.csr');
  const signerCert = join(dir, 'signer-only.pem');
  const certificatePath = join(dir, 'signer-chain.pem');
  await writeFile(caConfig, CA_CONFIG);
  await writeFile(signerConfig, SIGNER_CONFIG);

  await makeKey(caKey, 'ec-p256');
  await openssl([
    'req',
    '-x509',
    '-new',
    '-config',
    caConfig,
    '-extensions',
    'ca',
    '-key',
    caKey,
    '-sha256',
    '-days',
    '30',
    '-out',
    caPath,
  ]);

  await makeKey(privateKeyPath, keyType);
  await openssl(['req', '-new', '-config', signerConfig, '-key', privateKeyPath, '-out', csr]);
  const serial = `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caPath,
    '-CAkey',
    caKey,
    '-set_serial',
    serial,
    '-sha256',
    '-days',
    '30',
    '-extfile',
    signerConfig,
    '-extensions',
    'signer',
    '-out',
    signerCert,
  ]);

  const chain = `${(await readFile(signerCert, 'utf8')).trim()}\n${(await readFile(caPath, 'utf8')).trim()}\n`;
  await writeFile(certificatePath, chain);
  return { certificatePath, privateKeyPath, caPath };
}
