// "Local apply": the closest honest substitute for `cdktf deploy` where the docker provider
// cannot be downloaded. Real Terraform evaluates the synthesized stack (variables and their
// validation, count, references, outputs, state across applies) with every docker resource
// rewritten to a built-in `terraform_data` (see tf-rewrite.ts); the evaluated attributes are
// then realized on the Docker Engine with the docker CLI (docker-spec.ts, converge.ts).
//
// What differs from the provider is refused loudly rather than approximated: a resource type
// or attribute the harness does not implement, docker data sources, dynamic blocks, reading
// a provider-computed attribute other than the ids it maps to names. Images are never
// removed (they are test inputs). destroy() keeps volumes unless asked ({ volumes: true }).
import { mkdirSync, mkdtempSync, promises as fs, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ContainerRef, Desired, LABELS, Log, NotHealthyError, converge, teardown } from './converge';
import { DockerSpec, EvaluatedInstance, assertImplemented, buildSpec, isSupportedType } from './docker-spec';
import { JsonObject, isObject, parseJson, sha256 } from './json-value';
import { plannedActions, resourceOf } from './plan-order';
import { TerraformCli, TerraformState, Vars } from './terraform-cli';
import { exists, isSwarmManager } from './docker-cli';
import { SwarmDesired, convergeServices, createSwarmObjects, removeSurplus, teardownSwarm } from './swarm-converge';
import { DockerResourceInfo, RewriteResult, rewriteWithGraph } from './tf-rewrite';

export interface LocalApplyOptions {
  /** Where the rewritten stack and its Terraform state live; a new temp dir by default. */
  workDir?: string;
  /** Progress lines ("terraform apply (replicas=5): 0.31s", "created wayshub-app-4", ...). */
  log?: (line: string) => void;
  /** Labels what this instance creates; by default derived from workDir, so the same
   *  workDir in another process finds (and converges) the same containers. */
  deployment?: string;
  /** Relative paths in the stack (build contexts, upload sources) are resolved against it:
   *  the stack dir for fromStackDir, the current directory for fromJson. */
  baseDir?: string;
  /** Environment of the terraform processes alone, e.g. PG_CONN_STR for a pg backend. */
  terraformEnv?: Readonly<Record<string, string>>;
}

export interface ApplyResult {
  outputs: Record<string, unknown>;
  /** Every container the stack declares, by container name. */
  containers: Map<string, ContainerRef>;
}

export interface DestroyOptions {
  /** Also remove the volumes it created (default false: data survives a destroy). */
  volumes?: boolean;
}

// create_before_destroy is realized for containers only (their replacements must have new
// names: converge refuses one that keeps its name, as Docker would), in the order Terraform's
// plan gives (plan-order.ts); networks and volumes are replaced by remove, then create.
// Secrets and configs can't change: a new one has a new name, and the old one goes only after the
// services have moved off it (swarm-converge.ts), which is create_before_destroy's order.
const CREATE_FIRST_TYPES = new Set(['docker_container', 'docker_image', 'docker_secret', 'docker_config']);

export class LocalApply {
  readonly workDir: string;
  readonly deployment: string;
  private readonly log: Log;
  private readonly baseDir: string;
  private readonly rewrite: RewriteResult;
  private readonly createFirst: ReadonlySet<string>;
  /** Resources some container depends on, directly or not (`docker_service.db`). */
  private readonly neededByContainers: ReadonlySet<string>;
  private readonly tf: TerraformCli;
  /** The state is in a backend (pg), not in the work directory. */
  private readonly remoteState: boolean;
  /** A work dir this instance made itself is removed by destroy(). */
  private readonly ownsWorkDir: boolean;
  private initialized = false;
  private lastVars: Vars | undefined;

