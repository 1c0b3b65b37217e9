# wayshub-frontend (create-react-app 4) built into static files, served by nginx on port 80.
#
#   docker build -f docker/wayshub-frontend.Dockerfile \
#     --build-arg REACT_APP_API_URL=https://api.alvin.xyz/api/v1 \
#     -t wayshub-frontend:1 ../wayshub-frontend
#
# Works the same with the classic builder (Docker 20.10's default) and with BuildKit (23+).
# create-react-app bakes REACT_APP_* into the bundle at build time, so the API URL is a build
# argument here (the stack also sets it as env on the replicas, for `npm start` images).
# Node 16 builds CRA 4 as is. On Node 17+ this file adds NODE_OPTIONS=--openssl-legacy-provider
# (webpack 4 hashes with md4), and the checkout needs `npm run prepare-apps -- --node 18` first:
# wayshub-frontend's package-lock.json pins postcss 8.1, which Node 17+ refuses to load.
ARG NODE_IMAGE=node:16-bullseye
ARG NGINX_IMAGE=nginx:1.30-alpine

# The checkout without what a developer's machine adds to it. BuildKit leaves these out already
# (wayshub-frontend.Dockerfile.dockerignore); the classic builder reads no per-Dockerfile ignore
# file, so they go here, in a stage of their own that the image never contains.
FROM ${NODE_IMAGE} AS checkout
WORKDIR /app
COPY . .
RUN rm -rf node_modules build .git

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Two helpers, written here because the classic builder can COPY only from the checkout.
# pick-lock.js: wayshub-frontend has both lock files, and its yarn.lock lacks three of
# package.json's dependencies. Install from the lock file that matches package.json (yarn.lock
# first); when none does, stop with one line instead of yarn's generic --frozen-lockfile error.
# build.sh: on Node 17+ adds --openssl-legacy-provider (webpack 4 hashes with md4), and after a
# known failure says in one line what to do.
RUN printf '%s\n' \
  'const fs = require("fs");' \
  'const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));' \
  'const want = Object.assign({}, pkg.dependencies, pkg.devDependencies, pkg.optionalDependencies);' \
  'const off = {};' \
  'if (fs.existsSync("yarn.lock")) {' \
  '  const keys = new Set();' \
  '  for (const line of fs.readFileSync("yarn.lock", "utf8").split("\n"))' \
  '    if (/^[^\s#].*:$/.test(line)) for (const key of line.slice(0, -1).split(/,\s*/)) keys.add(key.replace(/^"|"$/g, ""));' \
  '  off["yarn.lock"] = Object.keys(want).filter((name) => !keys.has(name + "@" + want[name]));' \
  '}' \
  'if (fs.existsSync("package-lock.json")) {' \
  '  const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));' \
  '  const root = (lock.packages || {})[""];' \
  '  const has = root ? Object.assign({}, root.dependencies, root.devDependencies, root.optionalDependencies) : lock.dependencies || {};' \
  '  off["package-lock.json"] = Object.keys(want).filter((name) => (root ? has[name] !== want[name] : !has[name]))' \
  '    .concat(root ? Object.keys(has).filter((name) => !(name in want)) : []);' \
  '}' \
  'const files = Object.keys(off);' \
  'const use = files.find((file) => off[file].length === 0);' \
  'const stale = (file) => file + " does not match package.json (" + off[file].join(", ") + ")";' \
  'const fix = { "yarn.lock": "yarn install", "package-lock.json": "npm install --package-lock-only" };' \
  'if (use) {' \
  '  for (const file of files) if (off[file].length) console.error("wayshub-frontend: " + stale(file) + "; installing from " + use + ", which does");' \
  '  console.log(use === "yarn.lock" ? "yarn" : "npm");' \
  '} else if (files.length === 0) {' \
  '  console.error("wayshub-frontend: no yarn.lock or package-lock.json in the checkout; commit one so the build installs pinned versions");' \
  '  process.exit(1);' \
  '} else {' \
  '  const regenerate = files.map((file) => file + " (" + fix[file] + ")").join(" or ") + (files.length > 1 ? " and delete the other" : "");' \
  '  console.error("wayshub-frontend: " + files.map(stale).join(" and ") + "; in the checkout, regenerate " + regenerate);' \
  '  process.exit(1);' \
  '}' > /tmp/pick-lock.js \
 && printf '%s\n' \
  'major=$(node -p "parseInt(process.versions.node)")' \
  'if [ -z "$NODE_OPTIONS" ] && [ "$major" -ge 17 ]; then' \
  '  export NODE_OPTIONS=--openssl-legacy-provider' \
  '  echo "wayshub-frontend: Node $major: building with NODE_OPTIONS=$NODE_OPTIONS"' \
  'fi' \
  '{ if [ "$(cat /tmp/installer)" = yarn ]; then yarn build; else npm run build; fi; echo $? > /tmp/build-status; } 2>&1 | tee /tmp/build.log' \
  '[ "$(cat /tmp/build-status)" = 0 ] && [ -f build/index.html ] && exit 0' \
  'if grep -q ERR_PACKAGE_PATH_NOT_EXPORTED /tmp/build.log; then' \
  '  echo "wayshub-frontend: Node $major cannot load a package the lock file pins (postcss 8.1 in wayshub-frontend); in wayshub-edge run: npm run prepare-apps -- --node $major <this checkout>, or build on Node 16 (--build-arg NODE_IMAGE=node:16-bullseye)" >&2' \
  'elif grep -q -e ERR_OSSL_EVP_UNSUPPORTED -e 0308010C /tmp/build.log; then' \
  '  echo "wayshub-frontend: Node $major needs --openssl-legacy-provider in NODE_OPTIONS for this build (it was: $NODE_OPTIONS)" >&2' \
  'fi' \
  'exit 1' > /tmp/build.sh
