// Rewrites a synthesized cdktf stack so that real Terraform can evaluate it without the
// docker provider (which cannot be downloaded here): every `docker_*` resource becomes a
// built-in `terraform_data` resource whose `input` holds the resource's attributes, and every
// reference to it is redirected to that resource's `output`. Terraform then does the real
// work - variables and their validation, count/for_each, depends_on, interpolation,
// functions, outputs, state and re-planning - and the evaluated `output`s say exactly which
// Docker objects the stack asks for.
//
// Pure: no I/O. Throws on anything it cannot rewrite faithfully, never guesses.
import { Json, JsonObject, isObject } from './json-value';

/** A docker resource of the stack, as the rest of the local apply needs to know it. */
export interface DockerResourceInfo {
  /** `docker_container.app` */
  address: string;
  type: string;
  name: string;
  /** The `terraform_data` resource name it became: `docker_container__app`. */
  dataName: string;
  /** Attribute names it sets (meta-arguments and "//" excluded). */
  attributes: string[];
  /** Docker resources it depends on, explicitly (depends_on) or by reference. */
  dependsOn: string[];
  /**
   * The error message of a `self.exit_code == 0` postcondition. exit_code is known only once
   * the one-shot container has run, so the engine side checks it instead of Terraform.
   */
  exitCodeCheck?: string;
}

export interface RewriteResult {
  json: JsonObject;
  resources: DockerResourceInfo[];
}

// Attributes the provider computes. Without the provider they have no value, so each is
// answered with the attribute the provider itself accepts in its place: a container's
// `image` takes an image name as well as its id, `networks_advanced.name` a network name.
const COMPUTED_AS_NAME: Record<string, readonly string[]> = {
  docker_image: ['image_id'],
  docker_network: ['id'],
  docker_container: ['id'],
  docker_volume: ['id'],
  docker_service: ['id'],
  docker_secret: ['id'],
  docker_config: ['id'],
};

const META = new Set(['count', 'for_each', 'depends_on', 'lifecycle', 'provider']);
const TOP_LEVEL = new Set(['//', 'terraform', 'provider', 'variable', 'locals', 'resource', 'data', 'output']);

const fail = (message: string): never => {
  throw new Error(`local-apply: ${message}`);
};

export function dataNameOf(type: string, name: string): string {
  return `${type}__${name}`;
}

/** The stack with docker resources as `terraform_data`; see the file comment. */
export function rewriteForTerraformData(json: object): JsonObject {
  return rewriteWithGraph(json).json;
}

export function rewriteWithGraph(input: object): RewriteResult {
  if (!isObject(input)) fail('the stack JSON must be an object');
  const json = input as JsonObject;
  for (const key of Object.keys(json)) {
    if (!TOP_LEVEL.has(key)) fail(`top-level \`${key}\` blocks are not supported by this harness`);
  }
  refuseDockerDataSources(json.data);

  const docker = collectDockerResources(json.resource);
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(json)) {
    switch (key) {
      case 'terraform': {
        const t = rewriteTerraformBlock(value);
        if (t) out.terraform = t;
        break;
      }
      case 'provider': {
        const p = withoutKey(value, 'docker');
        if (p) out.provider = p;
        break;
      }
      case 'variable':
        out.variable = rewriteVariables(value, docker);
        break;
      case 'resource':
        out.resource = rewriteResources(value, docker);
        break;
      case 'output':
        out.output = mapEntries(value, (name, body) => rewriteBody(body, context(docker, `output.${name}`)));
        break;
      case 'data':
        out.data = mapEntries(value, (type, byName) => mapEntries(byName, (name, body) => rewriteBody(body, context(docker, `data.${type}.${name}`))));
        break;
      case 'locals':
        out.locals = rewriteValue(value, context(docker, 'locals'));
        break;
      default: // "//": cdktf's metadata, a comment to Terraform
        out[key] = value;
    }
  }
  return { json: out, resources: [...docker.values()].map((d) => d.info) };
}

// ------------------------------------------------------------------ blocks

interface DockerResource {
  body: JsonObject;
  info: DockerResourceInfo;
}
type DockerIndex = Map<string, DockerResource>;

