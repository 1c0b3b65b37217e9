// The backend's secrets as sensitive Terraform variables: cdk.tf.json holds only their
// references. They are checked by preconditions, not by variable validation: Terraform prints
// the failing value of a validation even for a sensitive variable.
import { Construct } from 'constructs';
import { TerraformCondition, TerraformVariable } from 'cdktf';

import { EnvValue, variableName, variableRef } from '../docker/labels';

export interface BackendSecretsProps {
  /**
   * Names of environment variables whose values come from the `backend_secrets` JSON variable.
   * They must be validated identifiers: they are written into Terraform expressions.
   * @default none: no `backend_secrets` variable
   */
  readonly secretEnv?: readonly string[];
  /**
   * Whether the stack runs the database, which needs the `db_password` variable.
   * @default false
   */
  readonly database?: boolean;
}

export class BackendSecrets extends Construct {
  /** JWT_PRIVATE_KEY of the backend. */
  readonly jwtPrivateKey: TerraformVariable;
  /** The password of the database user, with the database. */
  readonly dbPassword?: TerraformVariable;
  /** The `backend_secrets` JSON object, when `secretEnv` names any. */
  readonly backendSecrets?: TerraformVariable;
  /** The checks of all the secrets, as preconditions for one resource planned on every deploy. */
  readonly preconditions: TerraformCondition[];
  /** The backend's environment that carries the secrets, by reference. */
  readonly env: Record<string, EnvValue>;

  constructor(scope: Construct, id: string, props: BackendSecretsProps = {}) {
    super(scope, id);
    this.jwtPrivateKey = this.variable('jwt_private_key', 'JWT_PRIVATE_KEY of the backend (give it with TF_VAR_jwt_private_key).');
    const jwt = variableRef(this.jwtPrivateKey);
    this.preconditions = [{ condition: `\${length(${jwt}) >= 16}`, errorMessage: `${variableName(this.jwtPrivateKey)} must be at least 16 characters.` }];
    this.env = { JWT_PRIVATE_KEY: EnvValue.fromReference(this.jwtPrivateKey.stringValue) };

    const names = props.secretEnv ?? [];
    if (names.length > 0) {
      // A JSON object in a string, not a map(string): Terraform reads a map given in TF_VAR_* as
      // HCL, where a "${" in a secret would be an interpolation; a string it takes as it is.
      this.backendSecrets = this.variable(
        'backend_secrets',
        `Secret environment of the backend as a JSON object with the keys ${names.join(', ')} (give it with TF_VAR_backend_secrets='{"${names[0]}":"..."}').`,
      );
      const secrets = variableRef(this.backendSecrets);
      this.preconditions.push({
        // sort() on both sides: keys() gives a list, a literal is a tuple, and those never compare equal.
        condition: `\${sort(try(keys(jsondecode(${secrets})), [])) == sort(${JSON.stringify(names)}) && alltrue([for v in try(values(jsondecode(${secrets})), []) : can(tostring(v))])}`,
        errorMessage: `${variableName(this.backendSecrets)} must be a JSON object of strings with exactly these keys: ${names.join(', ')}.`,
      });
      // try(): a bad value fails only the precondition, with its one message.
      for (const name of names) this.env[name] = EnvValue.fromReference(`\${try(tostring(jsondecode(${secrets})["${name}"]), "")}`);
    }

    if (props.database) {
      this.dbPassword = this.variable('db_password', 'Password of the database user (give it with TF_VAR_db_password).');
      this.preconditions.push({
        condition: `\${length(${variableRef(this.dbPassword)}) >= 12}`,
        errorMessage: `${variableName(this.dbPassword)} must be at least 12 characters.`,
      });
    }
  }

  /** A sensitive string variable, named by the stack (in a WayshubStack: TF_VAR_<id>). */
  private variable(id: string, description: string): TerraformVariable {
    return new TerraformVariable(this, id, { type: 'string', sensitive: true, description });
  }
}
