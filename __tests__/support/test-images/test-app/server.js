'use strict';
// Backend replica for the end-to-end tests. Dependency-free on purpose: it runs
// on Debian's nodejs inside an image built without npm (see ../images.ts).

const crypto = require('crypto');
const http = require('http');
const os = require('os');

const PORT = Number(process.env.PORT || 3000);
const REPLICA = os.hostname(); // the stack sets the hostname to the container name
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const WS_MAX_MESSAGE = 16 * 1024 * 1024;
const MAX_SLOW_MS = 120000;
// What SIGTERM does: "exit" (the default) cuts every connection and exits at once, like an app
// with no drain of its own; "graceful" finishes the requests in flight (see shutdown below);
// "none" installs no handler, as wayshub-backend (Node as PID 1 then ignores SIGTERM).
const ON_SIGTERM = ['graceful', 'none'].includes(process.env.ON_SIGTERM) ? process.env.ON_SIGTERM : 'exit';
// The stack tells each replica how long it has between SIGTERM and SIGKILL.
const DRAIN_SECONDS = Number(process.env.WAYSHUB_DRAIN_SECONDS) || 10;
let draining = false;

function send(res, status, body, contentType) {
  res.writeHead(status, {
    'Content-Type': contentType || 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Replica': REPLICA,
    // While draining, no request may follow on this connection: the proxy opens a new one elsewhere.
    ...(draining ? { Connection: 'close' } : {}),
  });
  res.end(body);
}

function slowMs(url) {
  return Math.min(Math.max(Number(url.searchParams.get('ms')) || 0, 0), MAX_SLOW_MS);
}

function handle(req, res) {
  const url = new URL(req.url || '/', 'http://localhost');

  if (req.method === 'POST') {
    // Count the bytes as they stream in: 5 MB uploads must not be buffered. POST /slow?ms=N
    // answers N ms after the body has arrived.
    let bytes = 0;
    req.on('data', (chunk) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      const answer = () => send(res, 200, JSON.stringify({ bytes, replica: REPLICA }), 'application/json');
      if (url.pathname !== '/slow') return answer();
      const timer = setTimeout(answer, slowMs(url));
      res.on('close', () => clearTimeout(timer));
    });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed\n');
    return;
  }
  switch (url.pathname) {
    case '/':
      send(res, 200, REPLICA);
      return;
    case '/healthz':
      send(res, 200, 'ok');
      return;
    case '/headers':
      send(res, 200, JSON.stringify(req.headers), 'application/json');
      return;
    case '/slow': {
      const timer = setTimeout(() => send(res, 200, REPLICA), slowMs(url));
      res.on('close', () => clearTimeout(timer));
      return;
    }
    default:
      send(res, 404, 'not found\n');
  }
}

// --- WebSocket echo (RFC 6455), just enough for proxy tests -----------------

function encodeFrame(opcode, payload) {
  const len = payload.length;
  let header;
  if (len < 126) {
    header = Buffer.from([0x80 | opcode, len]);
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([header, payload]);
}

function closeWith(socket, code) {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code, 0);
  socket.end(encodeFrame(0x8, payload));
}