COPY --from=checkout /app/package.json /app/*.lock /app/package-lock.json* ./
RUN installer=$(node /tmp/pick-lock.js) && echo "${installer}" > /tmp/installer \
 && if [ "${installer}" = yarn ]; then yarn install --frozen-lockfile --network-timeout 600000; else npm ci --no-audit --no-fund; fi
COPY --from=checkout /app ./
ARG REACT_APP_API_URL
ARG NODE_OPTIONS=
# Source maps would publish the app's source next to it; true brings them back.
ARG GENERATE_SOURCEMAP=false
ENV REACT_APP_API_URL=${REACT_APP_API_URL} GENERATE_SOURCEMAP=${GENERATE_SOURCEMAP}
RUN sh /tmp/build.sh

FROM ${NGINX_IMAGE}
COPY --from=build /app/build /usr/share/nginx/html
# Our own complete config, so the image behaves the same on the official nginx image or any
# other nginx base (Debian's, say): nothing of the base's nginx.conf or conf.d is read. Every
# path nginx writes is /tmp/nginx*, so it runs as a plain user with no capabilities (the stack
# drops them all); Docker 20.10 or newer lets such a user bind port 80.
RUN printf '%s\n' \
  '# wayshub-frontend: the static build of a single-page app.' \
  'pid /tmp/nginx.pid;' \
  'error_log stderr warn;' \
  'events {}' \
  'http {' \
  '    include /etc/nginx/mime.types;' \
  '    default_type application/octet-stream;' \
  '    access_log /dev/stdout;' \
  '    server_tokens off;' \
  '    client_body_temp_path /tmp/nginx-client-body;' \
  '    proxy_temp_path /tmp/nginx-proxy;' \
  '    fastcgi_temp_path /tmp/nginx-fastcgi;' \
  '    uwsgi_temp_path /tmp/nginx-uwsgi;' \
  '    scgi_temp_path /tmp/nginx-scgi;' \
  '    gzip on;' \
  '    gzip_types text/css application/javascript application/json image/svg+xml;' \
  '    server {' \
  '        listen 80;' \
  '        root /usr/share/nginx/html;' \
  '        # Paths the router knows (/channel/1, /detail/2) get the app itself.' \
  '        location / {' \
  '            try_files $uri /index.html;' \
  '        }' \
  '        # A new deploy must reach browsers at once; hashed assets may be cached for good.' \
  '        location = /index.html {' \
  '            add_header Cache-Control "no-cache";' \
  '        }' \
  '        location /static/ {' \
  '            add_header Cache-Control "public, max-age=31536000, immutable";' \
  '        }' \
  '    }' \
  '}' > /etc/nginx/wayshub-frontend.conf \
 && nginx -t -e stderr -c /etc/nginx/wayshub-frontend.conf \
 && rm -rf /tmp/nginx*
# 101 is the nginx user of the official image; any non-root uid works, nothing is chowned.
USER 101:101
EXPOSE 80
STOPSIGNAL SIGQUIT
# No base entrypoint: the official one edits conf.d files this image never reads.
ENTRYPOINT []
CMD ["nginx", "-e", "stderr", "-c", "/etc/nginx/wayshub-frontend.conf", "-g", "daemon off;"]