  private constructor(source: object, opts: LocalApplyOptions & { baseDir: string; tempPrefix: string }) {
    // Refuse first: a stack the harness cannot realize leaves nothing behind.
    this.rewrite = rewriteWithGraph(source);
    refuseUnrealizable(source, this.rewrite.resources);
    this.createFirst = createBeforeDestroy(source, this.rewrite.resources);
    this.neededByContainers = dependenciesOf(this.rewrite.resources, 'docker_container');
    this.ownsWorkDir = opts.workDir === undefined;
    const dir = opts.workDir ?? mkdtempSync(path.join(os.tmpdir(), opts.tempPrefix));
    mkdirSync(dir, { recursive: true });
    this.workDir = realpathSync(dir);
    this.deployment = opts.deployment ?? `la-${sha256(this.workDir).slice(0, 12)}`;
    this.log = opts.log ?? (() => undefined);
    this.baseDir = opts.baseDir;
    this.tf = new TerraformCli(this.workDir, opts.terraformEnv);
    this.remoteState = isObject(this.rewrite.json.terraform) && isObject(this.rewrite.json.terraform.backend);
  }

  /** Reads `<stackDir>/cdk.tf.json` (as `cdktf synth` writes it). */
  static async fromStackDir(stackDir: string, opts: LocalApplyOptions = {}): Promise<LocalApply> {
    const file = path.join(stackDir, 'cdk.tf.json');
    const json = parseJson(await fs.readFile(file, 'utf8'));
    if (!isObject(json)) throw new Error(`local-apply: ${file} is not a JSON object`);
    return new LocalApply(json, {
      ...opts,
      tempPrefix: `local-apply-${path.basename(stackDir)}-`,
      baseDir: opts.baseDir ?? stackDir,
    });
  }

  static fromJson(json: object, opts: LocalApplyOptions = {}): LocalApply {
    return new LocalApply(json, {
      ...opts,
      tempPrefix: 'local-apply-',
      baseDir: opts.baseDir ?? process.cwd(),
    });
  }

  /** `terraform apply` with these variables, then converge the engine to the result. */
  async apply(vars: Vars = {}): Promise<ApplyResult> {
    await this.ensureInit();
    // Secrets (db_password, jwt_private_key, ...) are named, not shown.
    const secret = /password|key|secret|token/i;
    const shown = Object.entries(vars)
      .map(([k, v]) => `${k}=${secret.test(k) ? '***' : String(v)}`)
      .join(', ');
    this.log(`terraform apply (${shown || 'defaults'}) ...`);
    const t0 = Date.now();
    // Plan, then apply that plan: its actions say in which order old containers go.
    const planned = plannedActions(await this.tf.plan(vars), this.rewrite.resources);
    await this.tf.applyPlan();
    const state = await this.tf.state();
    this.log(`terraform apply (${shown || 'defaults'}): ${seconds(t0)}`);
    this.lastVars = vars;

    const { swarm, ...desired } = { ...this.desiredFrom(state), planned };
    const t1 = Date.now();
    const manager = await isSwarmManager();
    const usesSwarm = swarm.services.length + swarm.objects.length > 0;
    if (usesSwarm && !manager) throw new Error('local-apply: the stack has Swarm services, but this Docker Engine is not a swarm manager (docker swarm init)');
    // Terraform's order across the two kinds: a service a container depends on (the database
    // before its migration job) converges before the containers, the others after them.
    const first = swarm.services.filter((s) => this.neededByContainers.has(resourceOf(s.address)));
    const beforeContainers = async () => {
      if (!usesSwarm) return;
      await createSwarmObjects(swarm, this.deployment, this.log);
      await convergeServices({ ...swarm, services: first }, this.deployment, this.log);
    };
    const containers = await converge({ ...desired, beforeContainers, forgotten: await this.forgotten() }, this.deployment, this.log).catch(
      async (e: unknown) => {
        if (e instanceof NotHealthyError) {
          // As Terraform keeps the provider's container that never became healthy: tainted. The
          // provider creates a resource's instances in parallel; the harness stopped at the first
          // failure, so the ones it never created are tainted too (Terraform's state holds them).
          const notCreated: string[] = [];
          for (const c of desired.containers) if (!(await exists('container', c.name))) notCreated.push(c.address);
          for (const address of new Set([e.address, ...notCreated])) {
            const info = this.rewrite.resources.find((r) => r.address === resourceOf(address));
            if (!info) continue;
            await this.tf.taint(`terraform_data.${info.dataName}${address.slice(info.address.length)}`);
            this.log(`tainted ${address} (${address === e.address ? 'never became healthy' : 'never created'})`);
          }
        }
        throw e;
      },
    );
    if (usesSwarm) await convergeServices({ ...swarm, services: swarm.services.filter((s) => !first.includes(s)) }, this.deployment, this.log);
    if (manager) await removeSurplus(swarm, this.deployment, this.log);
    this.log(`engine converged: ${seconds(t1)}`);
    return { outputs: state.outputs, containers };
  }

