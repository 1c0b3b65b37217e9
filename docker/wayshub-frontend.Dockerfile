# wayshub-frontend (create-react-app 4) built into static files, served by nginx on port 80.
#
#   docker build -f docker/wayshub-frontend.Dockerfile \
#     --build-arg REACT_APP_API_URL=https://api.alvin.xyz/api/v1 \
#     -t wayshub-frontend:1 ../wayshub-frontend
#
# create-react-app bakes REACT_APP_* into the bundle at build time, so the API URL is a build
# argument here (the stack also sets it as env on the replicas, for `npm start` images).
# Node 16 builds CRA 4 as is. A Node 17+ base needs --build-arg NODE_OPTIONS=--openssl-legacy-provider
# and a fresh lock file: wayshub-frontend's pins postcss 8.1 under postcss-safe-parser, which
# Node 17+ refuses to load (ERR_PACKAGE_PATH_NOT_EXPORTED); see the README.
ARG NODE_IMAGE=node:16-bullseye
ARG NGINX_IMAGE=nginx:1.30-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Checkouts of wayshub-frontend come with either lock file; install exactly what it pins.
COPY package.json yarn.lock* package-lock.json* ./
RUN if [ -f yarn.lock ]; then yarn install --frozen-lockfile --network-timeout 600000; \
    elif [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
    else echo "wayshub-frontend: no yarn.lock or package-lock.json in the checkout; commit one so the build installs pinned versions" >&2; exit 1; fi
COPY . .
ARG REACT_APP_API_URL
ARG NODE_OPTIONS=
# Source maps would publish the app's source next to it; true brings them back.
ARG GENERATE_SOURCEMAP=false
ENV REACT_APP_API_URL=${REACT_APP_API_URL} NODE_OPTIONS=${NODE_OPTIONS} GENERATE_SOURCEMAP=${GENERATE_SOURCEMAP}
RUN if [ -f yarn.lock ]; then yarn build; else npm run build; fi \
 && test -f build/index.html

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
