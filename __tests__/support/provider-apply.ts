// The real kreuzwerker/docker provider under the e2e tests: `terraform apply` on the synthesized
// cdk.tf.json, as `cdktf deploy` runs it, with the provider from a local filesystem mirror
// (WAYSHUB_PROVIDER_MIRROR). After every apply a second plan must show no changes: that is
// what a user's next `cdktf diff` shows.
import { promises as fs, mkdirSync, mkdtempSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ApplyResult, JsonObject } from './local-apply';
import { ContainerRef } from './local-apply/converge';
import { TerraformCli, Vars } from './local-apply/terraform-cli';

export interface ProviderApplyOptions {
  workDir?: string;
  log?: (line: string) => void;
  terraformEnv?: Readonly<Record<string, string>>;
}

/**
 * Resources a second plan replaces by design: the migration job runs once per apply (a new
 * timestamp each plan), and its run id with it.
 */
const REPLACED_EVERY_APPLY = /^(docker_container\.migrate|terraform_data\.migrate_run)$/;

export class ProviderApply {
  readonly workDir: string;
  private readonly tf: TerraformCli;
  private readonly log: (line: string) => void;
  private readonly ownsWorkDir: boolean;
  private initialized = false;
  private lastVars: Vars = {};

  private constructor(
    private readonly json: JsonObject,
    mirror: string,
    opts: ProviderApplyOptions,
  ) {
    this.ownsWorkDir = opts.workDir === undefined;
    const dir = opts.workDir ?? mkdtempSync(path.join(os.tmpdir(), 'provider-apply-'));
    mkdirSync(dir, { recursive: true });
    this.workDir = realpathSync(dir);
    this.log = opts.log ?? (() => undefined);
    const cliConfig = `provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(mirror)}
    include = ["registry.terraform.io/kreuzwerker/docker"]
  }
}
`;
    this.tf = new TerraformCli(this.workDir, opts.terraformEnv, cliConfig);
  }

  /** The provider mirror the e2e tests use, when one is configured. */
  static mirror(): string | undefined {
    return process.env.WAYSHUB_PROVIDER_MIRROR || undefined;
  }

  static async fromStackDir(stackDir: string, opts: ProviderApplyOptions = {}): Promise<ProviderApply> {
    const mirror = ProviderApply.mirror();
    if (!mirror) throw new Error('provider-apply: WAYSHUB_PROVIDER_MIRROR names no provider mirror');
    const json = JSON.parse(await fs.readFile(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as JsonObject;
    return new ProviderApply(json, mirror, opts);
  }

  /** `terraform apply`, then a second plan that must be quiet. */
  async apply(vars: Vars = {}): Promise<ApplyResult> {
    await this.init();
    const t0 = Date.now();
    await this.tf.apply(vars);
    this.lastVars = vars;
    this.log(`terraform apply (provider): ${seconds(t0)}`);
    await this.expectQuietPlan(vars);
    const state = await this.tf.state();
    const containers = new Map<string, ContainerRef>();
    for (const r of state.resources) {
      if (r.type !== 'docker_container' || typeof r.values.name !== 'string' || typeof r.values.id !== 'string') continue;
      containers.set(r.values.name, { id: r.values.id, name: r.values.name });
    }
    return { outputs: state.outputs, containers };
  }

  /** What the next `cdktf diff` would show, beyond the by-design replacements. */
  async expectQuietPlan(vars: Vars = this.lastVars): Promise<void> {
    const t0 = Date.now();
    const changes = (await this.tf.changes(vars)).filter((c) => !REPLACED_EVERY_APPLY.test(c.address.replace(/\[\d+\]$/, '')));
    this.log(`second plan: ${changes.length} changes (${seconds(t0)})`);
    if (changes.length > 0) {
      throw new Error(`provider-apply: the plan after an apply is not quiet: ${changes.map((c) => `${c.address} ${c.actions.join('+')}`).join(', ')}`);
    }
  }

  /**
   * `terraform destroy`, as `cdktf destroy` runs it: it removes the volumes too, and fails,
   * removing nothing, where prevent_destroy guards something (as the local apply's destroy
   * does, which keeps volumes unless asked: { volumes } changes nothing here).
   */
  async destroy(): Promise<void> {
    if (!this.initialized && !(await exists(path.join(this.workDir, 'terraform.tfstate')))) return;
    await this.init();
    await this.tf.destroy(this.lastVars);
    if (this.ownsWorkDir) await fs.rm(this.workDir, { recursive: true, force: true });
  }

  /** `terraform state rm`. */
  async forget(address: string): Promise<void> {
    await this.init();
    await this.tf.stateRm(address);
  }

  private async init(): Promise<void> {
    // Every apply may come from a new synth: the config is written again, the state stays. cdktf
    // writes a local backend's path for the project dir; a test's state lives in its work dir.
    const terraform = this.json.terraform as { backend?: { local?: { path?: string } } } | undefined;
    if (terraform?.backend?.local) terraform.backend.local.path = 'terraform.tfstate';
    await fs.writeFile(path.join(this.workDir, 'cdk.tf.json'), `${JSON.stringify(this.json, null, 2)}\n`);
    if (this.initialized) return;
    await this.tf.init();
    this.initialized = true;
  }
}

function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

function seconds(t0: number): string {
  return `${((Date.now() - t0) / 1000).toFixed(2)}s`;
}
