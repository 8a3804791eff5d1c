#!/usr/bin/env bash
# Create .venv with Python 3.10 and install the pinned dependencies. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

python=$(scripts/find-python.sh)
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
  echo "Creating .venv with $python"
  rm -rf .venv
  "$python" -m venv .venv
fi
echo "Installing pinned dependencies (first time: a few minutes) ..."
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
.venv/bin/python -m pip install --disable-pip-version-check --progress-bar on -r requirements.lock
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
.venv/bin/python -m pip check
# VADER's lexicon into an nltk data folder (var/nltk_data): nothing is downloaded at run time.
.venv/bin/python -c 'from bot.nlu.sentiment_scorer import nltk_data_dir; print("nltk data:", nltk_data_dir())'
sha256sum requirements.lock pyproject.toml > .venv/.installed
echo "Installed. The 'caredesk' command is .venv/bin/caredesk."
