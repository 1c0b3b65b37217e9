// A miniature `react-scripts build` (create-react-app 4) that fails the way it does:
// - content hashes with md4, as webpack 4 does: Node 17+ refuses md4 unless
//   NODE_OPTIONS=--openssl-legacy-provider (ERR_OSSL_EVP_UNSUPPORTED);
// - CSS through postcss-safe-parser, as CRA's CSS minimizer does: with postcss 8.1 under it,
//   Node 17+ refuses to load postcss/lib/* (ERR_PACKAGE_PATH_NOT_EXPORTED).
// It bakes REACT_APP_* into the bundle and writes a source map unless GENERATE_SOURCEMAP=false.
const crypto = require('crypto');
const fs = require('fs');
const safeParse = require('postcss-safe-parser');

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('REACT_APP_')));
const modules = ['src/config/api.js', 'src/index.js'].map((file) => fs.readFileSync(file, 'utf8').replace(/^export /gm, ''));
const source = modules.join('\n').replace(/process\.env\.(REACT_APP_\w+)/g, (_, name) => JSON.stringify(env[name] ?? ''));
const hash = (text) => crypto.createHash('md4').update(text).digest('hex').slice(0, 8);
const bundle = `/static/js/main.${hash(source)}.js`;
const css = safeParse(fs.readFileSync('src/index.css', 'utf8')).toString();
const stylesheet = `/static/css/main.${hash(css)}.css`;
fs.mkdirSync('build/static/js', { recursive: true });
fs.mkdirSync('build/static/css', { recursive: true });
fs.writeFileSync(`build${bundle}`, source);
fs.writeFileSync(`build${stylesheet}`, css);
if (process.env.GENERATE_SOURCEMAP !== 'false') fs.writeFileSync(`build${bundle}.map`, JSON.stringify({ version: 3, sources: ['src/index.js'] }));
fs.writeFileSync('build/index.html', fs.readFileSync('src/index.html', 'utf8').replace('%BUNDLE%', bundle).replace('%CSS%', stylesheet));
console.log(`built ${bundle} and ${stylesheet} with REACT_APP_API_URL=${env.REACT_APP_API_URL ?? ''}`);
