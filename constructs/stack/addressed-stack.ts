// Terraform addresses are the users' state (`docker_container.app`, `docker_volume.db_data`)
// and its variables the names they type (`TF_VAR_replicas`). An AddressedStack gives them here,
// once, from where each element sits, and never inside a reusable construct: in a plain
// TerraformStack the tiers get cdktf's own unique ids, so two of them never merge. Two elements
// of an AddressedStack that would share an address stop synth with a clear error instead.
import { IConstruct, Node } from 'constructs';
import { TerraformElement, TerraformResource, TerraformStack, TerraformVariable } from 'cdktf';

/** A construct's short name in its resources' addresses: `database` → `db_network`, `db`. */
const ALIAS: Readonly<Record<string, string>> = { database: 'db', migration: 'migrate', letsencrypt: 'certbot' };

/** The one resource a construct is about takes the construct's (aliased) name: `docker_container.proxy`. */
const MAIN = new Set(['container', 'service']);

/** Addresses older than this rule, kept: `<construct>/<child>` → address. */
const KEPT: Readonly<Record<string, string>> = {
  'letsencrypt/webroot': 'acme_challenges',
  'letsencrypt/certificates': 'letsencrypt',
  'database/volume': 'db_data',
  'proxy/loader': 'proxy_config_loader',
  'proxy/cert': 'proxy_tls_cert',
  'proxy/key': 'proxy_tls_key',
};

/**
 * The address of an element from its path below the stack, or undefined for cdktf's default:
 * - the stack's own elements, variables anywhere, and a tier's own resources: their id
 *   (`network`, `replicas`, `jwt_private_key`, `migrate_image`);
 * - a construct's main resource: the construct's name (`frontend/app/container` → `app`);
 * - its other resources: `<name>_<id>` (`edge/proxy/image` → `proxy_image`), or a kept one.
 */
export function stableLogicalId(path: readonly string[], element: TerraformElement): string | undefined {
  const id = path[path.length - 1];
  if (path.length === 1 || element instanceof TerraformVariable) return id;
  if (!(element instanceof TerraformResource)) return undefined;
  if (path.length === 2) return id;
  const owner = path[path.length - 2];
  if (MAIN.has(id)) return ALIAS[owner] ?? owner;
  return KEPT[`${owner}/${id}`] ?? `${ALIAS[owner] ?? owner}_${id}`;
}

/** Hands out the stack's addresses, and refuses one that two elements would share. */
class LogicalIds {
  /** `docker_container.app` → the path that has it. */
  private readonly taken = new Map<string, string>();

  constructor(private readonly stack: IConstruct) {}

  /** The element's address; undefined where cdktf's default applies. */
  of(element: TerraformElement): string | undefined {
    const scopes = element.node.scopes;
    const path = scopes.slice(scopes.indexOf(this.stack) + 1).map((c) => c.node.id);
    const id = stableLogicalId(path, element);
    if (id === undefined) return undefined;
    // Addresses are per type: var.db_password and docker_secret.db_password are two.
    const address = `${element instanceof TerraformResource ? element.terraformResourceType : element instanceof TerraformVariable ? 'var' : element.constructor.name}.${id}`;
    const at = path.join('/');
    const other = this.taken.get(address);
    if (other !== undefined && other !== at)
      throw new Error(`${at} and ${other} would both be ${address} in Terraform, and one would replace the other: give one of their constructs another id`);
    this.taken.set(address, at);
    return id;
  }
}

/** A stack whose elements get the stable addresses above (WayshubStack is one). */
export class AddressedStack extends TerraformStack {
  private logicalIds?: LogicalIds;

  protected override allocateLogicalId(element: TerraformElement | Node): string {
    if (TerraformElement.isTerraformElement(element)) {
      const id = (this.logicalIds ??= new LogicalIds(this)).of(element);
      if (id !== undefined) return id;
    }
    return super.allocateLogicalId(element);
  }
}
