#!/bin/sh
# The README's two commands, and what CI runs.
#   ./go demo        install (first time), load the demo workspace, open the web UI
#   ./go test [ARGS] run the whole test suite (SQLite and a real PostgreSQL), ARGS go to pytest
#   ./go setup       only create .venv and install Goodwill with its development tools
#   ./go bench       run the benchmarks (see benchmarks/README.md)
#   ./go ARGS        anything else is passed to the `goodwill` command
set -eu
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
            echo "Goodwill needs Python 3.11 or newer (found $("$PYTHON" --version 2>&1))." >&2
            exit 1
        }
        echo "Creating $VENV and installing Goodwill (first run only)..." >&2
        "$PYTHON" -m venv "$VENV"
    fi
    stamp="$VENV/.goodwill-installed"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
        touch "$stamp"
    fi
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
    setup) setup ;;
    demo) setup; exec "$VENV/bin/goodwill" demo "$@" ;;
    test) setup; exec "$VENV/bin/python" -m pytest -n "${GOODWILL_TEST_WORKERS:-2}" "$@" ;;
    bench) setup; exec "$VENV/bin/python" benchmarks/run_all.py "$@" ;;
    help|-h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) setup; exec "$VENV/bin/goodwill" "$cmd" "$@" ;;
esac