function collectDockerResources(resource: Json | undefined): DockerIndex {
  const index: DockerIndex = new Map();
  if (resource === undefined) return index;
  for (const [type, byName] of Object.entries(asObject(resource, 'resource'))) {
    if (!type.startsWith('docker_')) continue;
    for (const [name, body] of Object.entries(asObject(byName, `resource.${type}`))) {
      const address = `${type}.${name}`;
      const b = asObject(body, address);
      const attributes = Object.keys(b).filter((k) => k !== '//' && !META.has(k));
      index.set(address, {
        body: b,
        info: { address, type, name, dataName: dataNameOf(type, name), attributes, dependsOn: [] },
      });
    }
  }
  return index;
}

function refuseDockerDataSources(data: Json | undefined): void {
  if (data === undefined) return;
  for (const [type, byName] of Object.entries(asObject(data, 'data'))) {
    if (type.startsWith('docker_')) {
      const names = Object.keys(asObject(byName, `data.${type}`)).map((n) => `data.${type}.${n}`);
      fail(`${names.join(', ')}: docker data sources are not supported (they read the engine through the provider, which is not available)`);
    }
  }
}

function rewriteTerraformBlock(value: Json): JsonObject | null {
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(asObject(value, 'terraform'))) {
    // A pg backend is Terraform's own and needs no download: the state goes there, as it would
    // with `cdktf deploy`. Any other (cdktf's local one included) stays in the work directory.
    if (key === 'backend' && isObject(v) && isObject(v.pg)) {
      out[key] = { pg: v.pg };
      continue;
    }
    if (key === 'backend' || key === 'cloud') continue;
    if (key === 'required_providers') {
      const rest = withoutKey(v, 'docker');
      if (rest) out[key] = rest;
      continue;
    }
    out[key] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

// Only a variable's validation holds expressions; default and description are literal.
function rewriteVariables(value: Json, docker: DockerIndex): JsonObject {
  return mapEntries(value, (name, body) => {
    const b = asObject(body, `variable.${name}`);
    if (b.validation === undefined) return b;
    return { ...b, validation: rewriteValue(b.validation, context(docker, `variable.${name}`)) };
  });
}

function rewriteResources(value: Json, docker: DockerIndex): JsonObject {
  const out: JsonObject = {};
  const data: JsonObject = {};
  for (const [type, byName] of Object.entries(asObject(value, 'resource'))) {
    if (!type.startsWith('docker_')) {
      out[type] = mapEntries(byName, (name, body) => rewriteBody(body, context(docker, `${type}.${name}`)));
      continue;
    }
    for (const name of Object.keys(asObject(byName, type))) {
      const d = docker.get(`${type}.${name}`);
      if (!d) return fail(`internal: ${type}.${name} was not indexed`);
      data[d.info.dataName] = rewriteDockerResource(d, docker);
    }
  }
  if (Object.keys(data).length > 0) {
    const existing = out.terraform_data;
    if (existing !== undefined) {
      for (const name of Object.keys(asObject(existing, 'terraform_data'))) {
        if (name in data) fail(`terraform_data.${name} already exists in the stack`);
      }
    }
    out.terraform_data = { ...(existing === undefined ? {} : asObject(existing, 'terraform_data')), ...data };
  }
  return out;
}

function rewriteDockerResource(d: DockerResource, docker: DockerIndex): JsonObject {
  const { address } = d.info;
  const ctx = context(docker, address);
  const out: JsonObject = {};
  const input: JsonObject = {};
  for (const [key, value] of Object.entries(d.body)) {
    if (key === '//' || key === 'provider') continue; // metadata; the provider is gone
    if (key === 'provisioner' || key === 'connection' || key === 'dynamic') {
      fail(`${address} uses \`${key}\`, which this harness does not implement`);
    }
    if (key === 'count' || key === 'for_each') out[key] = rewriteValue(value, ctx);
    else if (key === 'depends_on') out[key] = rewriteReferenceList(value, ctx);
    else if (key === 'lifecycle') out[key] = rewriteLifecycle(value, { ...ctx, self: d });
    else {
      refuseNestedDynamic(value, `${address}.${key}`);
      input[key] = rewriteValue(value, ctx);
    }
  }
  d.info.dependsOn = [...ctx.refs].filter((r) => r !== address).sort();
  return { input, ...replacedOnChange(d.info.type, input, d.body.lifecycle), ...out };
}

// A change of `input` alone is an in-place update of terraform_data. The harness recreates a
// container, network or volume whose attributes changed (as the provider does for its ForceNew
// ones), so the same attributes also trigger a replacement: Terraform then plans it as one,
// ["delete","create"] or, with create_before_destroy, ["create","delete"], and converge takes
// its order from that plan. Attributes under ignore_changes trigger nothing.
// A service is the exception: the provider updates it in place, and Swarm rolls its tasks.
function replacedOnChange(type: string, input: JsonObject, lifecycle: Json | undefined): JsonObject {
  if (type === 'docker_image' || type === 'docker_service') return {};
  const ignored = isObject(lifecycle) ? lifecycle.ignore_changes : undefined;
  if (ignored === 'all' || ignored === '${all}') return {};
  const skip = new Set((Array.isArray(ignored) ? ignored : []).flatMap((entry) => (typeof entry === 'string' ? [entry.split(/[.[]/)[0]] : [])));
  return { triggers_replace: Object.fromEntries(Object.entries(input).filter(([key]) => !skip.has(key))) };
}

function refuseNestedDynamic(value: Json, at: string): void {
  if (Array.isArray(value)) value.forEach((v) => refuseNestedDynamic(v, at));
  else if (isObject(value)) {
    if ('dynamic' in value) fail(`${at} uses a \`dynamic\` block, which this harness does not implement`);
    Object.values(value).forEach((v) => refuseNestedDynamic(v, at));
  }
}

/** A non-docker body (output, other resource): expressions rewritten, depends_on as references. */
function rewriteBody(body: Json, ctx: Ctx): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(asObject(body, ctx.where))) {
    if (key === '//') out[key] = value;
    else if (key === 'depends_on') out[key] = rewriteReferenceList(value, ctx);
    else if (key === 'lifecycle') out[key] = rewriteLifecycle(value, ctx);
    else out[key] = rewriteValue(value, ctx);
  }
  return out;
}

