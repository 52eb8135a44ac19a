#!/usr/bin/env bash
# Install what the tests need on a fresh Debian/Ubuntu machine, then run them.
# This is the README's test command; .ci/run runs exactly this.
#
#   bash scripts/test.sh            # lint (ruff), then the whole test suite
#   bash scripts/test.sh -k delete  # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server)
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
# network namespaces (ip netns, veth, bridge) for tests/test_worker_hosts.py (run as root)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)  # certificates for the TLS tests
# a private single-node Slurm for tests/test_worker_slurm.py (started by the test as root)
command -v slurmctld >/dev/null 2>&1 || [ -x /usr/sbin/slurmctld ] || need_apt+=(slurm-wlm munge)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${need_apt[*]} (apt)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

. scripts/venv.sh
relflow_venv "[dev]"

ruff check --quiet .
exec python -m pytest -n 2 "$@"
