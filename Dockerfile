# telli-graphql: the built server on the official Node.js 22 image, as a non-root user.
#
#   docker build -t telli-graphql .
#   docker run --rm -p 4000:4000 telli-graphql                        # sandbox mode (demo data)
#   docker run --rm -p 4000:4000 -e TELLI_API_KEY -e CALLER_TOKENS telli-graphql
#
# Written for the classic builder as much as for BuildKit (no RUN --mount, no heredocs), so any
# Docker engine builds it. See docs/deploy.md.

# Production dependencies only: what the bundle loads at run time (GraphiQL's page is kept out
# of the bundle and loaded from node_modules when first asked for).
FROM node:22-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# The bundle, built with the dev dependencies (esbuild), which stay in this stage.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:22-bookworm-slim
WORKDIR /app
# Files stay root's: the server only reads them, so a compromised process cannot rewrite itself.
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist/server.js /app/dist/server.js.map ./dist/
# For "type": "module": the bundle is ESM.
COPY package.json ./
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000
EXPOSE 4000
# The official image's user `node` (uid 1000).
USER node
# Liveness from inside the container (the slim image has no curl or wget): /health on the port
# the server listens on.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 (exec form, and the official entrypoint execs it): `docker stop` sends SIGTERM to
# the server itself, which drains (SHUTDOWN_DRAIN_MS), finishes in-flight requests
# (SHUTDOWN_GRACE_MS) and exits 0. Give it `docker stop -t 30` / a 30 s grace period. The flags
# are `npm run start:prod`'s.
STOPSIGNAL SIGTERM
CMD ["node", "--heap-growing-percent=25", "dist/server.js"]
