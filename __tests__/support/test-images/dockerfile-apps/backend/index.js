// Stands in for wayshub-backend's index.js: Express-like routes under /api/v1 on PORT (5000),
// with three of the real app's traps:
// - nothing answers on / (404), so a healthcheck that wants a 2xx on / never passes;
// - sign-up calls an image service; when that fails the handler answers 500 and then answers
//   again, which throws ERR_HTTP_HEADERS_SENT outside any handler and ends the process
//   (wayshub-backend does this when Cloudinary is unreachable or misconfigured);
// - no SIGTERM handler: Node exits at once, cutting the requests in flight (the Dockerfile's
//   drain preload is what lets them finish).
// It reports what the image and the stack gave it, never the secrets themselves.
const http = require('http');
const os = require('os');

function whoami(res) {
  const url = process.env.DATABASE_URL ? new URL(process.env.DATABASE_URL) : undefined;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      host: os.hostname(),
      user: os.userInfo().username,
      nodeEnv: process.env.NODE_ENV,
      hasJwtKey: Boolean(process.env.JWT_PRIVATE_KEY),
      databaseHost: url?.hostname ?? null,
    }),
  );
}

// The image service this stand-in can never reach.
function uploadAvatar(callback) {
  setTimeout(() => callback(new Error('image service unreachable')), 20);
}

function register(res) {
  uploadAvatar((err) => {
    if (err) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'failed', message: err.message }));
    // The bug: the success answer follows whether or not an error was sent. Like Express's
    // res.send, it sets a header first, which throws once the headers are out.
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'success' }));
  });
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/api/v1/whoami') return whoami(res);
  if (req.method === 'POST' && req.url === '/api/v1/register') return register(res);
  if (req.method === 'POST' && req.url === '/api/v1/echo') {
    req.resume();
    return req.on('end', () => res.writeHead(200).end('ok\n'));
  }
  // A slow answer (an upload, a report): /api/v1/slow?ms=2000.
  const slow = /^\/api\/v1\/slow\?ms=(\d+)$/.exec(req.url);
  if (slow) return setTimeout(() => res.writeHead(200).end(`slow ${slow[1]} ms from ${os.hostname()}\n`), Number(slow[1]));
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT ?? 5000), '0.0.0.0');
