# wayshub-backend (Express on port 5000, Sequelize with MySQL).
#
#   docker build -f docker/wayshub-backend.Dockerfile -t wayshub-backend:1 ../wayshub-backend
#
# The stack runs `npx sequelize db:migrate` in this image once per deploy (the migration job
# has no internet access), so sequelize-cli is installed here when the app doesn't bring it.
ARG NODE_IMAGE=node:16-bullseye-slim

FROM ${NODE_IMAGE}
WORKDIR /app
COPY package*.json ./
RUN npm install --omit=dev \
 && (npx --no-install sequelize --version >/dev/null 2>&1 || npm install --no-save --omit=dev sequelize-cli@6)
COPY . .
ENV NODE_ENV=production PORT=5000
USER node
EXPOSE 5000
CMD ["node", "index.js"]
