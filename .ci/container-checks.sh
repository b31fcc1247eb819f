#!/usr/bin/env bash
# Builds the image from ./Dockerfile and proves what docs/deploy.md promises of it, then runs
# compose.yaml (three replicas, Redis, HAProxy) as a user would and proves that too; then the same
# with deploy/compose.host-network.yaml laid over it. Stops at the first failure, saying what
# failed. CI runs it after .ci/base-images.sh; anyone with Docker and docker-compose can run it:
#
#   .ci/container-checks.sh                         # DOCKER=…, COMPOSE=… to pick the clients
#
# (Output is matched with grep on a captured string, not through a pipe: under pipefail, a `grep -q`
# that stops reading early would fail the command that writes.) Builds use the host's network (`--network host`): on a machine whose containers have no route
# out (CI here), that is how npm and apt reach their registries.
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=${DOCKER:-docker}
COMPOSE=${COMPOSE:-docker-compose}
IMAGE=telli-graphql:local # the name compose.yaml runs
RUN=tg-check-$$
CONTAINER=$RUN-single
SAMPLE_ID=3c90c3cc-0d44-4b50-8888-8dd25736052a
QUERY="{\"query\":\"{ contact(id: \\\"$SAMPLE_ID\\\") { firstName } }\"}"
EXPECTED='{"data":{"contact":{"firstName":"Ada"}}}'

say() { echo "container checks: $*"; }
fail() {
  echo "FAIL: container checks: $*" >&2
  exit 1
}
# `$1` distinct TCP ports nobody listens on now, one a line.
free_ports() {
  node -e "
    const net = require('node:net');
    const servers = Array.from({ length: Number(process.argv[1]) }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((resolve) => s.listen(0, '127.0.0.1', resolve)))).then(() => {
      console.log(servers.map((s) => s.address().port).join('\\n'));
      for (const s of servers) s.close();
    });" "$1"
}
# Polls `$2` (a command) every half second for up to `$1` seconds; true once it succeeds.
within() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}
http_status() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1"; }
is_status() { [ "$(http_status "$2")" = "$1" ]; }
# POSTs the sample query to `$1` with the request id `$2`; prints the body.
query() { curl -s -m 10 "$1" -H 'content-type: application/json' -H "x-request-id: $2" -d "$QUERY"; }
health_of() { "$DOCKER" inspect -f '{{ if .State.Health }}{{ .State.Health.Status }}{{ end }}' "$1"; }
is_healthy() { [ "$(health_of "$1")" = healthy ]; }

