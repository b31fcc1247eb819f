#!/bin/sh
# As the official node image's entrypoint: arguments that start with "-", or that name no command,
# are arguments to node; then exec, so the command is PID 1 and receives the container's signals.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
