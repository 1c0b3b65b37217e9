// Stands in for wayshub-backend's index.js: Express-like routes under /api/v1 on PORT (5000).
// It reports what the image and the stack gave it, never the secrets themselves.
const http = require('http');
const os = require('os');

const server = http.createServer((req, res) => {
  if (req.url !== '/api/v1/whoami') {
    res.writeHead(404).end();
    return;
  }
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
});
server.listen(Number(process.env.PORT ?? 5000), '0.0.0.0');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
