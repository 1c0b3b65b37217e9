// Synthesizes a WayshubStack in memory and returns its Terraform JSON, as `cdktf synth` would.
import { Testing } from 'cdktf';

import { WayshubSettingsInput, resolveSettings } from '../../constructs/settings';
import { WayshubStack } from '../../constructs/wayshub-stack';

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

/** The nginx files uploaded into the proxy container, by path. */
export function uploadedFiles(json: TerraformJson): Record<string, string> {
  const uploads = json.resource.docker_container.proxy.upload as Array<{ file: string; content: string }>;
  return Object.fromEntries(uploads.map((u) => [u.file, u.content]));
}
