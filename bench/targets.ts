// The peers, configured to match what the stack's nginx does: the replicas found through Docker's
// DNS (asked again every second), kept-alive connections to them, round robin, a 1 s connect
// timeout, a failed replica left alone for 5 s and the request tried on another one, and the
// client's address, scheme and host passed on in the same four headers. Each runs
// twice, like our nginx: with no access log, and with the access log its own docs recommend for
// production (ours: stdout in 4 KB batches, as synthesized).

/**
 * How a peer logs: `best` is its production recommendation (HAProxy: a line per request into an
 * in-memory ring, which a syslog server would read; Caddy: JSON lines to a file); `off` is none.
 */
export type PeerLogging = 'best' | 'off';

/** HAProxy: server-template over the replicas' alias, through Docker's resolver. */
export function haproxyConfig(alias: string, port: number, threads: number, logging: PeerLogging): string {
  const log =
    logging === 'best'
      ? `    log ring@access local0

# The access log: one line per request, written to memory; a syslog server would read it from here.
ring access
    format rfc5424
    maxlen 1200
    size 1048576
`
      : '';
  return `global
    nbthread ${threads}
${log}
defaults
    mode http
${logging === 'best' ? '    log global\n    option httplog\n' : ''}    option http-keep-alive
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout 502 503 504
    timeout connect 1s
    timeout client 60s
    timeout server 60s

resolvers docker
    nameserver dns 127.0.0.11:53
    hold valid 1s

frontend www
    bind :80
    default_backend replicas

backend replicas
    balance roundrobin
    http-reuse always
    # The headers our nginx sends the app (nginx/render.ts): the same work for the same app.
    option forwardfor
    http-request set-header X-Real-IP %[src]
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    default-server check observe layer4 error-limit 1 on-error mark-down inter 5s
    server-template replica 20 ${alias}:${port} resolvers docker init-addr none
`;
}

/** Caddy: dynamic A upstreams over the replicas' alias (Caddy 2.6+). */
export function caddyConfig(alias: string, port: number, logging: PeerLogging): string {
  // JSON lines to a file (the host's disk, not memory), as Caddy's docs set up a production log.
  const log = logging === 'best' ? '\n    log {\n        output file /var/log/caddy/access.log\n        format json\n    }' : '';
  return `{
    admin off
    auto_https off
}

:80 {${log}
    reverse_proxy {
        dynamic a {
            name ${alias}
            port ${port}
            refresh 1s
            resolvers 127.0.0.11
        }
        # Caddy sends X-Forwarded-For, -Proto and -Host itself; X-Real-IP as our nginx does.
        header_up X-Real-IP {remote_host}
        lb_policy round_robin
        lb_try_duration 10s
        fail_duration 5s
        transport http {
            dial_timeout 1s
        }
    }
}
`;
}
