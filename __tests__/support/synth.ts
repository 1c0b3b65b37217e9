// Synthesizes a WayshubStack in memory and returns its Terraform JSON, as `cdktf synth` would.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App, Testing } from 'cdktf';

import { DeploymentProps, addDeployments, resolveDeployments } from '../../constructs/stack/deployments';
import { WayshubSettingsInput, resolveSettings } from '../../constructs/settings';
import { WayshubStack } from '../../constructs/stack/wayshub-stack';

export interface Synthesized {
  stack: WayshubStack;
  /** The synthesized JSON text. */
  text: string;
  /** The same, parsed. */
  json: TerraformJson;
}

export interface TerraformJson {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  variable: Record<string, Record<string, unknown>>;
  output: Record<string, { value: unknown }>;
  provider: Record<string, Array<Record<string, unknown>>>;
}

export function synthStack(input: WayshubSettingsInput = {}): Synthesized {
  const stack = new WayshubStack(Testing.app(), 'wayshub', resolveSettings(input));
  const text = Testing.synth(stack);
  return { stack, text, json: JSON.parse(text) as TerraformJson };
}

/** The files the proxy's config loader puts in place, by the path nginx sees them at. */
export function uploadedFiles(json: TerraformJson): Record<string, string> {
  const uploads = json.resource.docker_container.proxy_config_loader.upload as Array<{ file: string; content: string }>;
  return Object.fromEntries(
    uploads.filter((u) => u.file.startsWith('/wayshub-upload/')).map((u) => [u.file.replace(/^\/wayshub-upload\//, '/etc/nginx/wayshub/'), u.content]),
  );
}

/**
 * Synthesizes like `cdktf synth` does (a real App writing cdktf.out) into a temp dir, and
 * returns the stack's directory, which holds `cdk.tf.json`.
 */
export function synthToDir(input: WayshubSettingsInput, stackId = 'wayshub'): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-synth-'));
  const app = new App({ outdir });
  new WayshubStack(app, stackId, resolveSettings(input));
  app.synth();
  return path.join(outdir, 'stacks', stackId);
}

/**
 * Synthesizes the deployments main.ts would declare, with this environment, like `cdktf synth`
 * (a real App writing cdktf.out), and returns each stack's directory by stack name.
 */
export function synthDeployments(deployments: readonly DeploymentProps[], env: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const resolved = resolveDeployments(deployments, env);
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-synth-'));
  const app = new App({ outdir });
  addDeployments(app, resolved);
  app.synth();
  return Object.fromEntries(resolved.map((d) => [d.stackName, path.join(outdir, 'stacks', d.stackName)]));
}
