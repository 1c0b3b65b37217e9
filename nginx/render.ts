// Renders the nginx configuration of the reverse proxy: a pure function of validated settings,
// with no dependencies, whose output reads like a hand-written, commented config.
//
// The replica count is deliberately not an input: replicas share one Docker DNS alias and nginx
// re-resolves it (`resolve`), so scaling never changes these files and never recreates the proxy.

export type UpstreamMethod =
  | { readonly method: 'round_robin' }
  | { readonly method: 'least_conn' }
  | { readonly method: 'ip_hash' }
  | { readonly method: 'random_two_least_conn' }
  | { readonly method: 'hash'; readonly key: string; readonly consistent: boolean };

export interface UpstreamConfig {
  /** nginx upstream name, e.g. `wayshub_app`. */
  readonly name: string;
  /** Docker DNS alias every replica carries on the private network. */
  readonly alias: string;
  readonly port: number;
  readonly loadBalancing: UpstreamMethod;
  readonly maxFails: number;
  readonly failTimeoutSeconds: number;
  readonly keepalive: number;
  /** Seconds an idle connection to a replica stays open: less than the app's own idle timeout. */
  readonly keepaliveTimeoutSeconds: number;
  /**
   * App servers outside the stack, `host:port`, balanced beside the replicas.
   * @default none
   */
  readonly servers?: readonly string[];
}

export interface SiteConfig {
  /** First name is the primary domain; the rest are extra names of the same site. */
  readonly serverNames: readonly string[];
  readonly upstream: UpstreamConfig;
  readonly maxBodySize: string;
  readonly connectTimeoutSeconds: number;
  readonly readTimeoutSeconds: number;
  readonly nextUpstreamTries: number;
  readonly nextUpstreamTimeoutSeconds: number;
  /**
   * An API: what the proxy answers itself (the maintenance answer) is JSON, not a page.
   * @default false
   */
  readonly json?: boolean;
}

export interface TlsConfig {
  /** Certificate chain and key as nginx sees them inside the container. */
  readonly certificatePath: string;
  readonly keyPath: string;
  /** Host port of HTTPS, for the redirect from HTTP (443 needs none in the URL). */
  readonly httpsPort: number;
  /** `Strict-Transport-Security` max-age in seconds; 0 sends no such header. */
  readonly hstsMaxAgeSeconds: number;
  /** Directory served at `/.well-known/acme-challenge/` for HTTP-01 (Let's Encrypt mode). */
  readonly acmeWebroot?: string;
}

export interface RateLimitConfig {
  /** nginx rate, e.g. `10r/s` or `600r/m`, per client address. */
  readonly rate: string;
  /** Requests above the rate that are still served at once before 429s start. */
  readonly burst: number;
}

export interface RealIpConfig {
  /** Addresses (CIDR) of the balancers or CDN in front of the proxy, trusted to say who the client is. */
  readonly trustedFrom: readonly string[];
  /** The header they put the client address in, e.g. `X-Forwarded-For` or `CF-Connecting-IP`. */
  readonly header: string;
}

export interface HardeningConfig {
  /** nosniff, Referrer-Policy and a frame policy on every response; X-Powered-By hidden. */
  readonly securityHeaders: boolean;
  readonly rateLimit?: RateLimitConfig;
  readonly realIp?: RealIpConfig;
}

export interface ProxyConfig {
  readonly sites: readonly SiteConfig[];
  /** HTTPS on 443 with HTTP redirected to it; HTTP only when undefined. */
  readonly tls?: TlsConfig;
  /** @default security headers on, no rate limit, no trusted real-IP sources */
  readonly hardening?: HardeningConfig;
  /**
   * Uploads streamed at once (bodies of 100,000 bytes or more); more get 503 with Retry-After.
   * Each holds one UPLOAD_BUFFER_KB buffer of the proxy's memory.
   * @default 256
   */
  readonly uploadsAtOnce?: number;
  /**
   * Maintenance: every site answers 503 with Retry-After and a page of the proxy's own (JSON on an
   * API), and no request reaches a replica; the proxy's health location still answers.
   * @default false
   */
  readonly maintenance?: boolean;
  /**
   * A second line per request, for the metrics exporter: into a file it reads.
   * @default none
   */
  readonly metrics?: MetricsLogConfig;
  /**
   * The access log into this file instead of stdout (Docker's log).
   * @default none: stdout, in 4k batches
   */
  readonly accessLogFile?: string;
}

