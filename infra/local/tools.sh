#!/usr/bin/env bash
# The AWS CLI (used by the boot script and by people) and cfn-lint, in a project-local virtualenv.
# Prints the bin folder to put on PATH.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.local/tools-venv"
want="$(cat "$root/infra/local/tools-requirements.txt")"
if [ ! -x "$venv/bin/aws" ] || [ "$(cat "$venv/.r53dyn-requirements" 2>/dev/null)" != "$want" ]; then
  echo "[tools] installing the AWS CLI and cfn-lint into $venv" >&2
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/infra/local/tools-requirements.txt"
  echo "$want" >"$venv/.r53dyn-requirements"
fi
echo "$venv/bin"
