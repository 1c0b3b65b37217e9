// The peers, configured to match what the stack's nginx does: the replicas found through Docker's
// DNS (asked again every second), kept-alive connections to them, round robin, a 1 s connect
// timeout, a failed replica left alone for 5 s and the request tried on another one, and one
// access-log line per request on stdout (which Docker's json-file driver stores, as it does
// nginx's; neither peer can batch its stdout log lines).

/** HAProxy: server-template over the replicas' alias, through Docker's resolver. */
export function haproxyConfig(alias: string, port: number, threads: number): string {
  return `global
    nbthread ${threads}
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    option http-keep-alive
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
    default-server check observe layer4 error-limit 1 on-error mark-down inter 5s
    server-template replica 20 ${alias}:${port} resolvers docker init-addr none
`;
}

/** Caddy: dynamic A upstreams over the replicas' alias (Caddy 2.6+). */
export function caddyConfig(alias: string, port: number): string {
  return `{
    admin off
    auto_https off
}

:80 {
    log {
        output stdout
        format console
    }
    reverse_proxy {
        dynamic a {
            name ${alias}
            port ${port}
            refresh 1s
            resolvers 127.0.0.11
        }
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