  /**
   * `terraform destroy` on the copy (with the variables of the last successful apply; it
   * fails, removing nothing, where Terraform would, e.g. prevent_destroy), then removes every
   * container and network this deployment created, and its volumes when asked.
   */
  async destroy(opts: DestroyOptions = {}): Promise<void> {
    const hasState =
      this.remoteState ||
      (await fs.stat(path.join(this.workDir, 'terraform.tfstate')).then(
        () => true,
        () => false,
      ));
    if (hasState) {
      await this.ensureInit();
      const t0 = Date.now();
      await this.tf.destroy(this.lastVars ?? {});
      this.log(`terraform destroy: ${seconds(t0)}`);
    }
    if (await isSwarmManager()) await teardownSwarm(this.deployment, this.log);
    const forgotten = await this.forgotten();
    await teardown(this.deployment, { volumes: opts.volumes ?? false, rank: creationOrder(this.rewrite.resources), forgotten }, this.log);
    if (this.ownsWorkDir) {
      await fs.rm(this.workDir, { recursive: true, force: true });
      this.initialized = false;
    }
  }

  /**
   * `terraform state rm` of a docker resource (`docker_volume.db_data`): Terraform forgets it,
   * the engine keeps it, and no later destroy removes it.
   */
  async forget(dockerAddress: string): Promise<void> {
    const info = this.rewrite.resources.find((r) => r.address === dockerAddress);
    if (!info) throw new Error(`local-apply: the stack declares no ${dockerAddress}`);
    await this.ensureInit();
    // The engine objects keep this deployment's labels: remember their names, so that no later
    // apply or destroy takes them for its own.
    const names = (await this.tf.state()).resources
      .filter((r) => r.type === 'terraform_data' && r.name === info.dataName)
      .map((r) => (isObject(r.values.output) ? r.values.output.name : undefined))
      .filter((name): name is string => typeof name === 'string');
    await this.tf.stateRm(`terraform_data.${info.dataName}`);
    await fs.writeFile(this.forgottenFile, `${JSON.stringify([...(await this.forgotten()), ...names])}\n`);
    this.log(`terraform state rm ${dockerAddress} (${names.join(', ')} stays on the engine)`);
  }

  private get forgottenFile(): string {
    return path.join(this.workDir, 'forgotten.json');
  }

  /** Engine objects Terraform was told to forget (forget()). */
  private async forgotten(): Promise<Set<string>> {
    const text = await fs.readFile(this.forgottenFile, 'utf8').catch(() => '[]');
    const list = parseJson(text);
    return new Set(Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : []);
  }

  private async ensureInit(): Promise<void> {
    if (this.initialized) return;
    await fs.mkdir(this.workDir, { recursive: true });
    await fs.writeFile(path.join(this.workDir, 'main.tf.json'), `${JSON.stringify(this.rewrite.json, null, 2)}\n`);
    const t0 = Date.now();
    await this.tf.init();
    this.log(`terraform init: ${seconds(t0)} (${this.workDir})`);
    this.initialized = true;
  }

