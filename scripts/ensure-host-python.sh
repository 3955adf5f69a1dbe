#!/usr/bin/env bash
# Makes sure a host Python with scikit-learn exists for subprocess isolation (tests, bench).
# Prints its path. Uses EXPERIMENT_PYTHON when it already imports sklearn; otherwise
# Debian's /usr/bin/python3 with python3-sklearn and python3-pandas (installed as root).
set -euo pipefail
has_sklearn() { "$1" -c "import sklearn, pandas, numpy" >/dev/null 2>&1; }
for candidate in "${EXPERIMENT_PYTHON:-}" /usr/bin/python3; do
  if [ -n "$candidate" ] && has_sklearn "$candidate"; then echo "$candidate"; exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[ensure-host-python] installing python3-sklearn python3-pandas from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq python3-sklearn python3-pandas >/dev/null 2>&1 || { apt-get update -qq >/dev/null; apt-get install -y -qq python3-sklearn python3-pandas >/dev/null; }
  if has_sklearn /usr/bin/python3; then echo /usr/bin/python3; exit 0; fi
fi
echo "[ensure-host-python] no Python with scikit-learn: install it (e.g. apt-get install python3-sklearn python3-pandas) or set EXPERIMENT_PYTHON" >&2
exit 1
