// Runs the `terraform` CLI in a work directory, offline and deterministic: no CLI config
// from the machine (an empty one of our own), no update checks, no input prompts, and no
// TF_* variables from the environment (TF_VAR_x, TF_CLI_ARGS, TF_DATA_DIR, a plugin cache
// ...), so the variables a test passes are the only ones Terraform sees.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';

import { Json, JsonObject, isObject, parseJson } from './json-value';

export type Vars = Record<string, string | number | boolean>;

const PLAN_FILE = 'local-apply.tfplan';

export interface StateInstance {
  /** `terraform_data.docker_container__app[0]` */
  address: string;
  type: string;
  name: string;
  index: number | string | undefined;
  values: JsonObject;
}

export interface TerraformState {
  outputs: Record<string, Json>;
  resources: StateInstance[];
}

export class TerraformCli {
  /**
   * extraEnv: for Terraform alone, e.g. PG_CONN_STR for a pg backend. cliConfig: the CLI config
   * file's text (a provider mirror); empty by default.
   */
  constructor(
    private readonly dir: string,
    private readonly extraEnv: Readonly<Record<string, string>> = {},
    private readonly cliConfig = '# empty: no plugin cache, no mirrors\n',
  ) {}

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TF_')) env[k] = v;
    return {
      ...env,
      ...this.extraEnv,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      TF_CLI_CONFIG_FILE: path.join(this.dir, '.terraformrc'),
    };
  }

  async init(): Promise<void> {
    await fs.writeFile(path.join(this.dir, '.terraformrc'), this.cliConfig);
    await this.run(['init', '-input=false', '-no-color']);
  }

  /** `terraform plan -out`, returning the saved plan as `terraform show -json` reads it. */
  async plan(vars: Vars): Promise<Json> {
    await this.run(['plan', '-input=false', '-no-color', `-out=${PLAN_FILE}`, ...varArgs(vars)]);
    return parseJson(await this.run(['show', '-json', '-no-color', PLAN_FILE]));
  }

  /** Applies the plan that plan() saved, exactly as planned. */
  async applyPlan(): Promise<void> {
    await this.run(['apply', '-input=false', '-no-color', PLAN_FILE]);
    await fs.rm(path.join(this.dir, PLAN_FILE), { force: true });
  }

  /** `terraform apply -auto-approve`: plans and applies in one step, as `cdktf deploy` does. */
  async apply(vars: Vars): Promise<void> {
    await this.run(['apply', '-auto-approve', '-input=false', '-no-color', ...varArgs(vars)]);
  }

  /** A fresh plan's changes: the address and actions of every instance that is not a no-op. */
  async changes(vars: Vars): Promise<Array<{ address: string; actions: string[] }>> {
    const plan = await this.plan(vars);
    await fs.rm(path.join(this.dir, PLAN_FILE), { force: true });
    const changes = isObject(plan) && Array.isArray(plan.resource_changes) ? plan.resource_changes : [];
    return changes.flatMap((c) => {
      if (!isObject(c) || typeof c.address !== 'string' || !isObject(c.change) || !Array.isArray(c.change.actions)) return [];
      const actions = c.change.actions.map(String);
      return actions.join() === 'no-op' || actions.join() === 'read' ? [] : [{ address: c.address, actions }];
    });
  }

  async destroy(vars: Vars): Promise<void> {
    await this.run(['destroy', '-auto-approve', '-input=false', '-no-color', ...varArgs(vars)]);
  }

  /** `terraform taint`: the next plan replaces the object. */
  async taint(address: string): Promise<void> {
    await this.run(['taint', '-no-color', address]);
  }

  /** `terraform state rm`: Terraform forgets the object and leaves it where it is. */
  async stateRm(address: string): Promise<void> {
    await this.run(['state', 'rm', '-no-color', address]);
  }

  async state(): Promise<TerraformState> {
    const text = await this.run(['show', '-json', '-no-color']);
    return parseShow(parseJson(text));
  }

  private run(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn('terraform', args, { cwd: this.dir, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        reject(err.code === 'ENOENT' ? new Error('local-apply: `terraform` is not on PATH') : err);
      });
      child.on('close', (code) => {
        if (code === 0) resolve(stdout);
        // Terraform's own diagnostics (a variable's error_message, ...) go into the message.
        else reject(new Error(`terraform ${args[0]} failed (exit ${code}) in ${this.dir}:\n${stderr.trim()}\n${lastLines(stdout, 20)}`.trim()));
      });
    });
  }
}

function varArgs(vars: Vars): string[] {
  return Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${String(v)}`]);
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

/** Reads `terraform show -json`: root-module resource instances and output values. */
export function parseShow(doc: Json): TerraformState {
  const values = isObject(doc) && isObject(doc.values) ? doc.values : {};
  const outputs: Record<string, Json> = {};
  if (isObject(values.outputs)) {
    for (const [name, o] of Object.entries(values.outputs)) outputs[name] = isObject(o) ? (o.value ?? null) : null;
  }
  const resources: StateInstance[] = [];
  const root = isObject(values.root_module) ? values.root_module : {};
  for (const r of Array.isArray(root.resources) ? root.resources : []) {
    if (!isObject(r) || r.mode !== 'managed') continue;
    const { address, type, name, index } = r;
    if (typeof address !== 'string' || typeof type !== 'string' || typeof name !== 'string') continue;
    resources.push({
      address,
      type,
      name,
      index: typeof index === 'number' || typeof index === 'string' ? index : undefined,
      values: isObject(r.values) ? r.values : {},
    });
  }
  if (Array.isArray(root.child_modules) && root.child_modules.length > 0) {
    throw new Error('local-apply: the state has child modules, which this harness does not read');
  }
  return { outputs, resources };
}