compose_files=()
compose() { LB_PORT=$lb_port "$COMPOSE" -p "$RUN" "${compose_files[@]}" "$@"; }
cleanup() {
  "$DOCKER" rm -f "$CONTAINER" >/dev/null 2>&1 || true
  if [ ${#compose_files[@]} -gt 0 ]; then compose down --timeout 5 >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# --- The image ------------------------------------------------------------------------------
started=$SECONDS
"$DOCKER" build --force-rm --network host -t "$IMAGE" . >"/tmp/$RUN-build.log" 2>&1 || {
  tail -n 40 "/tmp/$RUN-build.log" >&2
  fail "docker build failed (the end of its log is above; all of it in /tmp/$RUN-build.log)"
}
size=$("$DOCKER" image inspect -f '{{ .Size }}' "$IMAGE")
say "built $IMAGE in $((SECONDS - started)) s, $((size / 1000000)) MB"

[ "$("$DOCKER" image inspect -f '{{ .Config.User }}' "$IMAGE")" = node ] || fail "the image does not run as user node"
grep -q /health <<<"$("$DOCKER" image inspect -f '{{ .Config.Healthcheck.Test }}' "$IMAGE")" || fail "the image has no HEALTHCHECK on /health"
grep -q 'HOST=0.0.0.0' <<<"$("$DOCKER" image inspect -f '{{ .Config.Env }}' "$IMAGE")" || fail "the image does not default HOST to 0.0.0.0"

# No dev dependency in the image: every package the lockfile marks dev-only must be absent.
present=$(node -e "
  const lock = require('./package-lock.json');
  console.log(Object.entries(lock.packages).filter(([path, p]) => path && p.dev).map(([path]) => path).join('\n'));
" | "$DOCKER" run --rm -i --network none --entrypoint node "$IMAGE" -e "
  const fs = require('node:fs');
  const paths = fs.readFileSync(0, 'utf8').split('\n').filter(Boolean);
  console.log(paths.filter((path) => fs.existsSync(path)).join(' '));
")
[ -z "$present" ] || fail "dev dependencies in the image: $present"
"$DOCKER" run --rm --network none --entrypoint sh "$IMAGE" -c 'test ! -e node_modules/esbuild && test ! -e node_modules/vitest && test -e node_modules/@graphql-yoga/render-graphiql' ||
  fail "node_modules of the image: esbuild or vitest present, or GraphiQL's page missing"
say "runs as node; no dev dependency in node_modules (esbuild, vitest and the rest absent)"

# Run as locked down as docs/deploy.md says it can be: read-only root filesystem, no capabilities,
# no privilege escalation.
port=$(free_ports 1)
"$DOCKER" run -d --name "$CONTAINER" --network host --read-only --cap-drop ALL --security-opt no-new-privileges \
  -e PORT="$port" "$IMAGE" >/dev/null
within 30 is_status 200 "http://127.0.0.1:$port/health" || {
  "$DOCKER" logs "$CONTAINER" >&2
  fail "the container did not answer /health within 30 s (its log is above)"
}
answer=$(query "http://127.0.0.1:$port/graphql" check-single)
[ "$answer" = "$EXPECTED" ] || fail "a sandbox query to the container answered $answer, not $EXPECTED"
# GraphiQL's page comes from node_modules at run time (not bundled): it must be in the image.
grep -q '<title>telli-graphql</title>' <<<"$(curl -s -m 10 -H 'accept: text/html' "http://127.0.0.1:$port/graphql")" ||
  fail "the container does not serve GraphiQL's page"
grep -q '"graphiql":"http://0.0.0.0:' <<<"$("$DOCKER" logs "$CONTAINER" 2>&1)" || fail "the server in the image does not listen on HOST=0.0.0.0"
# What the server runs as, and that it is PID 1 (so that docker stop's SIGTERM reaches it).
"$DOCKER" exec "$CONTAINER" sh -c 'grep -q "^Uid:[[:space:]]*1000[[:space:]]" /proc/1/status && tr "\0" " " </proc/1/cmdline | grep -q "^node .*dist/server.js"' ||
  fail "PID 1 of the container is not node dist/server.js running as uid 1000"
within 60 is_healthy "$CONTAINER" || fail "Docker's health check did not report healthy within 60 s (status: $(health_of "$CONTAINER"))"
say "read-only, no capabilities: /health, a sandbox query, GraphiQL, HOST=0.0.0.0, PID 1 = node as uid 1000, HEALTHCHECK healthy"

# docker stop: SIGTERM → /readiness 503 while still answering (the drain) → exit 0.
stop_started=$SECONDS
"$DOCKER" stop -t 30 "$CONTAINER" >/dev/null &
stopping=$!
within 5 is_status 503 "http://127.0.0.1:$port/readiness" || fail "/readiness did not turn 503 after docker stop"
is_status 200 "http://127.0.0.1:$port/health" || fail "the container stopped answering at once instead of draining"
wait $stopping
exit_code=$("$DOCKER" inspect -f '{{ .State.ExitCode }}' "$CONTAINER")
[ "$exit_code" = 0 ] || fail "the container exited $exit_code after docker stop, not 0"
grep -q '"signal":"SIGTERM"' <<<"$("$DOCKER" logs "$CONTAINER" 2>&1)" || fail "the server did not log the SIGTERM it stopped on"
say "docker stop: drained (/readiness 503, /health 200) and exited 0 after $((SECONDS - stop_started)) s"
"$DOCKER" rm "$CONTAINER" >/dev/null

# --- compose.yaml ---------------------------------------------------------------------------
# Redis and HAProxy are built on the host's network (deploy/compose.host-network.yaml says so:
# `lb-host` is `lb` there, the same image); the layer's image is the one built above.
lb_port=$(free_ports 1)
compose_files=(-f compose.yaml -f deploy/compose.host-network.yaml)
started=$SECONDS
compose build --force-rm redis lb-host >"/tmp/$RUN-compose-build.log" 2>&1 || {
  tail -n 40 "/tmp/$RUN-compose-build.log" >&2
  fail "building compose.yaml's redis and lb images failed (log above)"
}
say "built the redis and HAProxy images in $((SECONDS - started)) s"

# Proves the running compose project: replicas healthy and subscribed to Redis, a query through
# each replica and through the load balancer, which spreads queries over all three; then a stop
# that every replica survives with exit 0. `$1` names the variant; `$2` the load balancer
# service; `$3` how to query replica N (a function: replica_query N).
prove_compose() {
  local variant=$1 lb=$2 replica_query=$3 n id answer container code
  for n in 1 2 3; do
    container=$(compose ps -q "graphql-$n")
    within 90 is_healthy "$container" || {
      compose logs --tail 30 "graphql-$n" >&2
      fail "$variant: replica graphql-$n not healthy within 90 s (log above)"
    }
    answer=$($replica_query "$n")
    [ "$answer" = "$EXPECTED" ] || fail "$variant: a query to replica graphql-$n answered $answer"
  done
  # Every replica subscribes to the one Redis event channel.
  subscribers=$(compose exec -T redis redis-cli -p "${REDIS_PORT:-6379}" pubsub numsub telli-graphql:events | tail -n 1 | tr -d '\r')
  [ "$subscribers" = 3 ] || fail "$variant: $subscribers replicas subscribed to Redis's event channel, not 3"
  within 30 is_status 200 "http://127.0.0.1:$lb_port/readiness" || fail "$variant: the load balancer on port $lb_port does not answer"
  for n in 1 2 3 4 5 6; do
    id="$RUN-$variant-lb-$n"
    answer=$(query "http://127.0.0.1:$lb_port/graphql" "$id")
    [ "$answer" = "$EXPECTED" ] || fail "$variant: a query through the load balancer answered $answer"
  done
  for n in 1 2 3; do
    grep -q "\"requestId\":\"$RUN-$variant-lb-" <<<"$(compose logs --no-color "graphql-$n")" ||
      fail "$variant: no query through the load balancer reached replica graphql-$n (round robin over 6 queries)"
  done
  say "$variant: 3 replicas healthy and on Redis; a query through each replica and through $lb, which reached all three"
  compose stop --timeout 30 >/dev/null 2>&1
  for n in 1 2 3; do
    code=$("$DOCKER" inspect -f '{{ .State.ExitCode }}' "$(compose ps -q "graphql-$n")")
    [ "$code" = 0 ] || fail "$variant: replica graphql-$n exited $code on stop, not 0"
  done
  compose down --timeout 5 >/dev/null 2>&1
  say "$variant: stopped (every replica exited 0) and removed"
}

# As a user runs it: a network of its own, services by name, the load balancer published on
# 127.0.0.1. Replicas are queried from inside their containers (they publish no port).
compose_files=(-f compose.yaml)
inside_replica() {
  compose exec -T "graphql-$1" node -e "
    fetch('http://127.0.0.1:4000/graphql', { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'check-replica' }, body: process.argv[1] })
      .then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(e); process.exit(1); });" "$QUERY"
}
started=$SECONDS
compose up -d --no-build >"/tmp/$RUN-compose.log" 2>&1 || {
  cat "/tmp/$RUN-compose.log" >&2
  fail "compose.yaml: docker-compose up failed (output above)"
}
prove_compose compose.yaml lb inside_replica
say "compose.yaml: $((SECONDS - started)) s"

# On the host's network only, each replica on a port of its own.
compose_files=(-f compose.yaml -f deploy/compose.host-network.yaml)
read -r -d '' GRAPHQL_PORT_1 GRAPHQL_PORT_2 GRAPHQL_PORT_3 REDIS_PORT lb_port < <(free_ports 5) || true
export GRAPHQL_PORT_1 GRAPHQL_PORT_2 GRAPHQL_PORT_3 REDIS_PORT
on_host_port() {
  local var="GRAPHQL_PORT_$1"
  query "http://127.0.0.1:${!var}/graphql" check-replica
}
started=$SECONDS
compose up -d --no-build >"/tmp/$RUN-compose.log" 2>&1 || {
  cat "/tmp/$RUN-compose.log" >&2
  fail "compose.yaml + deploy/compose.host-network.yaml: docker-compose up failed (output above)"
}
prove_compose host-network lb-host on_host_port
say "host-network: $((SECONDS - started)) s"
compose_files=()
rm -f "/tmp/$RUN"-*.log
say "all passed"