/** Where the metrics exporter reads nginx's lines (a file in a volume both mount). */
export interface MetricsLogConfig {
  readonly file: string;
}

/** Seconds a client is told to wait during maintenance. */
export const MAINTENANCE_RETRY_AFTER_SECONDS = 300;
const MAINTENANCE_PAGE =
  '<!doctype html><html lang=en><meta charset=utf-8><title>Down for maintenance</title>' +
  '<body style=font-family:sans-serif;text-align:center;padding:4em><h1>Back soon</h1>' +
  '<p>This site is being updated. Please try again in a few minutes.</p></body></html>';
const MAINTENANCE_JSON = JSON.stringify({
  error: 'maintenance',
  message: 'The API is being updated; try again later.',
  retryAfterSeconds: MAINTENANCE_RETRY_AFTER_SECONDS,
});

/** A request body smaller than this is read whole before it is passed on (and may be retried). */
export const STREAM_BODY_FROM_BYTES = 100_000;
/** The one buffer a request body goes through: holds a whole body below STREAM_BODY_FROM_BYTES. */
export const UPLOAD_BUFFER_KB = 128;
/** Seconds a client is told to wait when the proxy holds as many uploads as it may. */
export const UPLOAD_RETRY_AFTER_SECONDS = 10;

/** One file of the proxy's configuration and where it goes in the container. */
export interface NginxFile {
  readonly path: string;
  readonly content: string;
}

/**
 * Our config lives in its own directory, loaded with `nginx -c`: the proxy's root filesystem is
 * read-only, and this directory is the one place the files are uploaded to.
 */
export const CONF_DIR = '/etc/nginx/wayshub';
export const NGINX_CONF_PATH = `${CONF_DIR}/nginx.conf`;
export const UPSTREAM_CONF_PATH = `${CONF_DIR}/upstreams.conf`;
export const SITE_CONF_PATH = `${CONF_DIR}/sites.conf`;
/** Answered by nginx itself on every site, never proxied: tells the proxy is up. */
export const PROXY_HEALTH_PATH = '/_proxy/health';

/** Docker's embedded DNS server, reachable from every container on a user-defined network. */
const DOCKER_DNS = '127.0.0.11';

/** All files the proxy needs, in a stable order. */
export function renderNginxConfig(config: ProxyConfig): NginxFile[] {
  if (config.sites.length === 0) throw new Error('renderNginxConfig: at least one site is needed');
  config.sites.forEach(assertSafe);
  assertSafeProxy(config);
  const uploadsAtOnce = config.uploadsAtOnce ?? 256;
  if (!Number.isInteger(uploadsAtOnce) || uploadsAtOnce < 1) throw new Error('renderNginxConfig: uploadsAtOnce must be a whole number from 1');
  return [
    { path: NGINX_CONF_PATH, content: renderMain(config) },
    { path: UPSTREAM_CONF_PATH, content: renderUpstreams(config.sites) },
    { path: SITE_CONF_PATH, content: renderSites(config, uploadsAtOnce) },
  ];
}

const DEFAULT_HARDENING: HardeningConfig = { securityHeaders: true };

