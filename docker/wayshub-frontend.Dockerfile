# wayshub-frontend (create-react-app 4) built into static files, served by nginx on port 80.
#
#   docker build -f docker/wayshub-frontend.Dockerfile \
#     --build-arg REACT_APP_API_URL=https://api.alvin.xyz/api/v1 \
#     -t wayshub-frontend:1 ../wayshub-frontend
#
# create-react-app bakes REACT_APP_* into the bundle at build time, so the API URL is a build
# argument here (the stack also sets it as env on the replicas, for `npm start` images).
# Node 16 builds CRA 4 as is; on a Node 17+ base pass --build-arg NODE_OPTIONS=--openssl-legacy-provider
# (and the app may need postcss >= 8.4 under postcss-safe-parser).
ARG NODE_IMAGE=node:16-bullseye
ARG NGINX_IMAGE=nginx:1.30-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json yarn.lock ./
RUN yarn install --frozen-lockfile --network-timeout 600000
COPY . .
ARG REACT_APP_API_URL
ARG NODE_OPTIONS=
ENV REACT_APP_API_URL=${REACT_APP_API_URL} NODE_OPTIONS=${NODE_OPTIONS}
RUN yarn build

FROM ${NGINX_IMAGE}
COPY --from=build /app/build /usr/share/nginx/html
# A single-page app: paths the router knows serve index.html. nginx runs as its own user,
# so the stack's replicas (all capabilities dropped) can run it.
RUN printf 'server {\n    listen 80;\n    root /usr/share/nginx/html;\n    location / {\n        try_files $uri /index.html;\n    }\n}\n' > /etc/nginx/conf.d/default.conf \
 && sed -i -e 's|^pid .*|pid /tmp/nginx.pid;|' -e 's|^user .*||' /etc/nginx/nginx.conf \
 && chown -R nginx:nginx /var/cache/nginx /usr/share/nginx/html
USER nginx
EXPOSE 80