function echoWebSocket(socket, head) {
  let buffered = head.length > 0 ? Buffer.from(head) : Buffer.alloc(0);
  let fragments = [];
  let fragmentsOpcode = 0;
  let fragmentsLength = 0;

  // Returns null until a whole frame is buffered, { error } on a protocol violation.
  function parseFrame() {
    if (buffered.length < 2) return null;
    const fin = (buffered[0] & 0x80) !== 0;
    const opcode = buffered[0] & 0x0f;
    const masked = (buffered[1] & 0x80) !== 0;
    let length = buffered[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buffered.length < 4) return null;
      length = buffered.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buffered.length < 10) return null;
      const big = buffered.readBigUInt64BE(2);
      if (big > BigInt(WS_MAX_MESSAGE)) return { error: 1009 };
      length = Number(big);
      offset = 10;
    }
    if (!masked) return { error: 1002 }; // clients must mask (RFC 6455 5.1)
    if (length > WS_MAX_MESSAGE) return { error: 1009 };
    if (buffered.length < offset + 4 + length) return null;
    const mask = buffered.subarray(offset, offset + 4);
    const payload = Buffer.from(buffered.subarray(offset + 4, offset + 4 + length));
    for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
    buffered = buffered.subarray(offset + 4 + length);
    return { fin, opcode, payload };
  }

  function onFrame(frame) {
    switch (frame.opcode) {
      case 0x8: // close: echo the status code back, then hang up
        socket.end(encodeFrame(0x8, frame.payload.subarray(0, 2)));
        return false;
      case 0x9: // ping
        socket.write(encodeFrame(0xa, frame.payload));
        return true;
      case 0xa: // pong
        return true;
      case 0x0:
      case 0x1:
      case 0x2: {
        if (frame.opcode !== 0x0) fragmentsOpcode = frame.opcode;
        fragments.push(frame.payload);
        fragmentsLength += frame.payload.length;
        if (fragmentsLength > WS_MAX_MESSAGE) {
          closeWith(socket, 1009);
          return false;
        }
        if (frame.fin) {
          socket.write(encodeFrame(fragmentsOpcode, Buffer.concat(fragments)));
          fragments = [];
          fragmentsLength = 0;
        }
        return true;
      }
      default:
        closeWith(socket, 1002);
        return false;
    }
  }

  function drain() {
    for (;;) {
      const frame = parseFrame();
      if (frame === null) return;
      if ('error' in frame) {
        closeWith(socket, frame.error);
        socket.removeListener('data', onData);
        return;
      }
      if (!onFrame(frame)) {
        socket.removeListener('data', onData);
        return;
      }
    }
  }

  function onData(chunk) {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    drain();
  }

  socket.on('data', onData);
  drain();
}

function upgrade(req, socket, head) {
  socket.on('error', () => socket.destroy());
  const key = req.headers['sec-websocket-key'];
  const isWebSocket = String(req.headers.upgrade || '').toLowerCase() === 'websocket';
  if (new URL(req.url || '/', 'http://localhost').pathname !== '/ws' || !isWebSocket || !key) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const accept = crypto
    .createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n` +
      `X-Replica: ${REPLICA}\r\n\r\n`,
  );
  socket.setNoDelay(true);
  webSockets.add(socket);
  socket.on('close', () => webSockets.delete(socket));
  echoWebSocket(socket, head);
  console.log(`WS ${req.url} 101`);
}

// --- server ------------------------------------------------------------------

const server = http.createServer((req, res) => {
  const started = Date.now();
  res.on('finish', () => console.log(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`));
  handle(req, res);
});
// Longer than nginx's upstream keepalive_timeout (60 s): otherwise Node (5 s by
// default) closes idle connections nginx is about to reuse, and nginx answers 502.
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;
server.on('upgrade', upgrade);

// Track every socket (upgraded ones included) so SIGTERM can end them all now.
const sockets = new Set();
const webSockets = new Set();
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

function shutdown(signal) {
  if (ON_SIGTERM === 'graceful') return drain(signal);
  console.log(`${signal}: shutting down`);
  server.close(() => process.exit(0));
  for (const socket of sockets) socket.destroy();
  setTimeout(() => process.exit(0), 1000).unref();
}

// Graceful: stop listening, answer what is in flight (with "Connection: close"), leave idle
// keep-alive connections for the proxy to close (closing one here could race a request the proxy
// is writing on it), close WebSockets with 1001 "going away" just before the drain limit, and
// exit once every connection has ended.
function drain(signal) {
  if (draining) return;
  draining = true;
  console.log(`${signal}: draining ${sockets.size} connections (${webSockets.size} WebSockets), ${DRAIN_SECONDS} s at most`);
  server.close(() => {
    console.log('every connection has ended; exiting');
    process.exit(0);
  });
  setTimeout(
    () => {
      console.log(`drain limit near: closing ${webSockets.size} WebSockets with 1001`);
      for (const socket of webSockets) closeWith(socket, 1001);
    },
    Math.max(DRAIN_SECONDS - 1, 0) * 1000,
  ).unref();
}
// As PID 1 in a container, Node gets no default signal handling: without these
// handlers `docker stop` would wait its full 10 s and then SIGKILL.
if (ON_SIGTERM !== 'none') {
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

server.listen(PORT, '0.0.0.0', () => console.log(`replica ${REPLICA} listening on :${PORT}`));