function renderMain(config: ProxyConfig): string {
  const tls = config.tls
    ? `
    # TLS 1.2 and 1.3 only, with the ciphers of Mozilla's "intermediate" profile.
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384;
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:wayshub_tls:10m;
    ssl_session_timeout 1d;
    ssl_session_tickets off;
`
    : '';
  return `# Generated by wayshub-edge: the whole nginx configuration of the proxy, loaded with
# "nginx -c ${NGINX_CONF_PATH}". The image's own nginx.conf, default site and
# sites-enabled/ are never read, so the official and the Debian images behave the same.

worker_processes auto;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;

events {
    worker_connections 4096;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;

    # Don't tell the world which nginx version runs here.
    server_tokens off;

    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65s;

    # One line per request, with which replica answered and how long it took.
    log_format wayshub '$remote_addr - $remote_user [$time_local] "$request" '
                       '$status $body_bytes_sent "$http_referer" "$http_user_agent" '
                       'host=$host upstream=$upstream_addr upstream_status=$upstream_status '
                       'upstream_time=$upstream_response_time request_time=$request_time';
${renderAccessLog(config.accessLogFile)}${config.metrics ? metricsLog(config.metrics) : ''}
    # Compress text; images and archives are compressed already. Level 1 gave twice the
    # throughput of level 5 on 100 KB of JSON, for 36 % more bytes (bench/results/).
    gzip on;
    gzip_comp_level 1;
    gzip_min_length 1024;
    gzip_proxied any;
    gzip_vary on;
    gzip_types text/plain text/css text/xml text/javascript application/javascript
               application/json application/xml application/rss+xml image/svg+xml;

${tls}
    include ${UPSTREAM_CONF_PATH};
    include ${SITE_CONF_PATH};
}
`;
}

/** Where each request's line goes: Docker's log by default, or a file of nginx's own. */
export function renderAccessLog(file: string | undefined): string {
  if (file === undefined)
    return `    # Written in batches: a write per line cost a third of the throughput (bench/results/).
    # Lines wait at most 1 s, and are written when a worker exits. 4k is the size a pipe
    # (Docker's stdout) writes in one piece, so two workers' batches never mix their lines.
    access_log /dev/stdout wayshub buffer=4k flush=1s;
`;
  return `    # Into a file of nginx's own, not through Docker's log: with the file, the proxy served 1.1x
    # to 1.3x the requests on small answers (bench/results/). Batches of 64k wait at most 1 s,
    # and are written when a worker exits; a file takes each batch whole. The proxy rotates the file.
    access_log ${file} wayshub buffer=64k flush=1s;
`;
}

/**
 * The metrics exporter's line: which site, its status, every replica tried (the last one
 * answered) with its status and time, and the proxy's connections.
 */
function metricsLog({ file }: MetricsLogConfig): string {
  return `
    # For the metrics exporter (mtail), which reads this file as it grows and empties it now
    # and then. In batches, like the access log: the exporter sees a line within a second.
    log_format wayshub_metrics 'site=$server_name status=$status upstream=$upstream_addr '
                               'upstream_status=$upstream_status upstream_time=$upstream_response_time '
                               'active=$connections_active reading=$connections_reading '
                               'writing=$connections_writing waiting=$connections_waiting';
    access_log ${file} wayshub_metrics buffer=32k flush=1s;
`;
}

function renderUpstreams(sites: readonly SiteConfig[]): string {
  const blocks = sites.map(({ upstream: u }) => {
    const method = methodDirective(u.loadBalancing);
    return `upstream ${u.name} {
    # Shared memory for the server list: "resolve" needs it to change addresses at run time.
    zone ${u.name} 256k;

    # Docker's DNS answers with a TTL of 600 s; "valid=1s" makes nginx ask again every second,
    # so new replicas join and removed ones leave at once, with no reload. The address of a
    # removed replica answers nothing (each try of it waits out proxy_connect_timeout) until then.
    resolver ${DOCKER_DNS} valid=1s ipv6=off;
    resolver_timeout 2s;
${method ? `\n    ${method}\n` : ''}
    # Every replica answers to this one alias; nginx balances over all its addresses.
    server ${u.alias}:${u.port} resolve max_fails=${u.maxFails} fail_timeout=${u.failTimeoutSeconds}s;
${renderExternalServers(u)}
    # Idle connections kept open to the replicas, per worker (needs HTTP/1.1 and an empty
    # Connection header). Fewer than the requests in flight, and nginx opens new ones under load.
    keepalive ${u.keepalive};
    # Closed by nginx before the app closes them (Node's keepAliveTimeout is 5 s): a request is
    # never written to a connection the replica is closing, where a POST would be lost.
    keepalive_timeout ${u.keepaliveTimeoutSeconds}s;
}
`;
  });
  return `# Generated by wayshub-edge: where requests go.\n\n${blocks.join('\n')}`;
}

