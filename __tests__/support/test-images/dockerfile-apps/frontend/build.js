// A miniature `react-scripts build`: bakes REACT_APP_* into a content-hashed bundle under
// build/static/js and writes build/index.html pointing at it.
const crypto = require('crypto');
const fs = require('fs');

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('REACT_APP_')));
const source = fs.readFileSync('src/index.js', 'utf8').replace(/process\.env\.(REACT_APP_\w+)/g, (_, name) => JSON.stringify(env[name] ?? ''));
const hash = crypto.createHash('sha256').update(source).digest('hex').slice(0, 8);
const bundle = `/static/js/main.${hash}.js`;
fs.mkdirSync('build/static/js', { recursive: true });
fs.writeFileSync(`build${bundle}`, source);
// Like react-scripts, a source map unless GENERATE_SOURCEMAP=false.
if (process.env.GENERATE_SOURCEMAP !== 'false') fs.writeFileSync(`build${bundle}.map`, JSON.stringify({ version: 3, sources: ['src/index.js'] }));
fs.writeFileSync('build/index.html', fs.readFileSync('src/index.html', 'utf8').replace('%BUNDLE%', bundle));
console.log(`built ${bundle} with REACT_APP_API_URL=${env.REACT_APP_API_URL ?? ''}`);
