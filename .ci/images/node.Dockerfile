# CI only: a stand-in for the official node:<major>-bookworm-slim image, made on a machine that
# cannot reach a container registry (.ci/base-images.sh assembles the context). Same layout as the
# official one: Node.js from the official build in /usr/local, npm beside it, user and group
# `node` (1000:1000), an entrypoint that runs `node` for arguments that are not a command. Unlike
# it, it carries this machine's CA bundle and npm's `cafile` setting, since the npm registry is
# reached through a TLS proxy here, and no yarn.
FROM debian:bookworm-slim
ARG NODE_VERSION
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node/ /usr/local/
COPY npm/ /usr/local/lib/node_modules/npm/
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY docker-entrypoint.sh /usr/local/bin/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && mkdir -p /usr/local/etc \
 && echo 'cafile=/etc/ssl/certs/ca-certificates.crt' > /usr/local/etc/npmrc \
 && test "$(node --version)" = "v$NODE_VERSION" \
 && npm --version
ENV NODE_VERSION=$NODE_VERSION
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