/** The app servers the stack does not run: the same health rules; a name is re-resolved like the alias. */
function renderExternalServers(u: UpstreamConfig): string {
  if (!u.servers?.length) return '';
  const line = (server: string) => {
    const isName = !server.startsWith('[') && !/^[0-9.]+:/.test(server);
    return `    server ${server}${isName ? ' resolve' : ''} max_fails=${u.maxFails} fail_timeout=${u.failTimeoutSeconds}s;`;
  };
  return `
    # App servers outside the stack (WAYSHUB_APP_SERVERS), taking turns with the replicas.
${u.servers.map(line).join('\n')}
`;
}

function methodDirective(lb: UpstreamMethod): string | undefined {
  switch (lb.method) {
    case 'round_robin':
      return undefined; // nginx's default
    case 'least_conn':
      return '# Each request goes to the replica with the fewest active connections.\n    least_conn;';
    case 'ip_hash':
      return '# A client address always lands on the same replica (sticky sessions).\n    ip_hash;';
    case 'random_two_least_conn':
      return '# Pick two replicas at random, send to the less busy one.\n    random two least_conn;';
    case 'hash':
      return `# The same key always lands on the same replica${lb.consistent ? '; "consistent" moves few keys when replicas come and go' : ''}.\n    hash ${lb.key}${lb.consistent ? ' consistent' : ''};`;
  }
}

function renderSites(config: ProxyConfig, uploadsAtOnce: number): string {
  const { sites, tls } = config;
  const hardening = config.hardening ?? DEFAULT_HARDENING;
  const http = tls
    ? sites.map((site) => renderRedirect(site, tls)).join('')
    : sites.map((site) => renderSite(site, hardening, 'listen 80;', uploadsAtOnce, config.maintenance)).join('');
  const https = tls
    ? `
# HTTPS for a name we don't serve: refuse the TLS handshake itself, so no certificate
# (and no name it carries) is shown to scanners.
server {
    listen 443 ssl default_server;
    ssl_reject_handshake on;
}
${sites.map((site) => renderSite(site, hardening, tlsListen(tls), uploadsAtOnce, config.maintenance)).join('')}`
    : '';
  return `# Generated by wayshub-edge: which names are served, and how requests are passed on.
${renderNameHash(sites)}${renderHttpLevel(hardening)}
# WebSocket requests carry "Upgrade"; pass it on. Every other request gets an empty
# Connection header, so the keep-alive connections to the replicas stay open.
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      '';
}

# Whether a request that failed may be sent once more: always for methods that are safe to
# repeat; for any other (a POST) only if no replica got a single byte of it. The bytes sent to
# each replica tried read like "0, 0" (" : " between locations): digits other than 0 mean a
# replica may have acted on it.
map "$request_method:$upstream_bytes_sent" $wayshub_retry_safe {
    ~^(GET|HEAD|OPTIONS):  1;
    "~^[A-Z]+:[0 ,:]*$"    1;
    default                0;
}

# Uploads. A body under ${STREAM_BODY_FROM_BYTES.toLocaleString('en')} bytes is read whole into memory before it is passed on, so a
# failed try can be sent again. A larger one, or one of unknown length (chunked, or HTTP/2 with
# no Content-Length), is passed on to a replica as it arrives, through one ${UPLOAD_BUFFER_KB} KB buffer: no
# body is ever written to the proxy's temp space, which many uploads at once would fill.
map "$request_method:$content_length:$http_transfer_encoding" $wayshub_stream_body {
    default                        0;
    # Most requests: found in the hash of exact keys, before any regex is tried.
    "GET::"                        0;
    "HEAD::"                       0;
    "~^[A-Z]+:0*[1-9][0-9]{5,}:"   1;
    "~^[A-Z]+:[0-9]*:."            1;
    "~^(POST|PUT|PATCH)::$"        1;
}

# At most ${uploadsAtOnce} uploads streamed at once (one per MiB of the proxy's memory limit, each
# holding one buffer); the next gets 503 with Retry-After, which clients wait out and resend.
limit_conn_zone $wayshub_stream_body zone=wayshub_uploads:1m;
limit_conn_log_level warn;
# The Retry-After of that 503, added by each server beside its other headers (a location's own
# add_header would drop them); empty, so not sent, on every other answer.
map $limit_conn_status $wayshub_uploads_retry_after {
    REJECTED  ${UPLOAD_RETRY_AFTER_SECONDS};
    default   "";
}

# A request for a name we don't serve (a scanner, a wrong DNS record) gets no answer at all:
# 444 closes the connection without a response.
server {
    listen 80 default_server;
    server_name _;
    return 444;
}
${http}${https}`;
}

