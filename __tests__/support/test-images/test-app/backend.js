'use strict';
// Stand-in for wayshub-backend in the end-to-end tests: an API on port 5000 that keeps rows in
// the stack's MySQL database. Dependency-free on purpose (it runs on Debian's nodejs inside an
// image built without npm, see ../images.ts), so it talks to the database through the `mariadb`
// command-line client: password in the child's MYSQL_PWD, SQL on stdin, every value a hex literal.
//
//   node backend.js            serve: GET / (host name), /healthz, /api/v1/config,
//                              GET and POST /api/v1/rows, GET /api/v1/migrations
//   node backend.js migrate    wait for the database, create the tables, log the run, exit 0
//   node backend.js migrate --fail   exit 3 at once (tests of the migration job's exit check)

const { spawn } = require('child_process');
const http = require('http');
const os = require('os');

const PORT = Number(process.env.PORT || 5000);
const REPLICA = os.hostname(); // the stack sets the hostname to the container name
const MAX_BODY = 1024 * 1024;
const QUERY_TIMEOUT_MS = 20000;
const MIGRATE_WAIT_MS = 60000;
// Errors no waiting fixes: access denied (1044, 1045), unknown database (1049).
const PERMANENT_ERRORS = /^ERROR (1044|1045|1049) /m;

// ---------------------------------------------------------------- settings

function parseDatabaseUrl(text) {
  if (!text) return undefined;
  let url;
  try {
    url = new URL(text);
  } catch (err) {
    return { error: `DATABASE_URL is not a URL: ${err.message}` };
  }
  try {
    return {
      protocol: url.protocol,
      host: url.hostname,
      port: url.port ? Number(url.port) : 3306,
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      name: decodeURIComponent(url.pathname.replace(/^\//, '')),
      hostPort: url.host,
    };
  } catch (err) {
    return { error: `DATABASE_URL has a bad percent-encoding: ${err.message}` };
  }
}

// The discrete DB_* variables, or DATABASE_URL's parts where those are missing.
function dbSettings() {
  const env = process.env;
  const url = parseDatabaseUrl(env.DATABASE_URL);
  const fromUrl = url && !url.error ? url : {};
  return {
    host: env.DB_HOST || fromUrl.host || '127.0.0.1',
    port: Number(env.DB_PORT || fromUrl.port || 3306),
    user: env.DB_USER || fromUrl.user || '',
    password: env.DB_PASSWORD !== undefined ? env.DB_PASSWORD : fromUrl.password || '',
    name: env.DB_NAME || fromUrl.name || '',
  };
}

// ---------------------------------------------------------------- database

// A string value as SQL: the hex of its UTF-8 bytes, so no quoting can go wrong.
function sqlText(value) {
  return `CONVERT(X'${Buffer.from(String(value), 'utf8').toString('hex')}' USING utf8mb4)`;
}

// Runs SQL through the mariadb client; resolves with the rows (tab-separated columns).
function query(sql) {
  const db = dbSettings();
  const args = [
    '--batch',
    '--skip-column-names',
    '--protocol=TCP',
    '--connect-timeout=5',
    '--default-character-set=utf8mb4',
    `--host=${db.host}`,
    `--port=${db.port}`,
    `--user=${db.user}`,
  ];
  if (db.name) args.push(`--database=${db.name}`);
  const env = { PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin', HOME: '/nonexistent' };
  if (db.password) env.MYSQL_PWD = db.password;
  return new Promise((resolve, reject) => {
    const child = spawn('mariadb', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      stderr += `no answer from the database within ${QUERY_TIMEOUT_MS / 1000} s\n`;
      child.kill('SIGKILL');
    }, QUERY_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdin.on('error', () => undefined); // the client may exit before reading it all
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(err.code === 'ENOENT' ? 'the mariadb client is not installed' : err.message));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve(
          stdout
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => line.split('\t')),
        );
      } else {
        reject(new Error(stderr.trim() || `mariadb exited with status ${code}`));
      }
    });
    child.stdin.end(sql);
  });
}

const CREATE_TABLES = `
CREATE TABLE IF NOT EXISTS \`rows\` (id INT AUTO_INCREMENT PRIMARY KEY, value TEXT) DEFAULT CHARSET = utf8mb4;
CREATE TABLE IF NOT EXISTS migrations_log (
  id INT AUTO_INCREMENT PRIMARY KEY,
  ran_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  host VARCHAR(255)
) DEFAULT CHARSET = utf8mb4;
`;

async function insertRow(value) {
  const [[id]] = await query(`INSERT INTO \`rows\` (value) VALUES (${sqlText(value)}); SELECT LAST_INSERT_ID();`);
  return Number(id);
}

async function listRows() {
  // HEX: the client's batch output escapes tabs, newlines and backslashes; hex needs no unescaping.
  const rows = await query('SELECT id, HEX(value) FROM `rows` ORDER BY id;');
  return rows.map(([id, hex]) => ({ id: Number(id), value: Buffer.from(hex || '', 'hex').toString('utf8') }));
}

async function countMigrations() {
  const [[count]] = await query('SELECT COUNT(*) FROM migrations_log;');
  return Number(count);
}

