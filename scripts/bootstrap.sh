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
# The chat widget's browser dependency (socket.io client), served locally by the demo shop.
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: the web chat widget needs Node.js 18+ and npm (Debian: apt-get install nodejs npm)." >&2
  exit 1
fi
echo "Installing the widget's socket.io client (npm ci) ..."
npm ci --prefix bot/shop --no-audit --no-fund --loglevel=error
# The browser tests drive Debian's Chromium (Playwright's own browser download does not work offline).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium for the browser tests (apt-get install chromium) ..."
    apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
  else
    echo "Note: Chromium is not installed; the browser tests need it (Debian: sudo apt-get install chromium)." >&2
  fi
fi
# Production mode (caredesk run --production) puts Debian's nginx in front of the Rasa and action
# servers; it runs it as its own child process, so the package's system service is not needed.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing nginx for production mode (apt-get install nginx-light) ..."
    apt-get install -y -qq nginx-light >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; }
  else
    echo "Note: nginx is not installed; production mode needs it (Debian: sudo apt-get install nginx-light)." >&2
  fi
fi
sha256sum requirements.lock pyproject.toml bot/shop/package-lock.json > .venv/.installed
echo "Installed. The 'caredesk' command is .venv/bin/caredesk."
