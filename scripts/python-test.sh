#!/usr/bin/env bash
# The Python client's tests (clients/python/tests) against the built daemon,
# in a virtual environment under .build/ with protobuf from PyPI, the
# runtime of the modules protoc 3.21 generates.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/python-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c 'import google.protobuf' 2>/dev/null; then
    "$venv/bin/pip" install --quiet 'protobuf>=4.21,<5' || {
        echo "python-test: could not install protobuf from PyPI into $venv" >&2
        exit 1
    }
fi
cd clients/python
exec "../../$venv/bin/python" -m unittest discover --start-directory tests
