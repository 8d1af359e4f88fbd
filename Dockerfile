# ghostgate's container image: multi-stage, node:22-slim, non-root, tini as PID 1, no dev dependencies.
# There is no container engine on the development and CI machines: scripts/image-check.sh runs these
# same steps in a clean folder as a non-root user on every CI run, so this file cannot silently rot.
FROM node:22-slim AS build
# better-sqlite3 compiles from its source (.npmrc build-from-source): nothing is downloaded at install time.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
# node-gyp builds against the image's own Node headers instead of downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
# npm ci runs `prepare`, which builds dist/; then the dev dependencies go.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:22-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/* \
  && mkdir /data && chown node:node /data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/src/catalog/data ./src/catalog/data
USER node
ENV NODE_ENV=production GHOSTGATE_LISTEN_HOST=0.0.0.0
VOLUME /data
EXPOSE 8787
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8787/ghostgate/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/ghostgate.js", "--config", "/data/ghostgate.yaml"]
CMD ["serve"]
