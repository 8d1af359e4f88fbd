#!/usr/bin/env bash
# The container image's build steps (Dockerfile), run without a container engine: in a clean folder,
# as a non-root user, from the files the Dockerfile copies. Then the runtime folder is checked: no dev
# dependency, `ghostgate --help`, and `serve` answers healthz and exits 0 on SIGTERM. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
user=${IMAGE_CHECK_USER:-nobody}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/build" "$work/app" "$work/data" "$work/home"
# COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./ ; COPY bin ; COPY src
cp package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json "$work/build/"
cp -r bin src "$work/build/"
chown -R "$user" "$work"
# Native addons build against the installed Node's own headers (the image sets the same), never downloaded ones.
nodedir=$(dirname "$(dirname "$(command -v node)")")
[ -f "$nodedir/include/node/node.h" ] || { echo "image-check: no Node headers under $nodedir/include/node" >&2; exit 1; }
cafile=$(npm config get cafile 2>/dev/null || true)
as() {
  runuser -u "$user" -- env HOME="$work/home" npm_config_cache="$work/home/.npm" npm_config_nodedir="$nodedir" \
    npm_config_update_notifier=false ${cafile:+npm_config_cafile="$cafile"} "$@"
}
echo "image-check: npm ci and prune as $user in a clean folder" >&2
(cd "$work/build" && as npm ci --no-audit --no-fund --loglevel=error && as npm prune --omit=dev --no-audit --no-fund --loglevel=error)
# The runtime stage's COPY --from=build lines.
mkdir -p "$work/app/src/catalog"
cp -r "$work/build/package.json" "$work/build/node_modules" "$work/build/dist" "$work/build/bin" "$work/app/"
cp -r "$work/build/src/catalog/data" "$work/app/src/catalog/data"
chown -R "$user" "$work/app"
for dev in typescript tsx eslint prettier @stryker-mutator/core fast-check; do
  if [ -e "$work/app/node_modules/$dev" ]; then echo "image-check: dev dependency $dev in the image" >&2; exit 1; fi
done
cd "$work/app"
as node bin/ghostgate.js --help >/dev/null
port=$((20000 + RANDOM % 20000))
as env GHOSTGATE_MASTER_SECRET= node bin/ghostgate.js --config "$work/data/ghostgate.yaml" init --offline --upstream-url http://127.0.0.1:9 --port "$port" --db "$work/data/ghostgate.db" >/dev/null
# A placeholder upstream credential in Ghost's format: nothing is forwarded, the check is that the image serves.
# serve runs under a shell that records its exit status, and SIGTERM goes to serve itself.
upstream_key="$(printf 'ab%.0s' {1..12}):$(printf 'cd%.0s' {1..32})"
as env NODE_ENV=production GHOSTGATE_MASTER_SECRET= GHOSTGATE_UPSTREAM_KEY="$upstream_key" \
  sh -c 'node bin/ghostgate.js --config "$1/data/ghostgate.yaml" serve 2>"$1/serve.log"; echo $? >"$1/serve.exit"' sh "$work" &
ok=
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/ghostgate/healthz" >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.1
done
serve_pid=$(pgrep -f -- "--config $work/data/ghostgate.yaml serve" | head -1)
if [ -z "$ok" ] || [ -z "$serve_pid" ]; then
  echo "image-check: serve did not answer healthz" >&2; cat "$work/serve.log" >&2; [ -n "$serve_pid" ] && kill "$serve_pid"; exit 1
fi
kill -TERM "$serve_pid"
for _ in $(seq 1 150); do [ -s "$work/serve.exit" ] && break; sleep 0.1; done
if [ "$(cat "$work/serve.exit" 2>/dev/null)" != 0 ]; then
  echo "image-check: serve did not exit 0 on SIGTERM ($(cat "$work/serve.exit" 2>/dev/null || echo 'still running'))" >&2
  cat "$work/serve.log" >&2; kill -9 "$serve_pid" 2>/dev/null; exit 1
fi
echo "image-check: OK (built as $user without dev dependencies; serve answered healthz and exited 0 on SIGTERM)" >&2
