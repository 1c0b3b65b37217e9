// The default Docker healthcheck of a replica: "does the app answer HTTP at all?", with whatever
// HTTP client the image happens to have.
import { SettingsError } from './validators';

/** What a health path may hold: it is written into a shell command, so no quotes, spaces or `$`. */
const HEALTH_PATH = /^\/[A-Za-z0-9._~/-]*(\?[A-Za-z0-9._~=&-]*)?$/;
export const HEALTH_PATH_ALLOWED = 'allowed: a path starting with "/" of a-z, A-Z, 0-9 and ._~/- (a query of those and =& may follow "?"), e.g. /api/v1/health';

export function checkHealthPath(path: string, setting: string): string {
  if (typeof path !== 'string' || path.length > 200 || !HEALTH_PATH.test(path)) throw new SettingsError(setting, path, HEALTH_PATH_ALLOWED);
  return path;
}

/**
 * A `CMD-SHELL` healthcheck that GETs `http://127.0.0.1:<port><path>` and counts any answer
 * below 500 as alive: wayshub-backend answers 404 on `/`, and a 404 still proves the server
 * listens and its event loop runs. It uses the first of curl, wget (GNU or busybox), node or
 * bash's /dev/tcp that the image has, so it works on the official node, nginx and alpine images
 * and on a Debian nginx base that has none of the first three. Only `sh` builtins otherwise.
 */
export function defaultHealthcheck(port: number, path = '/'): string[] {
  const url = `http://127.0.0.1:${port}${checkHealthPath(path, 'health path')}`;
  const script = [
    `u='${url}'; p='${path}'; set -f`,
    `if command -v curl >/dev/null; then s=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$u")`,
    // -S prints the status line of each response (busybox too); no -q: GNU wget would hide it.
    // No -T: the healthcheck timeout ends a hung probe, and busybox 1.35 (Debian) crashes on it.
    `elif command -v wget >/dev/null; then s=$(wget -S -O /dev/null "$u" 2>&1)`,
    `elif command -v node >/dev/null; then s=$(node -e "require('http').get(process.argv[1], (r) => console.log(r.statusCode)).on('error', () => {})" "$u")`,
    `elif command -v bash >/dev/null; then s=$(bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && printf "GET %s HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n" "$1" >&3 && read -r l <&3 && echo "$l"' - "$p")`,
    `else echo 'health: no curl, wget, node or bash in the image; set a healthcheck'; exit 1; fi`,
    // The status is the word after the last "HTTP/x" (wget, bash), or the whole output (curl, node).
    `c=; n=; for w in $s; do case $w in HTTP/*) n=1;; *) [ -n "$n" ] && c=$w; n=;; esac; done; [ -n "$c" ] || c=$s`,
    `case $c in [1-4][0-9][0-9]) exit 0;; esac; echo "health: $u answered \${c:-nothing}"; exit 1`,
  ];
  return ['CMD-SHELL', script.join('; ')];
}