  private desiredFrom(state: TerraformState): Desired & { swarm: SwarmDesired } {
    const byDataName = new Map(this.rewrite.resources.map((r) => [r.dataName, r]));
    const order = creationOrder(this.rewrite.resources);
    const instances: { rank: number; index: number | string | undefined; inst: EvaluatedInstance }[] = [];
    for (const r of state.resources) {
      const info = r.type === 'terraform_data' ? byDataName.get(r.name) : undefined;
      if (!info || !isSupportedType(info.type)) continue;
      const suffix = r.index === undefined ? '' : `[${JSON.stringify(r.index)}]`;
      const output = r.values.output;
      instances.push({
        rank: order.get(info.address) ?? 0,
        index: r.index,
        inst: { type: info.type, resource: info.address, address: `${info.address}${suffix}`, attrs: isObject(output) ? output : {} },
      });
    }
    instances.sort((a, b) => a.rank - b.rank || compareIndex(a.index, b.index));

    const checks = new Map(this.rewrite.resources.map((r) => [r.address, r.exitCodeCheck]));
    const specs: DockerSpec[] = instances.map(({ inst }) => {
      const spec = buildSpec(inst, this.baseDir);
      if (spec.kind === 'container') spec.exitCodeCheck = checks.get(inst.resource);
      return spec;
    });
    for (const s of specs) if (s.kind === 'container') s.notes.forEach((n) => this.log(`note: ${n}`));
    return {
      rank: order,
      networks: specs.flatMap((s) => (s.kind === 'network' ? [s] : [])),
      volumes: specs.flatMap((s) => (s.kind === 'volume' ? [s] : [])),
      images: specs.flatMap((s) => (s.kind === 'image' ? [s] : [])),
      containers: specs.flatMap((s) => (s.kind === 'container' ? [s] : [])),
      createBeforeDestroy: this.createFirst,
      swarm: {
        services: specs.flatMap((s) => (s.kind === 'service' ? [s] : [])),
        objects: specs.flatMap((s) => (s.kind === 'secret' || s.kind === 'config' ? [s] : [])),
      },
    };
  }
}

/** Labels the harness puts on everything it creates for this deployment (for assertions). */
export function deploymentLabel(deployment: string): string {
  return `${LABELS.deployment}=${deployment}`;
}

/** The `lifecycle` block of a docker resource as the synthesized stack declares it. */
function lifecycleOf(source: object, r: DockerResourceInfo): JsonObject {
  const resource = isObject(source) && isObject(source.resource) ? source.resource : {};
  const byName = resource[r.type];
  const body = isObject(byName) && isObject(byName[r.name]) ? byName[r.name] : {};
  return isObject(body) && isObject(body.lifecycle) ? body.lifecycle : {};
}

function refuseUnrealizable(source: object, resources: DockerResourceInfo[]): void {
  for (const r of resources) {
    assertImplemented(r.type, r.address, r.attributes);
    if (lifecycleOf(source, r).create_before_destroy === true && !CREATE_FIRST_TYPES.has(r.type)) {
      throw new Error(`local-apply: ${r.address} sets lifecycle.create_before_destroy, which this harness realizes for containers only`);
    }
  }
}

/** The container resources that set lifecycle.create_before_destroy. */
function createBeforeDestroy(source: object, resources: DockerResourceInfo[]): Set<string> {
  return new Set(resources.filter((r) => r.type === 'docker_container' && lifecycleOf(source, r).create_before_destroy === true).map((r) => r.address));
}

/** Every resource that a resource of this type depends on, directly or through others. */
function dependenciesOf(resources: DockerResourceInfo[], type: string): Set<string> {
  const byAddress = new Map(resources.map((r) => [r.address, r]));
  const found = new Set<string>();
  const visit = (address: string): void => {
    for (const dep of byAddress.get(address)?.dependsOn ?? []) {
      if (found.has(dep)) continue;
      found.add(dep);
      visit(dep);
    }
  };
  resources.filter((r) => r.type === type).forEach((r) => visit(r.address));
  return found;
}

/** Docker resources in an order where each comes after what it depends on. */
function creationOrder(resources: DockerResourceInfo[]): Map<string, number> {
  const byAddress = new Map(resources.map((r) => [r.address, r]));
  const order = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (address: string): void => {
    if (order.has(address)) return;
    if (visiting.has(address)) throw new Error(`local-apply: dependency cycle through ${address}`);
    visiting.add(address);
    for (const dep of byAddress.get(address)?.dependsOn ?? []) visit(dep);
    visiting.delete(address);
    order.set(address, order.size);
  };
  resources.forEach((r) => visit(r.address));
  return order;
}

function compareIndex(a: number | string | undefined, b: number | string | undefined): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a ?? '').localeCompare(String(b ?? ''));
}

function seconds(t0: number): string {
  return `${((Date.now() - t0) / 1000).toFixed(2)}s`;
}
