// Uploads as a browser sends them: a body of a given size with its Content-Length, written as
// fast as the connection takes it (one 1 MiB chunk sent again and again, so 64 uploads of
// 100 MB cost the test no memory), and the answer read whole.
import * as http from 'node:http';

export interface UploadResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** From the first byte sent to the last byte of the answer. */
  ms: number;
}

export interface UploadOptions {
  host: string;
  path?: string;
  bytes: number;
  /** Send this many bytes, then wait for `release` before the rest. @default all at once */
  holdAfter?: number;
  release?: Promise<void>;
  timeoutMs?: number;
}

const CHUNK = Buffer.alloc(1024 * 1024, 'v');

/** POSTs `bytes` bytes to 127.0.0.1:port; resolves with the answer, even one sent before the body ended (a 413, a 503). */
export function upload(port: number, opts: UploadOptions): Promise<UploadResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: opts.path ?? '/upload',
        headers: { Host: opts.host, 'Content-Type': 'application/octet-stream', 'Content-Length': String(opts.bytes) },
        agent: false,
        timeout: opts.timeoutMs ?? 120_000,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started });
          req.destroy(); // an early answer: the rest of the body is not wanted
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`upload timed out after ${opts.timeoutMs ?? 120_000} ms`)));
    req.on('error', (e) => {
      if (!answered) reject(e);
    });

    let sent = 0;
    const write = (until: number): Promise<void> =>
      new Promise((done) => {
        const next = () => {
          while (sent < until && !answered && !req.destroyed) {
            const size = Math.min(CHUNK.length, until - sent);
            sent += size;
            if (!req.write(size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size))) return void req.once('drain', next);
          }
          done();
        };
        next();
      });
    void (async () => {
      if (opts.holdAfter !== undefined) {
        await write(opts.holdAfter);
        await opts.release;
      }
      await write(opts.bytes);
      if (!answered && !req.destroyed) req.end();
    })();
  });
}

/** Bytes of an nginx size like `100m`, `512k` or `1g`. */
export function nginxSizeBytes(size: string): number {
  const m = /^([0-9]+)([kmg]?)$/.exec(size);
  if (!m) throw new Error(`not an nginx size: ${size}`);
  return Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2] as '' | 'k' | 'm' | 'g'];
}
