// Small shared pieces of the constructs: Docker labels and Terraform-safe strings.
import { Lazy, TerraformVariable } from 'cdktf';

/** Label key that marks every Docker object of a stack, so it can be found (and cleaned up). */
export const STACK_LABEL = 'wayshub.stack';
export const ROLE_LABEL = 'wayshub.role';

/** Docker labels as the provider's `labels` blocks, sorted so the synthesized JSON is stable. */
export function labelBlocks(labels: Readonly<Record<string, string>>): Array<{ label: string; value: string }> {
  return Object.keys(labels)
    .sort()
    .map((label) => ({ label, value: terraformLiteral(labels[label]) }));
}

/**
 * A user's free text as a Terraform string literal: `${` and `%{` would otherwise start a
 * Terraform interpolation or directive, so they are escaped to `$${` and `%%{`.
 */
export function terraformLiteral(text: string): string {
  // A replacer function: in a replacement string "$$" would itself mean one "$".
  return text.replace(/([$%])\{/g, (_m, sigil: string) => `${sigil}${sigil}{`);
}

/**
 * One environment value the stack sets: a plain value (escaped, so a `${` in it stays text), or
 * a Terraform expression such as a reference to a sensitive variable (synthesized as it is, so
 * the value never reaches cdk.tf.json).
 */
export class EnvValue {
  static fromValue(value: string): EnvValue {
    return new EnvValue(terraformLiteral(value));
  }

  static fromReference(expression: string): EnvValue {
    return new EnvValue(expression);
  }

  private constructor(
    /** As it is written into cdk.tf.json. */
    readonly synthesized: string,
  ) {}
}

/** The environment the stack sets, by name, in the order it is written. */
export type StackEnv = Readonly<Record<string, EnvValue>>;

/** `KEY=value` entries of a stack environment, in its order. */
export function envEntries(env: StackEnv): string[] {
  return Object.entries(env).map(([key, value]) => `${key}=${value.synthesized}`);
}

/**
 * A container's environment: the user's plain values (sorted, escaped) and then the stack's
 * own, which may hold Terraform references to sensitive variables.
 */
export function containerEnv(plain: Readonly<Record<string, string>>, stack: StackEnv = {}): string[] {
  return [
    ...Object.keys(plain)
      .sort()
      .map((key) => `${key}=${terraformLiteral(plain[key])}`),
    ...envEntries(stack),
  ];
}

/** Docker's json-file log driver with rotation, so a busy container can't fill the disk. */
export const ROTATED_LOGS = { logDriver: 'json-file', logOpts: { 'max-size': '10m', 'max-file': '3' } } as const;

/** The same for a Swarm service's tasks. */
export const ROTATED_TASK_LOGS = { name: ROTATED_LOGS.logDriver, options: ROTATED_LOGS.logOpts };

/**
 * A container's capabilities, all dropped but `add`. Docker stores added names with the `CAP_`
 * prefix and the provider reads them back into a ForceNew attribute
 * (resource_docker_container_funcs.go:749-754): written without it, every plan would replace
 * the container.
 */
export function containerCapabilities(add: readonly string[] = []): { drop: string[]; add?: string[] } {
  return { drop: ['ALL'], add: add.length ? add.map((c) => (c.startsWith('CAP_') ? c : `CAP_${c}`)) : undefined };
}

/** No process in the container may gain privileges (setuid binaries, file capabilities). */
export const NO_NEW_PRIVILEGES = ['no-new-privileges:true'];

/**
 * `var.<name>` of a variable, as the stack names it, for use inside an expression string (a
 * validation or a precondition can't take a token there); resolved at synth.
 */
export function variableRef(variable: TerraformVariable): string {
  return Lazy.stringValue({ produce: () => `var.${variable.friendlyUniqueId}` });
}

/** A variable's name as users type it (TF_VAR_<name>), for messages; resolved at synth. */
export function variableName(variable: TerraformVariable): string {
  return Lazy.stringValue({ produce: () => variable.friendlyUniqueId });
}