/** Directives of the http level that depend on hardening settings. */
/**
 * nginx keeps the exact server names in a hash whose buckets are 64 bytes by default: a name
 * needs 8 + (length + 2, rounded up to 8) bytes plus 8 (ngx_hash_init in ngx_hash.c), so one of
 * 47 characters or more fails `nginx -t`. The size this config's longest name needs, when the
 * default is not enough (a power of two, as nginx rounds it to its cache line anyway).
 */
export function namesHashBucketSize(names: readonly string[]): number | undefined {
  const longest = Math.max(0, ...names.map((n) => n.length));
  const needed = 8 + Math.ceil((longest + 2) / 8) * 8 + 8;
  if (needed <= 64) return undefined;
  let size = 128;
  while (size < needed) size *= 2;
  return size;
}

function renderNameHash(sites: readonly SiteConfig[]): string {
  const size = namesHashBucketSize(sites.flatMap((s) => s.serverNames));
  return size
    ? `
# A server name longer than nginx's default hash bucket (64 bytes) holds: room for the longest.
server_names_hash_bucket_size ${size};
`
    : '';
}

function renderHttpLevel(h: HardeningConfig): string {
  const parts: string[] = [];
  if (h.realIp) {
    parts.push(`
# The client address as the balancer or CDN in front says, trusted only from these sources.
${h.realIp.trustedFrom.map((cidr) => `set_real_ip_from ${cidr};`).join('\n')}
real_ip_header ${h.realIp.header};
real_ip_recursive on;
`);
  }
  if (h.rateLimit) {
    parts.push(`
# At most ${h.rateLimit.rate} per client address (after a burst of ${h.rateLimit.burst}); more gets 429.
limit_req_zone $binary_remote_addr zone=wayshub_per_client:10m rate=${h.rateLimit.rate};
limit_req_status 429;
`);
  }
  return parts.join('');
}

function tlsListen(tls: TlsConfig): string {
  return `listen 443 ssl;
    http2 on;

    ssl_certificate ${tls.certificatePath};
    ssl_certificate_key ${tls.keyPath};${
      tls.hstsMaxAgeSeconds > 0
        ? `

    # Browsers use HTTPS only for this name from now on (for max-age seconds).
    add_header Strict-Transport-Security "max-age=${tls.hstsMaxAgeSeconds}" always;`
        : ''
    }`;
}

/** Port 80 when TLS is on: the ACME challenge path, and a redirect for everything else. */
function renderRedirect(site: SiteConfig, tls: TlsConfig): string {
  const port = tls.httpsPort === 443 ? '' : `:${tls.httpsPort}`;
  const acme = tls.acmeWebroot
    ? `
    # Let's Encrypt HTTP-01 challenges, written here by the certbot container.
    location ^~ /.well-known/acme-challenge/ {
        root ${tls.acmeWebroot};
        default_type text/plain;
    }
`
    : '';
  return `
server {
    listen 80;
    server_name ${site.serverNames.join(' ')};
${acme}
    location / {
        return 301 https://$host${port}$request_uri;
    }
}
`;
}

