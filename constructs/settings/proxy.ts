// Settings of the nginx proxy: its image, ports, load balancing, timeouts and retries, and the
// hardening (security headers, HSTS, rate limit, trusted real-IP sources).
import type { RateLimitConfig, RealIpConfig, UpstreamMethod } from '../../nginx/render';
import { DEFAULTS, MAX_REPLICAS, MIN_NGINX_VERSION } from './defaults';
import type { Engine } from './engine';
import { NAMES } from './names';
import { Mutable, PORT_ALLOWED, SettingsError, checkBodySize, checkBoolean, checkImage, checkWhole, cidrRange, isCidr } from './validators';

/** How nginx picks a replica for each request: round robin (default), least_conn, ip_hash,
 * random_two_least_conn, or `hash <key> [consistent]` (the same key lands on the same replica). */
export type LoadBalancing = UpstreamMethod;

export interface ProxySettings {
  readonly image: string;
  /** Host port that publishes the proxy's port 80. */
  readonly httpPort: number;
  readonly loadBalancing: LoadBalancing;
  /** nginx `client_max_body_size` of the app's site (`<domain>`), e.g. `10m`; `0` disables the limit. The API has its own. */
  readonly maxBodySize: string;
  readonly connectTimeoutSeconds: number;
  readonly readTimeoutSeconds: number;
  /**
   * How many replicas one request may be tried on before the client gets the error. Each is tried
   * at most once, and a replica that is draining refuses at once, so by default every one may be.
   * @default 20 (MAX_REPLICAS)
   */
  readonly nextUpstreamTries: number;
  /** Upper bound in seconds on all those tries together. */
  readonly nextUpstreamTimeoutSeconds: number;
  /** Failed attempts within `failTimeoutSeconds` that take a replica out for that long. */
  readonly maxFails: number;
  readonly failTimeoutSeconds: number;
  /**
   * Idle keep-alive connections each nginx worker keeps open to the replicas. Below the requests
   * a worker has in flight, nginx closes connections as answers come back and opens new ones for
   * the next requests: at 32, 32 busy clients made the replicas accept 700 to 1,700 new
   * connections in 6 s (about 45,000 requests); at 128, about 130, nearly all at the start.
   * @default 128
   */
  readonly keepalive: number;
  /**
   * Seconds nginx keeps an idle connection to a replica open. Must be shorter than the app's own
   * idle timeout (Node's server.keepAliveTimeout is 5 s): otherwise nginx may send a request on a
   * connection the app is closing, and a POST that nginx already sent is not retried (502).
   * Short, too, so that a replica being removed (which leaves idle connections for nginx to
   * close) exits well within `failTimeoutSeconds` of nginx's first refused connection to it.
   * @default 2
   */
  readonly keepaliveTimeoutSeconds: number;
  /** Host port that publishes the proxy's port 443 (used when TLS is on). */
  readonly httpsPort: number;
  /** `Strict-Transport-Security` max-age in seconds when TLS is on; 0 turns it off. */
  readonly hstsMaxAgeSeconds: number;
  /** nosniff, Referrer-Policy and X-Frame-Options on every response; X-Powered-By hidden. */
  readonly securityHeaders: boolean;
  /** Per-client-address request limit (429 above it); none when undefined. */
  readonly rateLimit?: RateLimitConfig;
  /** Trust these balancers/CDNs to tell the client address; nobody is trusted when undefined. */
  readonly realIp?: RealIpConfig;
  /** Memory limit of the proxy container in MiB. */
  readonly memoryMb: number;
  /**
   * Maintenance: every site answers 503 with Retry-After and the proxy's own page (JSON on the
   * API); no request reaches a replica. Switched on and off by a reload, no container replaced.
   * @default false
   */
  readonly maintenance: boolean;
  /**
   * Where nginx writes its access log: `docker`, its stdout (`docker logs` shows each request),
   * or `file`, its own file in a volume, rotated by size: no line goes through Docker's log
   * pipeline, where `file` gave 1.1x to 1.3x the throughput on small answers (bench/results/).
   * @default 'file' ('docker' with Swarm)
   */
  readonly accessLog: AccessLog;
}

/** Where the access log goes: Docker's log (stdout) or nginx's own file. */
export type AccessLog = 'docker' | 'file';
export const ACCESS_LOGS: readonly AccessLog[] = ['docker', 'file'];

