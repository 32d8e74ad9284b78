# The order engine, run from its TypeScript sources with tsx exactly as `npm start` does.
#   docker build -t order-engine .
#   docker run -p 3000:3000 -e DATABASE_URL=postgres://… order-engine
# Without DATABASE_URL it uses embedded PGlite under DATA_DIR (/app/data): mount a volume there.
FROM node:20-bookworm-slim

# npm runs a script through `sh -c`; Debian's sh (dash) stays as the parent of tsx and dies on
# SIGTERM without passing it on, so the engine would be killed without draining. bash execs a
# lone command, so npm's child is tsx itself, npm forwards SIGTERM to it, and npm waits.
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_SCRIPT_SHELL=/bin/bash \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data

WORKDIR /app
RUN chown node:node /app
USER node

# Dependencies first (tsx is a runtime dependency), so that a change to the sources reuses this layer.
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY --chown=node:node tsconfig.json ./
COPY --chown=node:node src ./src
COPY --chown=node:node actors ./actors
COPY --chown=node:node migrations ./migrations
RUN mkdir -p /app/data

EXPOSE 3000

# The slim image has no curl: Node 20's fetch asks /health/live.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

# On SIGTERM (docker stop) npm passes the signal to tsx, tsx to the engine, which drains requests
# and flushes the journal. `docker run --init` / `init: true` in compose also reaps zombies.
CMD ["npm", "start"]
