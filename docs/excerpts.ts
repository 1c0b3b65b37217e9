// The guide's config excerpts, cut from what the project generates: the stack is built with the
// guide's settings, and each excerpt is one block of its ProxyContainer's files (the output of
// renderNginxConfig). `npm run docs` writes them into the guides; a unit test fails when a
// guide's copy differs, so the guide can't drift from the code.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App } from 'cdktf';

import { WayshubSettingsInput, resolveSettings } from '../constructs/settings';
import { parseLoadBalancing } from '../constructs/settings/proxy';
import { WayshubStack } from '../constructs/stack/wayshub-stack';
import { NGINX_CONF_PATH, SITE_CONF_PATH, UPSTREAM_CONF_PATH } from '../nginx/render';
import { settingsTable } from '../constructs/settings/schema';

/** The guide's deployment: the task's own example domain, defaults for everything else. */
export const GUIDE_SETTINGS: WayshubSettingsInput = { domain: 'alvin.xyz' };

export const GUIDES = ['docs/guide.md', 'docs/guide.id.md'] as const;

function nginxFiles(settings: WayshubSettingsInput): Record<string, string> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-docs-'));
  try {
    const stack = new WayshubStack(new App({ outdir }), 'wayshub', resolveSettings(settings));
    return Object.fromEntries(stack.edge.proxy.files.map((f) => [f.path, f.content]));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** The top-level block (`server {`, `upstream x {`, `map ... {`) around the line matching `inside`, with the comment lines right above it. */
function block(text: string, inside: RegExp): string {
  const lines = text.split('\n');
  const hit = lines.findIndex((line) => inside.test(line));
  if (hit < 0) throw new Error(`docs: no line matching ${inside} in the generated config`);
  let from = hit;
  while (from > 0 && !/^\S.*\{\s*$/.test(lines[from])) from--;
  let to = from;
  while (to < lines.length - 1 && lines[to] !== '}') to++;
  while (from > 0 && /^#/.test(lines[from - 1])) from--;
  return lines.slice(from, to + 1).join('\n');
}

/** Lines from the one matching `from` to the one matching `to`, both included. */
function lines(text: string, from: RegExp, to: RegExp): string {
  const all = text.split('\n');
  const a = all.findIndex((line) => from.test(line));
  const b = all.findIndex((line, i) => i >= a && to.test(line));
  if (a < 0 || b < 0) throw new Error(`docs: no lines from ${from} to ${to} in the generated config`);
  const picked = all.slice(a, b + 1);
  const indent = Math.min(...picked.filter((line) => line.trim()).map((line) => /^ */.exec(line)?.[0].length ?? 0));
  return picked.map((line) => line.slice(indent)).join('\n');
}

const guide = (extra: WayshubSettingsInput = {}) => nginxFiles({ ...GUIDE_SETTINGS, ...extra });
const method = (lb: string) =>
  lines(
    guide({ proxy: { loadBalancing: parseLoadBalancing(lb) } })[UPSTREAM_CONF_PATH],
    /^\s*# (Each|A client|Pick|The same key)/,
    /^\s*(least_conn|ip_hash|random|hash)[ ;]/,
  );

/** Every excerpt the guides may name, by name. */
export const EXCERPTS: Record<string, () => string> = {
  site: () => block(guide()[SITE_CONF_PATH], /^\s*server_name alvin\.xyz;/),
  'default-server': () => block(guide()[SITE_CONF_PATH], /^\s*listen 80 default_server;/),
  upstream: () => block(guide()[UPSTREAM_CONF_PATH], /^\s*zone /),
  'retry-methods': () => block(guide()[SITE_CONF_PATH], /^map "\$request_method:/),
  'access-log': () => lines(guide()[NGINX_CONF_PATH], /# One line per request/, /access_log /),
  'tls-reject': () => block(guide({ tls: { mode: 'letsencrypt', email: 'you@alvin.xyz' } })[SITE_CONF_PATH], /^\s*ssl_reject_handshake on;/),
  'method-least-conn': () => method('least_conn'),
  'method-ip-hash': () => method('ip_hash'),
  'method-hash': () => method('hash:$request_uri:consistent'),
  'method-random-two': () => method('random_two_least_conn'),
};

// A generated block in a guide: the marker names the excerpt; `npm run docs` rewrites the fence.
const GENERATED = /<!-- generated: ([\w-]+) \(npm run docs\) -->\n```nginx\n([\s\S]*?)\n```\n<!-- end generated -->/g;

/** The guide's Markdown with every generated block as the code emits it now. */
export function regenerate(markdown: string): string {
  return markdown.replace(GENERATED, (_all, name: string) => {
    const excerpt = EXCERPTS[name];
    if (!excerpt) throw new Error(`docs: unknown excerpt "${name}"; known: ${Object.keys(EXCERPTS).join(', ')}`);
    return `<!-- generated: ${name} (npm run docs) -->\n\`\`\`nginx\n${excerpt()}\n\`\`\`\n<!-- end generated -->`;
  });
}

/** The names of the generated blocks in a guide, in order. */
export function generatedBlocks(markdown: string): { name: string; text: string }[] {
  return [...markdown.matchAll(GENERATED)].map((m) => ({ name: m[1], text: m[2] }));
}

// The settings table of docs/settings.md, from the settings schema (constructs/settings/schema.ts).
export const SETTINGS_PAGE = 'docs/settings.md';
const SETTINGS_TABLE = /<!-- generated: settings-table \(npm run docs\) -->\n([\s\S]*?)\n<!-- end generated -->/;

/** docs/settings.md with its table as the schema gives it now. */
export function regenerateSettings(markdown: string): string {
  if (!SETTINGS_TABLE.test(markdown)) throw new Error(`docs: ${SETTINGS_PAGE} has no generated settings table`);
  return markdown.replace(SETTINGS_TABLE, `<!-- generated: settings-table (npm run docs) -->\n${settingsTable()}\n<!-- end generated -->`);
}

/** The settings table as docs/settings.md has it. */
export function settingsTableOf(markdown: string): string | undefined {
  return SETTINGS_TABLE.exec(markdown)?.[1];
}