export const HSTS_ALLOWED = 'allowed: seconds from 0 (off) to 63072000 (2 years), e.g. 31536000';
/** The widest trusted ranges: a /8 is 16 million addresses; the CDNs' own are /12 to /22 and /29 to /32. */
export const MIN_TRUSTED_PREFIX = { v4: 8, v6: 16 } as const;
const CIDR_ALLOWED = 'allowed: comma-separated addresses or CIDR ranges like 173.245.48.0/20 or 2400:cb00::/32';
const RATE_ALLOWED = 'allowed: <n>r/s or <n>r/m, optionally :<burst>, e.g. 10r/s or 10r/s:20';
const LB_ALLOWED = 'allowed: round_robin, least_conn, ip_hash, random_two_least_conn, hash:<$variables> or hash:<$variables>:consistent';

/** `WAYSHUB_RATE_LIMIT` syntax: `10r/s` or `10r/s:20` (rate, then burst; burst defaults to 2x). */
export function parseRateLimit(text: string): RateLimitConfig {
  const m = /^([1-9][0-9]{0,5})r\/([sm])(?::([0-9]{1,5}))?$/.exec(text);
  if (!m) throw new SettingsError(NAMES.rateLimit, text, RATE_ALLOWED);
  return { rate: `${m[1]}r/${m[2]}`, burst: m[3] === undefined ? 2 * Number(m[1]) : Number(m[3]) };
}

/** `WAYSHUB_LB_METHOD` syntax: a method name, or `hash:$key[:consistent]`. */
export function parseLoadBalancing(text: string): LoadBalancing {
  switch (text) {
    case 'round_robin':
    case 'least_conn':
    case 'ip_hash':
    case 'random_two_least_conn':
      return { method: text };
  }
  const hash = /^hash:(.+?)(:consistent)?$/.exec(text);
  if (hash) return { method: 'hash', key: hash[1], consistent: hash[2] !== undefined };
  throw new SettingsError(NAMES.lbMethod, text, LB_ALLOWED);
}

function checkLoadBalancing(lb: LoadBalancing): void {
  const methods = ['round_robin', 'least_conn', 'ip_hash', 'random_two_least_conn', 'hash'];
  if (typeof lb !== 'object' || lb === null || !methods.includes(lb.method)) {
    throw new SettingsError(NAMES.lbMethod, lb, LB_ALLOWED);
  }
  // The key goes into nginx config verbatim, so it may only be nginx variables and simple separators.
  if (lb.method === 'hash' && !/^\$[a-z_][a-z0-9_]*(?:[-:/.]?\$[a-z_][a-z0-9_]*)*$/.test(lb.key)) {
    throw new SettingsError(
      NAMES.lbMethod,
      `hash:${lb.key}`,
      'allowed hash keys: nginx variables like $remote_addr, $request_uri or $cookie_session, joined by nothing or one of - : / .',
    );
  }
}

