// Before any e2e test: build every test image at once (they are independent debootstraps),
// instead of one test file after another. Without an engine it does nothing: the tests
// themselves then fail in CI or skip on a laptop (e2e-gate.ts).
import { ensureAcmeImage } from './acme';
import { missing } from './e2e-gate';
import { ensureAllTestImages } from './test-images';

export default async function buildTestImages(): Promise<void> {
  if (missing().length > 0) return;
  const log = (line: string) => process.stderr.write(`  [images] ${line}\n`);
  const started = Date.now();
  await Promise.all([ensureAllTestImages(log), ensureAcmeImage(log)]);
  log(`all test images ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
