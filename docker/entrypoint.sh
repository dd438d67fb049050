#!/bin/sh
# Entry point of the Portoon image: `portoon <command> [flags]` (default command: serve --host 0.0.0.0).
#
# Models live in $PORTOON_MODELS (/models, a mounted volume). When PORTOON_MODEL_MIRROR is set (a
# mirror folder or an http(s) base URL), the models are pulled from it first, sha256-checked; models
# already installed are kept. PORTOON_PULL_MODELS names the model ids to pull (space-separated; "all"
# for every catalogued model; default: the default set). An API node (serve with a queue) runs no
# model, so it pulls nothing.
set -eu

portoon() {
  node /app/dist/cli/main.js "$@"
}

api_node=false
if [ "${1:-}" = "serve" ]; then
  if [ -n "${PORTOON_QUEUE:-}" ]; then api_node=true; fi
  for arg in "$@"; do
    case "$arg" in
      --queue | --queue=*) api_node=true ;;
    esac
  done
fi

if [ -n "${PORTOON_MODEL_MIRROR:-}" ] && [ "$api_node" = false ]; then
  case "${PORTOON_PULL_MODELS:-}" in
    "") portoon models pull --quiet ;;
    all) portoon models pull --all --quiet ;;
    # Word splitting is wanted: a list of model ids.
    # shellcheck disable=SC2086
    *) portoon models pull $PORTOON_PULL_MODELS --quiet ;;
  esac
fi

exec node /app/dist/cli/main.js "$@"