function renderSite(site: SiteConfig, hardening: HardeningConfig, listen: string, uploadsAtOnce: number, maintenance = false): string {
  const upstream = site.upstream.name;
  const headers = hardening.securityHeaders
    ? `
    # Security headers on every response, and no framework banner from the app.
    add_header X-Content-Type-Options nosniff always;
    add_header Referrer-Policy strict-origin-when-cross-origin always;
    add_header X-Frame-Options SAMEORIGIN always;
    proxy_hide_header X-Powered-By;
`
    : '';
  const limit = hardening.rateLimit ? `\n        limit_req zone=wayshub_per_client burst=${hardening.rateLimit.burst} nodelay;` : '';
  return `
server {
    ${listen}
    server_name ${site.serverNames.join(' ')};
${headers}${
    maintenance
      ? `
    # Maintenance: every answer says when to come back, and is not to be cached.
    add_header Retry-After ${MAINTENANCE_RETRY_AFTER_SECONDS} always;
    add_header Cache-Control no-store always;
`
      : `
    # Too many uploads at once: the 503 says when to send again (the map above).
    add_header Retry-After $wayshub_uploads_retry_after always;
`
  }
    # Largest request body accepted (uploads); larger ones get 413.
    client_max_body_size ${site.maxBodySize};
    client_body_buffer_size ${UPLOAD_BUFFER_KB}k;

    # How every request is passed on (both locations below inherit this).
    proxy_http_version 1.1;
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $host;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;

    proxy_connect_timeout ${site.connectTimeoutSeconds}s;
    proxy_send_timeout ${site.readTimeoutSeconds}s;
    proxy_read_timeout ${site.readTimeoutSeconds}s;
    # A large answer (a video) goes to the client at the client's pace, through memory buffers:
    # spooled to the proxy's temp space instead, a few slow downloads at once would fill it.
    proxy_max_temp_file_size 0;

    # A replica that is gone or failing: try the request on another one, within bounds.
    proxy_next_upstream error timeout http_502 http_503 http_504;
    proxy_next_upstream_tries ${site.nextUpstreamTries};
    proxy_next_upstream_timeout ${site.nextUpstreamTimeoutSeconds}s;

    location = ${PROXY_HEALTH_PATH} {
        access_log off;
        default_type text/plain;
        return 200 "ok\\n";
    }

${maintenance ? renderMaintenance(site) : renderProxyLocations(upstream, limit, uploadsAtOnce)}}
`;
}

/** Where requests go: the replicas, with streamed uploads and one safe retry. */
function renderProxyLocations(upstream: string, limit: string, uploadsAtOnce: number): string {
  return `    location / {
        # A large upload goes on as it arrives: see @${upstream}_upload (whose own error page,
        # for too many uploads at once, needs recursive error pages).
        error_page 418 = @${upstream}_upload;
        recursive_error_pages on;
        if ($wayshub_stream_body) {
            return 418;
        }
        proxy_pass http://${upstream};${limit}
        # nginx's own 502/504: every try failed (replicas just removed still time out), or
        # the replica list changed while this request waited, which stops further tries.
        error_page 502 504 = @${upstream}_retry;
    }

    # An upload streamed to one replica. It goes to the next replica only while none has been
    # sent its first byte (refused, or no connection): the body is not kept to send twice.
    location @${upstream}_upload {${limit}
        limit_conn wayshub_uploads ${uploadsAtOnce};
        error_page 503 = @uploads_busy;
        proxy_request_buffering off;
        proxy_pass http://${upstream};
    }

    location @uploads_busy {
        default_type text/plain;
        return 503 "The proxy holds as many uploads as it can; send this one again in ${UPLOAD_RETRY_AFTER_SECONDS} s.\\n";
    }

    # The same request once more, as new, against the current replica list: a GET, or a POST
    # that no replica received (every try refused, or cut before a byte was written).
    location @${upstream}_retry {
        if ($wayshub_retry_safe = 0) {
            return 502;
        }
        proxy_pass http://${upstream};
    }
`;
}

