#!/usr/bin/env bash
# The deployment's test tools, pinned and installed on first use into venvs under .local/opt/
# (git-ignored; shared by worktrees, so each is built under a lock).
#
#   bash infra/aws/tools.sh lint      cfn-lint the template (non-zero on any error or warning that
#                                     .cfnlintrc does not ignore with a reason)
#   bash infra/aws/tools.sh aws       print the path of a pinned aws CLI (for the moto deploy test)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
CFN_LINT_VERSION=${CFN_LINT_VERSION:-1.58.0}
AWSCLI_VERSION=${AWSCLI_VERSION:-1.45.11}

# ensure_venv NAME REQUIREMENT: a venv at .local/opt/NAME with REQUIREMENT installed.
ensure_venv() {
  local venv="$root/.local/opt/$1" req=$2
  # A venv's scripts name their interpreter by absolute path: one made
  # through another path to .local (a worktree's symlink, a moved clone)
  # cannot run here, so it is rebuilt.
  if [[ -f "$venv/.installed" ]] && [[ "$(head -n 1 "$venv/bin/pip" 2>/dev/null)" != "#!$venv/bin/python"* ]]; then
    rm -f "$venv/.installed"
  fi
  if [[ ! -f "$venv/.installed" ]]; then
    mkdir -p "$root/.local/opt"
    exec 9>"$venv.lock"
    flock 9
    if [[ ! -f "$venv/.installed" ]]; then
      echo "[aws] installing $req into $venv" >&2
      rm -rf "$venv"
      # a venv hard-codes its own path: built in place
      python3 -m venv "$venv"
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$req" >&2 || {
        rm -rf "$venv"
        echo "[aws] pip install $req failed" >&2
        exit 1
      }
      touch "$venv/.installed"
    fi
    flock -u 9
    exec 9>&-
  fi
  echo "$venv"
}

case "${1:-}" in
lint)
  venv=$(ensure_venv "cfn-lint-$CFN_LINT_VERSION" "cfn-lint==$CFN_LINT_VERSION")
  cd "$here"
  "$venv/bin/cfn-lint" --version >&2
  exec "$venv/bin/cfn-lint" --config-file "$here/.cfnlintrc" -- siemstream.yaml
  ;;
aws)
  venv=$(ensure_venv "awscli-$AWSCLI_VERSION" "awscli==$AWSCLI_VERSION")
  echo "$venv/bin/aws"
  ;;
*)
  echo "usage: $0 lint|aws" >&2
  exit 2
  ;;
esac
