# wayshub-backend (Express on port 5000, Sequelize with MySQL).
#
#   docker build -f docker/wayshub-backend.Dockerfile -t wayshub-backend:1 ../wayshub-backend
#
# The stack runs `npx sequelize db:migrate` in this image once per deploy (the migration job
# has no internet access), so sequelize-cli is installed here when the app's production
# dependencies don't bring it. Globally: wayshub-backend lists it under devDependencies, and
# npm leaves a dev dependency out of an --omit=dev tree even when asked for it by name.
# An app that migrates some other way builds with --build-arg SEQUELIZE_CLI= (nothing extra).
ARG NODE_IMAGE=node:16-bullseye-slim

FROM ${NODE_IMAGE}
WORKDIR /app
COPY package*.json ./
ARG SEQUELIZE_CLI=sequelize-cli@6
RUN if [ -f package-lock.json ]; then npm ci --omit=dev --no-audit --no-fund; else npm install --omit=dev --no-audit --no-fund; fi \
 && if [ -n "${SEQUELIZE_CLI}" ] && ! npx --no-install sequelize --version >/dev/null 2>&1; then \
      npm install --global --no-audit --no-fund "${SEQUELIZE_CLI}"; fi \
 && npm cache clean --force 2>/dev/null
COPY . .
# wayshub-backend loads .env (dotenv): a checkout's .env holds its developer's secrets, which must
# not be baked into the image (the stack gives the backend its environment). BuildKit leaves it
# out (wayshub-backend.Dockerfile.dockerignore); the classic builder copies it, so stop here.
RUN if [ -e .env ]; then \
      echo "wayshub-backend: the checkout's .env would be baked into the image; build with BuildKit (DOCKER_BUILDKIT=1), which leaves it out, or move .env away" >&2; exit 1; fi
# No update check: the migration job runs npx on a network with no way out.
ENV NODE_ENV=production PORT=5000 NPM_CONFIG_UPDATE_NOTIFIER=false
USER node
EXPOSE 5000
CMD ["node", "index.js"]
