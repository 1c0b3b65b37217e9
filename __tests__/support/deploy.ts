// What the e2e tests deploy with: the real kreuzwerker/docker provider where a mirror of it is
// configured (WAYSHUB_PROVIDER_MIRROR), else the local apply. Both take a synthesized stack dir,
// apply with variables, forget a resource and destroy.
import { ApplyResult, DestroyOptions, LocalApply, LocalApplyOptions } from './local-apply';
import { ProviderApply } from './provider-apply';

export interface Deployment {
  readonly workDir: string;
  apply(vars?: Record<string, string | number | boolean>): Promise<ApplyResult>;
  destroy(opts?: DestroyOptions): Promise<void>;
  forget(address: string): Promise<void>;
}

export const onRealProvider = (): boolean => ProviderApply.mirror() !== undefined;

export function deployStack(stackDir: string, opts: LocalApplyOptions = {}): Promise<Deployment> {
  return onRealProvider() ? ProviderApply.fromStackDir(stackDir, opts) : LocalApply.fromStackDir(stackDir, opts);
}
