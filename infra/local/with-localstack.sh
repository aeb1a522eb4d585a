#!/usr/bin/env bash
# Runs a command with LocalStack up: starts it (installing it on first use) unless it already answers,
# and stops it afterwards only if this script started it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
started=""
if ! "$here/localstack.sh" status >/dev/null 2>&1; then
  "$here/localstack.sh" start
  started=1
fi
cleanup() { if [ -n "$started" ] && [ -z "${R53DYN_KEEP_LOCALSTACK:-}" ]; then "$here/localstack.sh" stop; fi; }
trap cleanup EXIT
# the AWS CLI (for the boot script) on PATH
PATH="$("$here/tools.sh"):$PATH"
export PATH LOCALSTACK_ENDPOINT="${LOCALSTACK_ENDPOINT:-$("$here/localstack.sh" endpoint)}"
"$@"