const EXIT_CODE_ZERO = '${self.exit_code == 0}';
// `exit_code == 0`, checked only in the apply that created the container: its env holds the time
// of the plan that created it (ignore_changes keeps it), which no later plan has. The harness
// checks an exit code only when it creates the container, which is the same thing.
const EXIT_CODE_ZERO_WHEN_CREATED = /^\$\{self\.exit_code == 0 \|\| !contains\(self\.env, format\("[A-Z_]+=%s", plantimestamp\(\)\)\)\}$/;

function rewriteLifecycle(value: Json, ctx: Ctx): JsonObject {
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(asObject(value, `${ctx.where}.lifecycle`))) {
    if (key === 'postcondition' && ctx.self?.info.type === 'docker_container' && Array.isArray(v)) {
      const rest = v.filter((c) => !takeExitCodeCheck(c, ctx.self as DockerResource));
      if (rest.length > 0) out[key] = rewriteValue(rest, ctx);
    } else if (key === 'replace_triggered_by') out[key] = rewriteReferenceList(v, ctx);
    else if (key === 'ignore_changes' && ctx.self) out[key] = rewriteIgnoreChanges(v, ctx.where);
    else out[key] = rewriteValue(v, ctx);
  }
  return out;
}

/** Takes a `self.exit_code == 0` postcondition off Terraform's hands; any other use of exit_code is refused. */
function takeExitCodeCheck(condition: Json, self: DockerResource): boolean {
  const c = isObject(condition) ? condition : {};
  const text = typeof c.condition === 'string' ? c.condition : '';
  if (!text.includes('exit_code')) return false;
  const message = c.error_message;
  if ((text !== EXIT_CODE_ZERO && !EXIT_CODE_ZERO_WHEN_CREATED.test(text)) || typeof message !== 'string' || message.includes('${')) {
    fail(
      `${self.info.address}: only a postcondition "${EXIT_CODE_ZERO}" (or the same in the apply that created it) with a plain error_message is implemented for exit_code`,
    );
  }
  self.info.exitCodeCheck = message as string;
  return true;
}

