// `npm run docs`: writes the config excerpts in docs/guide.md and docs/guide.id.md as the
// renderer emits them now, and the table of docs/settings.md as the settings schema has it (see
// docs/excerpts.ts). `-- --check` writes nothing and exits 1 when a page is out of date.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { GUIDES, SETTINGS_PAGE, generatedBlocks, regenerate, regenerateSettings } from '../docs/excerpts';

const check = process.argv.includes('--check');
const unknown = process.argv.slice(2).filter((a) => a !== '--check');
if (unknown.length) {
  console.error(`docs: unknown argument ${unknown[0]}; usage: npm run docs [-- --check]`);
  process.exit(2);
}
let stale = 0;
for (const guide of GUIDES) {
  const file = path.join(__dirname, '..', guide);
  const before = fs.readFileSync(file, 'utf8');
  const after = regenerate(before);
  const blocks = generatedBlocks(after).length;
  if (before === after) {
    console.log(`${guide}: ${blocks} excerpts, up to date`);
    continue;
  }
  stale++;
  if (check) console.error(`${guide}: excerpts out of date; run: npm run docs`);
  else {
    fs.writeFileSync(file, after);
    console.log(`${guide}: ${blocks} excerpts, rewritten`);
  }
}
{
  const file = path.join(__dirname, '..', SETTINGS_PAGE);
  const before = fs.readFileSync(file, 'utf8');
  const after = regenerateSettings(before);
  if (before === after) console.log(`${SETTINGS_PAGE}: settings table up to date`);
  else if (check) {
    stale++;
    console.error(`${SETTINGS_PAGE}: settings table out of date; run: npm run docs`);
  } else {
    fs.writeFileSync(file, after);
    console.log(`${SETTINGS_PAGE}: settings table rewritten`);
  }
}
if (check && stale) process.exit(1);
