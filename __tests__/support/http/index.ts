// A small HTTP and WebSocket client for the end-to-end tests: requests with a chosen Host
// header, a steady load generator that counts failures, and WebSockets (websocket-session.ts).
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';

import { WebSocketSession } from './websocket-session';

export { WebSocketSession, type WebSocketReport } from './websocket-session';

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  /** The Host header: which site nginx picks. */
  host: string;
  body?: Buffer;
  agent?: http.Agent;
  timeoutMs?: number;
  /** HTTPS with SNI for `host`, trusting only this CA (PEM). */
  ca?: string;
  /** Where the proxy listens. @default 127.0.0.1 */
  address?: string;
}

/** A request that failed before any response. */
export interface RequestError extends NodeJS.ErrnoException {
  /** It went out on a kept-alive connection that the server may have been closing. */
  reusedSocket?: boolean;
}

/**
 * The keep-alive race (RFC 9112 section 9.3.1): the server closed an idle connection (nginx
 * does on every reload) just as the client sent on it. Browsers resend such a GET, and so do
 * Node's own docs (request.reusedSocket); a fresh connection that fails is a real failure.
 */
export function isStaleKeepAlive(e: unknown): boolean {
  const err = e as RequestError;
  return err?.reusedSocket === true && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
}

/** One request to the proxy on 127.0.0.1:port (or address:port). Rejects on a network error or timeout. */
export function request(port: number, opts: RequestOptions): Promise<Response> {
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = (opts.ca ? https : http).request(
      {
        ...(opts.ca ? { ca: opts.ca, servername: opts.host } : {}),
        host: opts.address ?? '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: { Host: opts.host, ...(opts.body ? { 'Content-Length': String(opts.body.length) } : {}) },
        agent: opts.agent ?? false,
        timeout: opts.timeoutMs ?? 10_000,
      },
      (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request timed out after ${opts.timeoutMs ?? 10_000} ms`)));
    req.on('error', (e: RequestError) => {
      if (!responded) e.reusedSocket = req.reusedSocket;
      reject(e);
    });
    req.end(opts.body);
  });
}

/** Polls until `check` passes or the time is up; returns how long it took in ms. */
export async function waitFor(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<number> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < timeoutMs) {
    try {
      if (await check()) return Date.now() - start;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last instanceof Error ? String(last) : JSON.stringify(last)})` : ''}`,
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Which replicas answered GET / within `ms`, by sending requests until all `expected` are seen. */
export async function replicasAnswering(port: number, host: string, expected: readonly string[], ms: number): Promise<number> {
  const seen = new Set<string>();
  return waitFor(`replicas ${expected.join(', ')} to answer through the proxy`, ms, async () => {
    const r = await request(port, { host, timeoutMs: 2000 });
    if (r.status === 200) seen.add(r.body.trim());
    return expected.every((name) => seen.has(name));
  });
}

export interface LoadReport {
  sent: number;
  ok: number;
  failed: number;
  /** First few failures, for the assertion message. */
  failures: string[];
  /** Requests resent once on a fresh connection after the keep-alive race (isStaleKeepAlive). */
  resent: number;
  /** Successful responses per replica (the body of each answer: the test app answers GET / with its name). */
  byReplica: Record<string, number>;
  /** Answers per HTTP status. */
  byStatus: Record<number, number>;
  seconds: number;
  /** The slowest answer, in milliseconds (a resent GET counts from its first try). */
  maxLatencyMs: number;
}

/** Kept-alive connections a Load opens at most: a reload can close each of them once. */
export const LOAD_CONNECTIONS = 16;

export interface LoadOptions {
  /** Over HTTPS, trusting this CA. */
  ca?: string;
  /** The path of every request. @default / */
  path?: string;
  /** POST this body instead of a GET, each on a new connection, never resent. @default GET */
  post?: Buffer;
  /** Where the proxy listens. @default 127.0.0.1 */
  address?: string;
  /** The status an answer must have to count as ok, e.g. 201 for a POST that creates; or several. @default 200 */
  okStatus?: number | readonly number[];
}

/**
 * Sends requests at a steady rate until stopped and counts every failure (network error,
 * timeout or another status than okStatus). GETs go over keep-alive connections like a browser's and, like a
 * browser, a GET is resent once, on a new connection, when it lost the keep-alive race. POSTs
 * go on new connections and are never resent: a lost POST is a failure.
 */
export class Load {
  private readonly report: LoadReport = { sent: 0, ok: 0, failed: 0, failures: [], resent: 0, byReplica: {}, byStatus: {}, seconds: 0, maxLatencyMs: 0 };
  private readonly agent: http.Agent;
  private readonly inflight = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private readonly started = Date.now();

  constructor(
    private readonly port: number,
    private readonly host: string,
    perSecond: number,
    private readonly options: LoadOptions = {},
  ) {
    const agentOptions = { keepAlive: options.post === undefined, maxSockets: options.post === undefined ? LOAD_CONNECTIONS : Infinity };
    this.agent = options.ca ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.timer = setInterval(() => this.fire(), 1000 / perSecond);
  }

  private fire(): void {
    this.report.sent++;
    const sentAt = Date.now();
    const { ca, path = '/', post, address } = this.options;
    const opts: RequestOptions = { host: this.host, path, timeoutMs: 15_000, ca, address, ...(post ? { method: 'POST', body: post } : {}) };
    const p = request(this.port, { ...opts, agent: this.agent })
      .catch((e: unknown) => {
        if (post || !isStaleKeepAlive(e)) throw e;
        this.report.resent++;
        return request(this.port, opts);
      })
      .then((r) => {
        this.report.maxLatencyMs = Math.max(this.report.maxLatencyMs, Date.now() - sentAt);
        this.report.byStatus[r.status] = (this.report.byStatus[r.status] ?? 0) + 1;
        if ([this.options.okStatus ?? 200].flat().includes(r.status)) {
          this.report.ok++;
          const replica = r.body.trim();
          this.report.byReplica[replica] = (this.report.byReplica[replica] ?? 0) + 1;
        } else {
          this.fail(`HTTP ${r.status}: ${r.body.slice(0, 80)}`);
        }
      })
      .catch((e: unknown) => this.fail(String(e)))
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private fail(why: string): void {
    this.report.failed++;
    if (this.report.failures.length < 5) this.report.failures.push(`${((Date.now() - this.started) / 1000).toFixed(1)}s ${why}`);
  }

  /** Stops sending, waits for the requests still under way, and reports. */
  async stop(): Promise<LoadReport> {
    clearInterval(this.timer);
    await Promise.all([...this.inflight]);
    this.agent.destroy();
    this.report.seconds = (Date.now() - this.started) / 1000;
    return this.report;
  }
}

/** Opens a WebSocket through the proxy, sends one text message and returns the echo. */
export async function webSocketEcho(port: number, host: string, path: string, message: string): Promise<string> {
  const ws = await WebSocketSession.open(port, host, path, 0);
  try {
    return await ws.echo(message);
  } finally {
    await ws.close();
  }
}

/** A TCP port nothing listens on right now, for a published port of a test deployment. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** The certificate a TLS server presents for `servername` (not verified). */
export function peerCertificate(port: number, servername: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}
export { expectNoFailures, startLoads, stopLoads } from './scenario-loads';
