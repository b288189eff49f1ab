import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files made at test time with `openssl`: a CA, a server certificate it signed, a client certificate it signed, and a CA that signed neither. */
export interface TestCertificates {
  dir: string;
  caFile: string;
  /** Names `localhost` and `127.0.0.1`. */
  serverCert: string;
  serverKey: string;
  /** For `clientAuth`, signed by the same CA. */
  clientCert: string;
  clientKey: string;
  /** A CA that signed none of the above (a client trusting only it rejects the server). */
  otherCaFile: string;
  close(): Promise<void>;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir, timeout: 30_000 });
}

/** A self-signed CA (P-256 keys: fast to make). */
async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=bb-reaper test ${name}`);
}

/** A key and a certificate signed by `ca`, with the given extensions. */
async function makeSigned(dir: string, name: string, ca: string, subject: string, ext: string): Promise<void> {
  await writeFile(join(dir, `${name}.ext`), ext);
  await openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  await openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
}

/** Generates the certificates in a temporary directory; `close()` deletes it. */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'bb-reaper-tls-'));
  try {
    await makeCa(dir, 'ca');
    await makeCa(dir, 'other-ca');
    await makeSigned(dir, 'server', 'ca', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    await makeSigned(dir, 'client', 'ca', '/CN=bb-reaper-client', 'extendedKeyUsage=clientAuth\n');
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const f = (n: string) => join(dir, n);
  return {
    dir,
    caFile: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    otherCaFile: f('other-ca.crt'),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