// The docker attribute `env` is `input["env"]` of the terraform_data resource.
function rewriteIgnoreChanges(value: Json, where: string): Json {
  if (value === 'all' || value === '${all}') return value;
  if (!Array.isArray(value)) return fail(`${where}: lifecycle.ignore_changes must be "all" or a list`);
  return value.map((entry) => {
    if (typeof entry !== 'string') return fail(`${where}: lifecycle.ignore_changes entries must be strings`);
    const m = /^([A-Za-z_][A-Za-z0-9_-]*)(.*)$/s.exec(entry);
    if (!m) return fail(`${where}: cannot rewrite lifecycle.ignore_changes entry ${JSON.stringify(entry)}`);
    return `input[${JSON.stringify(m[1])}]${m[2]}`;
  });
}

// depends_on and replace_triggered_by hold bare references ("docker_network.net"), or
// templates ("${docker_network.net}"); both are rewritten.
function rewriteReferenceList(value: Json, ctx: Ctx): Json {
  if (!Array.isArray(value)) return fail(`${ctx.where}: depends_on/replace_triggered_by must be a list`);
  return value.map((entry) => {
    if (typeof entry !== 'string') return rewriteValue(entry, ctx);
    return entry.includes('${') ? rewriteTemplate(entry, ctx) : scanExpression(entry, 0, ctx, null).text;
  });
}

// ------------------------------------------------------------ expressions

interface Ctx {
  docker: DockerIndex;
  /** Where the string sits, for error messages. */
  where: string;
  /** The docker resource whose lifecycle conditions may say `self.x`. */
  self?: DockerResource;
  /** Docker resources referenced so far. */
  refs: Set<string>;
}

function context(docker: DockerIndex, where: string): Ctx {
  return { docker, where, refs: new Set() };
}

/** Every string in a value is a template in Terraform's JSON syntax. */
function rewriteValue(value: Json, ctx: Ctx): Json {
  if (typeof value === 'string') return rewriteTemplate(value, ctx);
  if (Array.isArray(value)) return value.map((v) => rewriteValue(v, ctx));
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = k === '//' ? v : rewriteValue(v, ctx);
    return out;
  }
  return value;
}

/** At `i`: an escaped `$${`/`%%{` (kept), or an interpolation `${ }`/`%{ }` (rewritten); else undefined. */
function templatePart(s: string, i: number, ctx: Ctx): { text: string; next: number } | undefined {
  if (s.startsWith('$${', i) || s.startsWith('%%{', i)) return { text: s.slice(i, i + 3), next: i + 3 };
  if (s.startsWith('${', i) || s.startsWith('%{', i)) {
    const r = scanExpression(s, i + 2, ctx, '}');
    return { text: `${s.slice(i, i + 2)}${r.text}}`, next: r.end + 1 };
  }
  return undefined;
}

/** Rewrites the expressions inside `${ }` and `%{ }` of a template; `$${` and `%%{` are literal. */
function rewriteTemplate(s: string, ctx: Ctx): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const part = templatePart(s, i, ctx);
    if (part) {
      out += part.text;
      i = part.next;
    } else {
      out += s[i];
      i += 1;
    }
  }
  return out;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_-]/;
const CLOSERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

/**
 * Copies an expression from `start`, rewriting docker references, up to the unmatched
 * `stop` character (or the end of the string when stop is null). Strings inside are
 * templates themselves and are handled recursively.
 */
function scanExpression(s: string, start: number, ctx: Ctx, stop: string | null): { text: string; end: number } {
  let out = '';
  const open: string[] = [];
  let i = start;
  while (i < s.length) {
    const c = s[i];
    if (c === '"') {
      const r = scanQuoted(s, i, ctx);
      out += r.text;
      i = r.end;
      continue;
    }
    if (open.length === 0 && c === stop) return { text: out, end: i };
    if (c in CLOSERS) open.push(CLOSERS[c]);
    else if (c === ')' || c === ']' || c === '}') {
      if (open.pop() !== c) fail(`${ctx.where}: unbalanced \`${c}\` in ${JSON.stringify(s)}`);
    }
    const prev = i > 0 ? s[i - 1] : '';
    if (IDENT_START.test(c) && !IDENT_CHAR.test(prev) && prev !== '.') {
      const r = scanReference(s, i, ctx);
      out += r.text;
      i = r.end;
      continue;
    }
    out += c;
    i += 1;
  }
  if (stop !== null) fail(`${ctx.where}: unterminated expression in ${JSON.stringify(s)}`);
  return { text: out, end: i };
}

