# Build: full dependency tree, TypeScript compiled to dist/ (tsconfig.build.json).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY routes ./routes
COPY schemas ./schemas
RUN npm run build

# Runtime: production dependencies only, compiled output, unprivileged user.
FROM node:24-bookworm-slim AS runtime
ARG VERSION=0.0.0-dev
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="qualys-servicenow-sync" \
      org.opencontainers.image.description="Turns Qualys Policy Compliance and VM findings into POA&M records in ServiceNow, mapped to CMDB CIs and tagged by risk tier." \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
ENV NODE_ENV=production
WORKDIR /app
# package.json also serves the version the app reports (src/version.ts reads it).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Files stay root-owned and read-only to the process; the app writes nothing but /tmp.
USER node
EXPOSE 3000
# No curl in the slim image: Node's own fetch probes the liveness route.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node runs as PID 1 so SIGTERM reaches close-with-grace directly (no npm wrapper).
CMD ["node", "dist/src/server.js"]
