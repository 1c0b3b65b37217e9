// The tuning rows: each is our nginx with one change to its generated config, run beside the
// config as synthesized in the same rounds, so every row is a before/after from one run.
// Where the renderer adopted a change, its variant undoes it (the "before"); the others try
// what the renderer does not do.
import { ACCESS_LOG_FILE } from '../constructs/engines/nginx-proxy';
import { NGINX_CONF_PATH, SITE_CONF_PATH, UPSTREAM_CONF_PATH, renderAccessLog } from '../nginx/render';

export type ConfigFiles = Record<string, string>;

export interface Variant {
  name: string;
  /** What the row shows, for the report. */
  what: string;
  edit: (files: ConfigFiles) => ConfigFiles;
  /** Extra request headers for its rows, e.g. to ask for gzip. */
  headers?: Record<string, string>;
  /** Which load it is measured with: the 1 KB answer, the 100 KB JSON (static replicas), or a 1 MB upload (Node replicas). */
  load: 'small' | 'large' | 'upload';
}

const replace = (file: string, from: RegExp, to: string) => (files: ConfigFiles) => {
  if (!new RegExp(from.source).test(files[file])) throw new Error(`bench: tuning: ${from} is not in ${file}`);
  return { ...files, [file]: files[file].replace(from, to) };
};

/** The access log's line (not the metrics exporter's, `wayshub_metrics`), to a file or to stdout. */
const ACCESS_LOG_LINE = /access_log \S+ wayshub\b[^;]*;/;

/** Our nginx with no access log: a peer in every section (the run's `nginx:no-log`), not a tuning row. */
export const NO_ACCESS_LOG = replace(NGINX_CONF_PATH, ACCESS_LOG_LINE, 'access_log off;');

/** Our nginx with WAYSHUB_ACCESS_LOG=docker: the renderer's own lines for it, in place of the file's. */
export const ACCESS_LOG_TO_DOCKER = (files: ConfigFiles): ConfigFiles => {
  const [file, stdout] = [renderAccessLog(ACCESS_LOG_FILE), renderAccessLog(undefined)];
  if (!files[NGINX_CONF_PATH].includes(file)) throw new Error(`bench: the access log file is not in ${NGINX_CONF_PATH}`);
  return { ...files, [NGINX_CONF_PATH]: files[NGINX_CONF_PATH].replace(file, stdout) };
};

export const VARIANTS: readonly Variant[] = [
  {
    name: 'log-unbuffered',
    what: 'access log written line by line (no buffer) into its file',
    edit: replace(NGINX_CONF_PATH, ACCESS_LOG_LINE, `access_log ${ACCESS_LOG_FILE} wayshub;`),
    load: 'small',
  },
  {
    name: 'workers-1',
    what: 'one worker process (instead of one per core)',
    edit: replace(NGINX_CONF_PATH, /worker_processes auto;/, 'worker_processes 1;'),
    load: 'small',
  },
  {
    name: 'no-upstream-keepalive',
    what: 'a new connection to the replica for every request',
    edit: (files) => replace(UPSTREAM_CONF_PATH, /\n\s*keepalive \d+;/g, '')(replace(UPSTREAM_CONF_PATH, /\n\s*keepalive_timeout \d+s;/g, '')(files)),
    load: 'small',
  },
  {
    name: 'proxy-buffering-off',
    what: 'answers passed on as they arrive, not buffered (100 KB answers)',
    edit: replace(SITE_CONF_PATH, /proxy_http_version 1\.1;/g, 'proxy_http_version 1.1;\n    proxy_buffering off;'),
    load: 'large',
  },
  {
    name: 'gzip-5',
    what: 'gzip level 5, as before the tuning (level 1 now), 100 KB JSON to a client that accepts gzip',
    edit: replace(NGINX_CONF_PATH, /gzip_comp_level \d+;/, 'gzip_comp_level 5;'),
    headers: { 'Accept-Encoding': 'gzip' },
    load: 'large',
  },
  {
    name: 'uploads-buffered',
    what: 'every request body read whole first (a 1 MB one into a temp file), as before uploads were streamed',
    edit: replace(SITE_CONF_PATH, /\n\s*if \(\$wayshub_stream_body\) \{\s*return 418;\s*\}/g, ''),
    load: 'upload',
  },
  {
    name: 'body-buffer-1m',
    what: 'a 1 MiB buffer for each request body (instead of 128 KiB) (1 MB uploads)',
    edit: replace(SITE_CONF_PATH, /client_body_buffer_size \w+;/g, 'client_body_buffer_size 1m;'),
    load: 'upload',
  },
];