// ---------------------------------------------------------------- migrate

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitForDatabase() {
  const db = dbSettings();
  const deadline = Date.now() + MIGRATE_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      await query('SELECT 1;');
      return;
    } catch (err) {
      if (PERMANENT_ERRORS.test(err.message) || Date.now() > deadline) {
        const waited = announced ? ` (waited ${MIGRATE_WAIT_MS / 1000} s)` : '';
        throw new Error(`cannot reach the database ${db.name} at ${db.host}:${db.port} as ${db.user}${waited}: ${err.message}`);
      }
      if (!announced) {
        console.log(`waiting for the database at ${db.host}:${db.port} ... (${err.message})`);
        announced = true;
      }
      await sleep(1000);
    }
  }
}

async function migrate(argv) {
  // A one-shot, but `docker stop` must not wait 10 s for it either.
  process.on('SIGTERM', () => process.exit(143));
  if (argv.includes('--fail')) {
    console.error('migration failed on purpose');
    process.exitCode = 3;
    return;
  }
  try {
    await waitForDatabase();
    await query(`${CREATE_TABLES}INSERT INTO migrations_log (host) VALUES (${sqlText(REPLICA)});`);
  } catch (err) {
    console.error(`migration failed: ${err.message}`);
    process.exitCode = 1;
    return;
  }
  console.log('migrations done');
}

// ---------------------------------------------------------------- server

function send(res, status, body, contentType) {
  res.writeHead(status, {
    'Content-Type': contentType || 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Replica': REPLICA,
  });
  res.end(body);
}

function sendJson(res, status, value) {
  send(res, status, JSON.stringify(value), 'application/json');
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let bytes = 0;
    req.on('data', (chunk) => {
      bytes += chunk.length;
      if (bytes <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      if (bytes > MAX_BODY) reject(Object.assign(new Error(`body larger than ${MAX_BODY} bytes`), { status: 413 }));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function config() {
  const db = dbSettings();
  const env = process.env;
  const url = parseDatabaseUrl(env.DATABASE_URL);
  const mismatches = [];
  if (url && !url.error) {
    if (url.protocol !== 'mysql:') mismatches.push('protocol');
    for (const [key, value] of [
      ['user', env.DB_USER],
      ['password', env.DB_PASSWORD],
      ['host', env.DB_HOST],
      ['name', env.DB_NAME],
    ]) {
      if (url[key] !== value) mismatches.push(key);
    }
    if (url.port !== Number(env.DB_PORT)) mismatches.push('port');
  }
  const result = {
    dbHost: db.host,
    dbPort: db.port,
    dbUser: db.user,
    dbName: db.name,
    nodeEnv: env.NODE_ENV || null,
    jwtKeyLength: (env.JWT_PRIVATE_KEY || '').length,
    databaseUrlHost: url && !url.error ? url.hostPort : null,
    databaseUrlMatches: Boolean(url && !url.error) && mismatches.length === 0,
    // Which parts of DATABASE_URL differ from DB_* (names only: never values).
    databaseUrlMismatches: url && !url.error ? mismatches : null,
  };
  if (url && url.error) result.databaseUrlError = url.error;
  return result;
}

async function api(req, res, pathname) {
  switch (`${req.method} ${pathname}`) {
    case 'GET /api/v1/config':
      sendJson(res, 200, config());
      return;
    case 'GET /api/v1/rows':
      sendJson(res, 200, await listRows());
      return;
    case 'POST /api/v1/rows': {
      const value = await readBody(req);
      sendJson(res, 201, { id: await insertRow(value), value, replica: REPLICA });
      return;
    }
    case 'GET /api/v1/migrations':
      sendJson(res, 200, { count: await countMigrations() });
      return;
    default:
      if (['/api/v1/config', '/api/v1/rows', '/api/v1/migrations'].includes(pathname)) {
        sendJson(res, 405, { error: 'method not allowed' });
      } else {
        sendJson(res, 404, { error: 'not found' });
      }
  }
}

function handle(req, res) {
  const { pathname } = new URL(req.url || '/', 'http://localhost');
  if (pathname.startsWith('/api/')) {
    api(req, res, pathname).catch((err) => {
      if (res.headersSent) return;
      sendJson(res, err.status || 503, { error: err.message });
    });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed\n');
    return;
  }
  switch (pathname) {
    case '/':
      send(res, 200, REPLICA);
      return;
    case '/healthz':
      send(res, 200, 'ok');
      return;
    default:
      send(res, 404, 'not found\n');
  }
}

function serve() {
  const server = http.createServer((req, res) => {
    const started = Date.now();
    res.on('finish', () => console.log(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`));
    handle(req, res);
  });
  // Longer than nginx's upstream keepalive_timeout (60 s), as in server.js.
  server.keepAliveTimeout = 65000;
  server.headersTimeout = 66000;

  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  // Docker drops a stopping task or container from its DNS as it stops it, and nginx re-resolves
  // every second: keep serving until it has, so that no request is sent on a connection this
  // process is closing; then close the idle connections, let the requests in flight finish, and
  // exit (as wayshub-backend, which ignores SIGTERM, keeps serving until it is killed).
  function shutdown(signal) {
    console.log(`${signal}: draining`);
    setTimeout(() => {
      server.close(() => process.exit(0));
      server.closeIdleConnections();
      setTimeout(() => {
        for (const socket of sockets) socket.destroy();
        process.exit(0);
      }, 10000).unref();
    }, 3000).unref();
  }
  // As PID 1 in a container, Node gets no default signal handling.
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  server.listen(PORT, '0.0.0.0', () => {
    const db = dbSettings();
    console.log(`backend ${REPLICA} listening on :${PORT} (database ${db.name} at ${db.host}:${db.port})`);
  });
}

if (process.argv[2] === 'migrate') {
  migrate(process.argv.slice(3));
} else {
  serve();
}
