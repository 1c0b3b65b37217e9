// The app a first deploy runs when no app image is given: the proxy's own nginx image (already
// pulled for the proxy, nothing to build), answering every request with its replica's name, so
// `curl http://wayshub.localhost` in a loop shows the replicas taking turns. WAYSHUB_APP_IMAGE
// (or app.image) replaces it with the real app.

/** What nginx's master needs back to create its temp directories and drop to its workers' user. */
export const DEMO_CAPABILITIES: readonly string[] = ['CHOWN', 'SETGID', 'SETUID'];

/** The demo's command: a config of its own in /tmp (the image's default one listens on 80), then nginx. */
export function demoAppCommand(port: number): string[] {
  const config = [
    'pid /tmp/demo-app.pid;',
    'error_log stderr;',
    'events {}',
    'http {',
    '    access_log off;',
    '    client_body_temp_path /tmp/body; proxy_temp_path /tmp/proxy; fastcgi_temp_path /tmp/fastcgi;',
    '    uwsgi_temp_path /tmp/uwsgi; scgi_temp_path /tmp/scgi;',
    '    server {',
    `        listen ${port};`,
    '        default_type text/plain;',
    "        # The container name: the stack sets each replica's hostname to it.",
    '        location / { return 200 "$hostname\\n"; }',
    '    }',
    '}',
  ].join('\n');
  return ['/bin/sh', '-c', `cat > /tmp/demo-app.conf <<'CONF'\n${config}\nCONF\nexec nginx -c /tmp/demo-app.conf -g 'daemon off;'`];
}
