# syntax=docker/dockerfile:1
#
# One image for every role of Portoon: `serve` (the default command; with --queue / PORTOON_QUEUE an
# API node of a cluster, without it a whole service) and `worker` (a processing node of a cluster).
# Models are not part of the image: mount them at /models, or set PORTOON_MODEL_MIRROR to have them
# pulled at start (docker/entrypoint.sh). See docs/SCALING.md and compose.yaml.
#
#   docker build -t portoon .
#   docker run --rm -p 8080:8080 -v portoon-models:/models -e PORTOON_MODEL_MIRROR=https://… portoon
#
# Not built by the project's tests.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# onnxruntime-node's install step only fetches optional GPU binaries; the CPU build ships in the package.
# @contentauth/c2pa-node ships its linux-x64 native module; its install step would download or build
# another one (needs Rust), which the two SKIP_ variables turn off.
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    SKIP_RUST_BUILD=1 \
    SKIP_BINARY_DOWNLOAD=1
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json vite.config.ts ./
COPY src ./src
COPY web ./web
COPY catalogue ./catalogue
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# ffmpeg and ffprobe: videos (workers decode and encode them, API nodes probe uploads).
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    PORTOON_MODELS=/models \
    HOST=0.0.0.0
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY catalogue ./catalogue
COPY docs/images/20-original.jpg ./docs/images/20-original.jpg
COPY LICENSE ./
COPY docker/entrypoint.sh /usr/local/bin/portoon-entrypoint
# The folders volumes are mounted on belong to the unprivileged user the processes run as.
RUN chmod 0755 /usr/local/bin/portoon-entrypoint \
  && mkdir -p /models /data/blobs \
  && chown node:node /models /data/blobs
USER node
# 8080: the HTTP API (serve); 9464: a worker's /metrics, /healthz and /readyz.
EXPOSE 8080 9464
ENTRYPOINT ["portoon-entrypoint"]
CMD ["serve", "--host", "0.0.0.0"]
