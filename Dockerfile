# The order engine, compiled to JavaScript and run with node behind an init.
#   docker build -t order-engine .
#   docker run -p 3000:3000 -e DATABASE_URL=postgres://… order-engine
# Without DATABASE_URL it uses embedded PGlite under DATA_DIR (/app/data): mount a volume there.

# Build: every dependency (TypeScript included), then `npm run build` into dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY actors ./actors
COPY migrations ./migrations
RUN npm run build

# Run: production dependencies and the compiled engine only.
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data

WORKDIR /app
RUN chown node:node /app
USER node

COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --chown=node:node --from=build /app/dist ./dist
COPY --chown=node:node docker/start.sh ./docker/start.sh
RUN mkdir -p /app/data

EXPOSE 3000

# Ready once the database answers and start-up recovery is done. The slim image has no curl:
# Node 20's fetch asks.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

# tini is PID 1 (a subreaper too, for `docker run --init` and compose's `init: true`): it passes
# SIGTERM to node, which start.sh exec'd with a heap limit that follows the container's memory;
# the engine drains requests, flushes the journal and exits.
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["sh", "docker/start.sh"]
