# wayshub-backend (Express on port 5000, Sequelize with MySQL).
#
#   docker build -f docker/wayshub-backend.Dockerfile -t wayshub-backend:1 ../wayshub-backend
#
# Works the same with the classic builder (Docker 20.10's default) and with BuildKit (23+).
# The stack runs `npx sequelize db:migrate` in this image once per deploy (the migration job
# has no internet access), so sequelize-cli is installed here when the app's production
# dependencies don't bring it. Globally: wayshub-backend lists it under devDependencies, and
# npm leaves a dev dependency out of an --omit=dev tree even when asked for it by name.
# An app that migrates some other way builds with --build-arg SEQUELIZE_CLI= (nothing extra).
ARG NODE_IMAGE=node:16-bullseye-slim

# The checkout without what must not reach the image: wayshub-backend commits a .env (which it
# loads with dotenv) and an env.example holding the same secrets, and a developer's checkout has
# its own node_modules, .git and uploads. BuildKit leaves them out already
# (wayshub-backend.Dockerfile.dockerignore); the classic builder reads no per-Dockerfile ignore
# file, so they are removed here, in a stage of their own whose layers the image never contains.
FROM ${NODE_IMAGE} AS checkout
WORKDIR /app
COPY . .
RUN for f in .env .env.* env.example env.sample node_modules .git uploads; do \
      if [ -e "$f" ]; then echo "wayshub-backend: left out of the image: $f"; rm -rf "$f"; fi; done

FROM ${NODE_IMAGE}
WORKDIR /app
# Drain on stop: wayshub-backend exits at once on SIGTERM, which would cut the requests in flight
# when a replica is removed. This preload makes it stop taking connections and exit once the
# open ones have ended (the stack's stop timeout, 30 s by default, bounds it).
RUN mkdir -p /usr/local/lib/wayshub && printf '%s\n' \
  '// wayshub drain: loaded before the app (node --require). On SIGTERM, stop taking new' \
  '// connections, answer what arrives on open ones with "Connection: close", and exit once every' \
  '// connection has ended, so that requests in flight finish. Idle connections are left for the' \
  '// proxy to close (it does after its keep-alive timeout, 2 s): closing them here could race a' \
  '// request the proxy is writing on one. WebSockets get a close frame (1001, going away) 1 s' \
  '// before the drain limit the stack sets (WAYSHUB_DRAIN_SECONDS), rather than a reset at the kill.' \
  'const http = require("http");' \
  'const net = require("net");' \
  'const servers = new Set();' \
  'const webSockets = new Set();' \
  'let draining = false;' \
  'const listen = http.Server.prototype.listen;' \
  'http.Server.prototype.listen = function () {' \
  '  if (!servers.has(this)) {' \
  '    servers.add(this);' \
  '    this.prependListener("request", (req, res) => {' \
  '      if (draining) res.setHeader("Connection", "close");' \
  '    });' \
  '    // Seen through emit, not a listener of our own: an "upgrade" listener changes how Node answers.' \
  '    const emit = this.emit;' \
  '    this.emit = function (event, req, socket) {' \
  '      if (event === "upgrade" && /websocket/i.test(String(req.headers.upgrade))) {' \
  '        webSockets.add(socket);' \
  '        socket.once("close", () => webSockets.delete(socket));' \
  '      }' \
  '      return emit.apply(this, arguments);' \
  '    };' \
  '  }' \
  '  return listen.apply(this, arguments);' \
  '};' \
  'process.once("SIGTERM", () => {' \
  '  draining = true;' \
  '  let open = servers.size;' \
  '  console.log("wayshub-drain: SIGTERM; finishing the requests in flight");' \
  '  if (open === 0) process.exit(0);' \
  '  const limit = Number(process.env.WAYSHUB_DRAIN_SECONDS);' \
  '  if (limit > 0) {' \
  '    setTimeout(() => {' \
  '      if (webSockets.size > 0) console.log("wayshub-drain: closing " + webSockets.size + " WebSockets (1001) at the drain limit");' \
  '      for (const socket of webSockets) socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe9]));' \
  '    }, Math.max(limit - 1, 0) * 1000).unref();' \
  '  }' \
  '  for (const server of servers) {' \
  '    // The close of net.Server: stop listening (the close of http.Server would also cut idle connections).' \
  '    net.Server.prototype.close.call(server, () => {' \
  '      if (--open === 0) {' \
  '        console.log("wayshub-drain: every connection has ended; exiting");' \
  '        process.exit(0);' \
  '      }' \
  '    });' \
  '  }' \
  '});' \
  > /usr/local/lib/wayshub/drain.js \
 && node --check /usr/local/lib/wayshub/drain.js
COPY --from=checkout /app/package*.json ./
ARG SEQUELIZE_CLI=sequelize-cli@6
RUN if [ -f package-lock.json ]; then npm ci --omit=dev --no-audit --no-fund; else npm install --omit=dev --no-audit --no-fund; fi \
 && if [ -n "${SEQUELIZE_CLI}" ] && ! npx --no-install sequelize --version >/dev/null 2>&1; then \
      npm install --global --no-audit --no-fund "${SEQUELIZE_CLI}"; fi \
 && npm cache clean --force 2>/dev/null
COPY --from=checkout /app ./
# No update check: the migration job runs npx on a network with no way out.
ENV NODE_ENV=production PORT=5000 NPM_CONFIG_UPDATE_NOTIFIER=false
USER node
EXPOSE 5000
CMD ["node", "--require", "/usr/local/lib/wayshub/drain.js", "index.js"]
