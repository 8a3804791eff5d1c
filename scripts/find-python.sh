#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter, or explain what to install and exit 1.
# Looks at $PYTHON, python3.10 on PATH, then pyenv's 3.10.x installs.
set -u

is_310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
for dir in $(ls -d "$pyenv_root"/versions/3.10* 2>/dev/null | sort -rV); do
  candidates+=("$dir/bin/python3.10" "$dir/bin/python")
done

for candidate in "${candidates[@]}"; do
  if [ -x "$candidate" ] && is_310 "$candidate"; then
    # Resolve pyenv shims to the real interpreter so the venv does not depend on pyenv state.
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done

cat >&2 <<'MSG'
CareDesk needs Python 3.10 (Rasa 3.6 does not run on 3.11 or newer), and none was found.
Install one of:
  - pyenv:   pyenv install 3.10.13
  - Debian/Ubuntu (deadsnakes PPA on Ubuntu): apt-get install python3.10 python3.10-venv
  - macOS:   brew install python@3.10
or point PYTHON at a 3.10 interpreter: PYTHON=/path/to/python3.10 make install
MSG
exit 1
