# Sourced by demo.sh and test.sh: make the project's virtual environment (.venv) and install
# relflow-gen into it, editable, with the extras given in $1 ("" or "[dev]").
#
# A project venv instead of the system interpreter: a stock Debian/Ubuntu python3 refuses
# `pip install` outside a venv (PEP 668, "externally-managed-environment").

relflow_venv() {
  local extras="${1:-}"
  local py="${PYTHON:-python3}"
  if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    echo "relflow-gen needs Python 3.11 or newer ($py is $("$py" --version 2>&1))" >&2
    return 1
  fi
  if [ ! -x .venv/bin/python ]; then
    if ! "$py" -m venv --help >/dev/null 2>&1 || ! "$py" -c 'import ensurepip' 2>/dev/null; then
      local sudo=""
      [ "$(id -u)" -eq 0 ] || sudo="sudo"
      local ver
      ver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      echo "installing python${ver}-venv (apt)"
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "python${ver}-venv" >/dev/null \
        || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    fi
    rm -rf .venv
    "$py" -m venv .venv
  fi
  # reinstall only when the project's metadata changed since the last install ([dev] covers "")
  local sum kind
  sum=$(cksum < pyproject.toml | cut -d' ' -f1)
  kind=base
  [ -n "$extras" ] && kind=dev
  if [ ! -f ".venv/.installed-$sum-dev" ] && [ ! -f ".venv/.installed-$sum-$kind" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"
    rm -f .venv/.installed-*
    touch ".venv/.installed-$sum-$kind"
  fi
  export PATH="$PWD/.venv/bin:$PATH"
  export VIRTUAL_ENV="$PWD/.venv"
}
