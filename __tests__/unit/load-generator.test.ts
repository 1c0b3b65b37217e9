// The e2e load generator decides what "no failed request" means, so it is tested itself, against
// loopback servers that misbehave on purpose: it may resend a GET only after the keep-alive race.
import * as net from 'node:net';

import { Load } from '../support/http';

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n';

/**
 * A raw HTTP server that answers request number `n` on a connection by `answer(n)`: the
 * response text, or 'reset' to drop the connection with no response.
 */
async function rawServer(answer: (nthOnConnection: number) => string): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let n = 0;
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
        const reply = answer(++n);
        if (reply === 'reset') {
          socket.resetAndDestroy();
          return;
        }
        socket.write(reply);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const run = async (port: number, ms: number) => {
  const load = new Load(port, 'wayshub.test', 50);
  await new Promise((r) => setTimeout(r, ms));
  return load.stop();
};

describe('the e2e load generator', () => {
  test('a GET that lost the keep-alive race is resent once on a new connection, and counts as ok', async () => {
    // Every connection answers its first request and drops the second: the race, every time.
    const server = await rawServer((n) => (n === 1 ? OK : 'reset'));
    try {
      const report = await run(server.port, 600);
      expect(report.sent).toBeGreaterThan(10);
      expect(report.failures).toEqual([]);
      expect(report.ok).toBe(report.sent);
      expect(report.resent).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  test('a request dropped on a new connection is a failure, not resent', async () => {
    const server = await rawServer(() => 'reset');
    try {
      const report = await run(server.port, 300);
      expect(report.sent).toBeGreaterThan(5);
      expect(report.ok).toBe(0);
      expect(report.failed).toBe(report.sent);
      expect(report.resent).toBe(0);
      expect(report.failures[0]).toMatch(/socket hang up|ECONNRESET/);
    } finally {
      await server.close();
    }
  });

  test('a resent GET that fails again is a failure', async () => {
    // Connections after the first drop every request: the resend finds the server still broken.
    let connections = 0;
    const server = await rawServer((n) => {
      if (n === 1) connections++;
      return n === 1 && connections === 1 ? OK : 'reset';
    });
    try {
      const report = await run(server.port, 300);
      expect(report.resent).toBeGreaterThan(0);
      expect(report.failed).toBeGreaterThan(0);
      expect(report.ok).toBe(1);
    } finally {
      await server.close();
    }
  });
});
