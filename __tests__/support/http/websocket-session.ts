// A WebSocket that stays open through the proxy, as a chat or live view would: it sends a
// message every few hundred milliseconds, counts the echoes, and records how it ends (a close
// frame and its code, or the connection simply cut).
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { Socket } from 'node:net';

export interface WebSocketReport {
  /** The replica that accepted the upgrade (its X-Replica header). */
  replica: string;
  sent: number;
  echoed: number;
  /** The code of the server's close frame; undefined when the connection ended without one. */
  closeCode?: number;
  /** Milliseconds from open to the end of the connection; undefined while it is open. */
  closedAfterMs?: number;
  /** The longest wait for an echo. */
  maxEchoMs: number;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export class WebSocketSession {
  readonly report: WebSocketReport = { replica: '', sent: 0, echoed: 0, maxEchoMs: 0 };
  /** Resolves when the connection has ended, however it ended. */
  readonly ended: Promise<WebSocketReport>;
  private readonly sentAt: number[] = [];
  private timer?: NodeJS.Timeout;
  private buffered = Buffer.alloc(0);
  private onEcho?: (text: string) => void;

  private constructor(
    private readonly socket: Socket,
    replica: string,
    intervalMs: number,
  ) {
    const opened = Date.now();
    this.report.replica = replica;
    this.ended = new Promise((resolve) => {
      const end = () => {
        clearInterval(this.timer);
        this.report.closedAfterMs ??= Date.now() - opened;
        resolve(this.report);
      };
      socket.on('close', end);
      socket.on('error', () => socket.destroy());
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    if (intervalMs > 0) this.timer = setInterval(() => this.send(), intervalMs);
  }

  /** Opens ws://<host><path> through 127.0.0.1:port and sends a message every intervalMs (0: none). */
  static open(port: number, host: string, path: string, intervalMs = 250): Promise<WebSocketSession> {
    return new Promise((resolve, reject) => {
      const key = crypto.randomBytes(16).toString('base64');
      const req = http.request({
        host: '127.0.0.1',
        port,
        path,
        headers: { Host: host, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key },
        timeout: 10_000,
      });
      req.on('timeout', () => req.destroy(new Error('WebSocket handshake timed out')));
      req.on('error', reject);
      req.on('response', (res) => reject(new Error(`expected 101 Switching Protocols, got ${res.statusCode}`)));
      req.on('upgrade', (res, socket) => {
        const accept = crypto.createHash('sha1').update(`${key}${GUID}`).digest('base64');
        if (res.headers['sec-websocket-accept'] !== accept) {
          socket.destroy();
          reject(new Error('bad Sec-WebSocket-Accept'));
          return;
        }
        resolve(new WebSocketSession(socket, String(res.headers['x-replica'] ?? ''), intervalMs));
      });
      req.end();
    });
  }

  /** Closes from this side (1000) and waits for the end. */
  async close(): Promise<WebSocketReport> {
    clearInterval(this.timer);
    if (!this.socket.destroyed) this.socket.end(maskedFrame(0x8, Buffer.from([0x03, 0xe8])));
    return this.ended;
  }

  /** Sends one text message and resolves with the next text the server sends. */
  echo(message: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.onEcho = resolve;
      void this.ended.then(() => reject(new Error('the WebSocket ended before the echo')));
      this.send(message);
    });
  }

  private send(message = `message ${this.report.sent + 1}`): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.sentAt.push(Date.now());
    this.report.sent++;
    this.socket.write(maskedFrame(0x1, Buffer.from(message)));
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const frame = serverFrame(this.buffered);
      if (!frame) return;
      this.buffered = this.buffered.subarray(frame.length);
      if (frame.opcode === 0x1) {
        this.report.echoed++;
        const at = this.sentAt.shift();
        if (at !== undefined) this.report.maxEchoMs = Math.max(this.report.maxEchoMs, Date.now() - at);
        this.onEcho?.(frame.payload.toString('utf8'));
        this.onEcho = undefined;
      } else if (frame.opcode === 0x8) {
        this.report.closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
        clearInterval(this.timer);
        // Answer the close, as RFC 6455 section 5.5.1 asks, and hang up.
        this.socket.end(maskedFrame(0x8, frame.payload.subarray(0, 2)));
      }
    }
  }
}

/** A masked client frame (clients must mask, RFC 6455 section 5.3); short payloads only. */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  if (payload.length > 125) throw new Error(`a test WebSocket message of ${payload.length} bytes: at most 125`);
  const mask = crypto.randomBytes(4);
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]))]);
}

/** One whole unmasked server frame at the start of buf, or undefined until it has arrived. */
function serverFrame(buf: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (buf.length < 2) return undefined;
  let len = buf[1] & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    offset = 4;
  }
  if (buf.length < offset + len) return undefined;
  return { opcode: buf[0] & 0x0f, payload: buf.subarray(offset, offset + len), length: offset + len };
}