/** Maintenance (WAYSHUB_MAINTENANCE=on): the proxy answers every request itself; nothing reaches a replica. */
function renderMaintenance(site: SiteConfig): string {
  return `    # Maintenance: every request is answered here, and none reaches a replica (the health
    # location above still answers). Deploying with WAYSHUB_MAINTENANCE=off turns it off: a reload.
    location / {
        default_type ${site.json ? 'application/json' : 'text/html'};
        return 503 '${site.json ? MAINTENANCE_JSON : MAINTENANCE_PAGE}';
    }
`;
}

// Settings are validated before they get here; this second check keeps the renderer safe on
// its own: no value can end a directive, open a block or start a variable it should not.
function assertSafe(site: SiteConfig): void {
  const token = /^[A-Za-z0-9._*-]+$/;
  const u = site.upstream;
  const plain: Array<[string, string]> = [
    ...site.serverNames.map((n): [string, string] => ['server name', n]),
    ['upstream name', u.name],
    ['alias', u.alias],
    ['max body size', site.maxBodySize],
  ];
  for (const server of u.servers ?? []) {
    if (!/^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\]):[0-9]{1,5}$/.test(server)) throw new Error(`renderNginxConfig: unsafe server ${JSON.stringify(server)}`);
  }
  for (const [what, value] of plain) {
    if (!token.test(value)) throw new Error(`renderNginxConfig: unsafe ${what} ${JSON.stringify(value)}`);
  }
  const numbers = [
    u.port,
    u.maxFails,
    u.failTimeoutSeconds,
    u.keepalive,
    u.keepaliveTimeoutSeconds,
    site.connectTimeoutSeconds,
    site.readTimeoutSeconds,
    site.nextUpstreamTries,
    site.nextUpstreamTimeoutSeconds,
  ];
  if (!numbers.every((n) => Number.isInteger(n) && n >= 0)) throw new Error('renderNginxConfig: numbers must be whole and not negative');
  if (u.loadBalancing.method === 'hash' && !/^[$A-Za-z0-9_:/.-]+$/.test(u.loadBalancing.key)) {
    throw new Error(`renderNginxConfig: unsafe hash key ${JSON.stringify(u.loadBalancing.key)}`);
  }
}

function assertSafeProxy(config: ProxyConfig): void {
  const path = /^\/[A-Za-z0-9._/-]+$/;
  const t = config.tls;
  if (t) {
    for (const p of [t.certificatePath, t.keyPath, ...(t.acmeWebroot ? [t.acmeWebroot] : [])]) {
      if (!path.test(p)) throw new Error(`renderNginxConfig: unsafe path ${JSON.stringify(p)}`);
    }
    if (![t.httpsPort, t.hstsMaxAgeSeconds].every((n) => Number.isInteger(n) && n >= 0)) {
      throw new Error('renderNginxConfig: numbers must be whole and not negative');
    }
  }
  for (const file of [config.metrics?.file, config.accessLogFile]) {
    if (file !== undefined && !path.test(file)) throw new Error(`renderNginxConfig: unsafe path ${JSON.stringify(file)}`);
  }
  const h = config.hardening;
  if (h?.rateLimit && (!/^[1-9][0-9]*r\/[sm]$/.test(h.rateLimit.rate) || !Number.isInteger(h.rateLimit.burst) || h.rateLimit.burst < 0)) {
    throw new Error(`renderNginxConfig: unsafe rate limit ${JSON.stringify(h.rateLimit)}`);
  }
  if (h?.realIp) {
    const cidr = /^[0-9A-Fa-f.:]+(\/[0-9]{1,3})?$/;
    if (!h.realIp.trustedFrom.every((c) => cidr.test(c)) || !/^[A-Za-z0-9-]+$/.test(h.realIp.header)) {
      throw new Error(`renderNginxConfig: unsafe real-IP settings ${JSON.stringify(h.realIp)}`);
    }
  }
}