function scanQuoted(s: string, start: number, ctx: Ctx): { text: string; end: number } {
  let out = '"';
  let i = start + 1;
  while (i < s.length) {
    const part = s[i] === '\\' ? { text: s.slice(i, i + 2), next: i + 2 } : templatePart(s, i, ctx);
    if (part) {
      out += part.text;
      i = part.next;
    } else if (s[i] === '"') {
      return { text: `${out}"`, end: i + 1 };
    } else {
      out += s[i];
      i += 1;
    }
  }
  return fail(`${ctx.where}: unterminated string in ${JSON.stringify(s)}`);
}

function readIdent(s: string, i: number): string {
  let j = i;
  while (j < s.length && IDENT_CHAR.test(s[j])) j += 1;
  return s.slice(i, j);
}

/** At an identifier: a docker reference (rewritten), `self.x` in a docker lifecycle, or anything else (copied). */
function scanReference(s: string, start: number, ctx: Ctx): { text: string; end: number } {
  const head = readIdent(s, start);
  let i = start + head.length;
  const nextIdent = s[i] === '.' && IDENT_START.test(s[i + 1] ?? '') ? readIdent(s, i + 1) : '';

  if (head === 'data' && nextIdent.startsWith('docker_')) {
    fail(`${ctx.where} references data.${nextIdent}: docker data sources are not supported`);
  }
  if (head === 'self' && ctx.self && nextIdent) {
    const attr = mapAttribute(ctx.self, nextIdent, ctx.where);
    return { text: `self.output.${attr}`, end: i + 1 + nextIdent.length };
  }
  if (!head.startsWith('docker_') || !nextIdent) return { text: head, end: i };

  const address = `${head}.${nextIdent}`;
  const target = ctx.docker.get(address);
  if (!target) return fail(`${ctx.where} references ${address}, which the stack does not declare`);
  ctx.refs.add(address);
  i += 1 + nextIdent.length;

  // An index (`[0]`, `[count.index]`, `["k"]`), a splat (`[*]`, `.*`), or neither.
  let index = '';
  if (s[i] === '[') {
    const r = scanExpression(s, i + 1, ctx, ']');
    index = `[${r.text}]`;
    i = r.end + 1;
  } else if (s.startsWith('.*', i)) {
    index = '.*';
    i += 2;
  }
  const base = `terraform_data.${target.info.dataName}${index}`;
  if (s[i] === '.' && IDENT_START.test(s[i + 1] ?? '')) {
    const attr = readIdent(s, i + 1);
    return { text: `${base}.output.${mapAttribute(target, attr, ctx.where)}`, end: i + 1 + attr.length };
  }
  // The whole object (`length(docker_container.app)`, depends_on): the terraform_data
  // resource stands in; its attributes are under `.output`.
  return { text: base, end: i };
}

function mapAttribute(target: DockerResource, attr: string, where: string): string {
  const { address, type, attributes } = target.info;
  if (attributes.includes(attr)) return attr;
  const computed = COMPUTED_AS_NAME[type] ?? [];
  if (computed.includes(attr)) {
    if (attributes.includes('name')) return 'name';
    return fail(`${where} references ${address}.${attr}, which stands for \`name\`, but ${address} does not set \`name\``);
  }
  const mapped = computed.map((c) => `${c} (as name)`);
  return fail(
    `${where} references ${address}.${attr}, but ${address} does not set \`${attr}\`: ` +
      'without the docker provider only attributes set in the configuration can be read' +
      (mapped.length > 0 ? `, and ${mapped.join(', ')}` : ''),
  );
}

// ------------------------------------------------------------------ helpers

function asObject(v: Json | undefined, where: string): JsonObject {
  if (!isObject(v)) return fail(`${where} must be an object`);
  return v;
}

function mapEntries(v: Json, fn: (key: string, value: Json) => Json): JsonObject {
  const out: JsonObject = {};
  for (const [k, value] of Object.entries(asObject(v, 'block'))) out[k] = fn(k, value);
  return out;
}

function withoutKey(v: Json, key: string): JsonObject | null {
  const rest = { ...asObject(v, 'block') };
  delete rest[key];
  return Object.keys(rest).length > 0 ? rest : null;
}