/** The nginx version an image tag states (`1.30-alpine` → 1.30.∞), or undefined if it states none. */
export function taggedNginxVersion(ref: string): number[] | undefined {
  const withoutDigest = ref.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  if (colon < 0) return undefined;
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?![\d.])/.exec(withoutDigest.slice(colon + 1));
  if (!m) return undefined;
  // A part the tag leaves out follows the newest release of that line (`1.27` is 1.27.5 today).
  return [m[1], m[2], m[3]].map((part) => (part === undefined ? Number.POSITIVE_INFINITY : Number(part)));
}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function resolveProxy(proxy: Mutable<ProxySettings>, engine: Engine): ProxySettings {
  const image = checkImage(proxy.image ?? DEFAULTS.nginxImage, NAMES.nginxImage);
  const version = taggedNginxVersion(image);
  if (version && compareVersions(version, MIN_NGINX_VERSION) < 0) {
    throw new SettingsError(
      NAMES.nginxImage,
      image,
      `nginx ${MIN_NGINX_VERSION.join('.')} or newer is needed (upstream "resolve"), e.g. ${DEFAULTS.nginxImage}`,
    );
  }
  const httpPort = proxy.httpPort ?? DEFAULTS.httpPort;
  checkWhole(httpPort, NAMES.httpPort, 1, 65535, PORT_ALLOWED);

  const loadBalancing = proxy.loadBalancing ?? { method: 'round_robin' };
  checkLoadBalancing(loadBalancing);

  const maxBodySize = checkBodySize(proxy.maxBodySize ?? DEFAULTS.maxBodySize, NAMES.maxBodySize);

  const httpsPort = proxy.httpsPort ?? DEFAULTS.httpsPort;
  checkWhole(httpsPort, NAMES.httpsPort, 1, 65535, PORT_ALLOWED);
  const hstsMaxAgeSeconds = proxy.hstsMaxAgeSeconds ?? DEFAULTS.hstsMaxAgeSeconds;
  checkWhole(hstsMaxAgeSeconds, NAMES.hsts, 0, 63072000, HSTS_ALLOWED);
  const rateLimit = proxy.rateLimit;
  if (rateLimit !== undefined) {
    // Checked through the same syntax the environment variable uses.
    const parsed = parseRateLimit(`${String(rateLimit.rate)}:${String(rateLimit.burst)}`);
    if (parsed.burst > 100000) throw new SettingsError(NAMES.rateLimit, rateLimit, RATE_ALLOWED);
  }
  const realIp = proxy.realIp;
  if (realIp !== undefined) {
    if (realIp.trustedFrom.length === 0) throw new SettingsError(NAMES.realIpFrom, realIp.trustedFrom, CIDR_ALLOWED);
    for (const cidr of realIp.trustedFrom) {
      if (!isCidr(cidr)) throw new SettingsError(NAMES.realIpFrom, cidr, CIDR_ALLOWED);
      // Trusted, a range may say who the client is: one that holds everyone (0.0.0.0/0, ::/0,
      // or a half of it) lets every client choose its own address, past the rate limit.
      const range = cidrRange(cidr);
      if (range.prefix < (range.family === 4 ? MIN_TRUSTED_PREFIX.v4 : MIN_TRUSTED_PREFIX.v6)) {
        throw new SettingsError(
          NAMES.realIpFrom,
          cidr,
          `a range that wide trusts most of the internet to say who the client is; allowed: the ranges of your balancers or CDN, no wider than /${MIN_TRUSTED_PREFIX.v4} (IPv4) or /${MIN_TRUSTED_PREFIX.v6} (IPv6)`,
        );
      }
    }
    if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(realIp.header)) {
      throw new SettingsError(NAMES.realIpHeader, realIp.header, 'allowed: a header name like X-Forwarded-For, X-Real-IP or CF-Connecting-IP');
    }
  }

  const numbers = {
    connectTimeoutSeconds: [proxy.connectTimeoutSeconds ?? 1, 1, 600],
    readTimeoutSeconds: [proxy.readTimeoutSeconds ?? 60, 1, 3600],
    nextUpstreamTries: [proxy.nextUpstreamTries ?? MAX_REPLICAS, 1, MAX_REPLICAS],
    nextUpstreamTimeoutSeconds: [proxy.nextUpstreamTimeoutSeconds ?? 10, 1, 3600],
    maxFails: [proxy.maxFails ?? 1, 0, 100],
    failTimeoutSeconds: [proxy.failTimeoutSeconds ?? 5, 1, 3600],
    keepalive: [proxy.keepalive ?? 128, 1, 1024],
    keepaliveTimeoutSeconds: [proxy.keepaliveTimeoutSeconds ?? 2, 1, 3600],
    memoryMb: [proxy.memoryMb ?? DEFAULTS.proxyMemoryMb, 16, 1024 * 1024],
  } as const;
  for (const [key, [value, min, max]] of Object.entries(numbers)) {
    checkWhole(value, `proxy.${key}`, min, max, `allowed: a whole number from ${min} to ${max}`);
  }
  return {
    image,
    httpPort,
    loadBalancing,
    maxBodySize,
    connectTimeoutSeconds: numbers.connectTimeoutSeconds[0],
    readTimeoutSeconds: numbers.readTimeoutSeconds[0],
    nextUpstreamTries: numbers.nextUpstreamTries[0],
    nextUpstreamTimeoutSeconds: numbers.nextUpstreamTimeoutSeconds[0],
    maxFails: numbers.maxFails[0],
    failTimeoutSeconds: numbers.failTimeoutSeconds[0],
    keepalive: numbers.keepalive[0],
    keepaliveTimeoutSeconds: numbers.keepaliveTimeoutSeconds[0],
    memoryMb: numbers.memoryMb[0],
    httpsPort,
    hstsMaxAgeSeconds,
    securityHeaders: proxy.securityHeaders ?? true,
    maintenance: checkBoolean(proxy.maintenance ?? false, NAMES.maintenance),
    accessLog: checkAccessLog(proxy.accessLog ?? (engine === 'swarm' ? DEFAULTS.swarmAccessLog : DEFAULTS.accessLog)),
    rateLimit,
    realIp,
  };
}

function checkAccessLog(value: unknown): AccessLog {
  if (!ACCESS_LOGS.includes(value as AccessLog)) {
    throw new SettingsError(NAMES.accessLog, value, 'allowed: docker (each request in docker logs) or file (a file in a volume, for production traffic)');
  }
  return value as AccessLog;
}
