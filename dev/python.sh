# Sourced by the dev/ scripts: sets PYTHON to an interpreter >= 3.12 (NetBox 4.7's minimum).
# Override with PYTHON=/path/to/python. Candidates are run, not just found: pyenv shims exist
# on PATH even when they cannot run the version they name.

_py_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

find_python() {
    local c
    if [ -n "${PYTHON:-}" ]; then  # an explicit choice is used or refused, never silently replaced
        _py_ok "$PYTHON" && { command -v "$PYTHON"; return 0; }
        echo "error: PYTHON=$PYTHON is not a working Python >= 3.12" >&2; return 1
    fi
    for c in python3.14 python3.13 python3.12 python3 \
             "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python \
             /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9] \
             /opt/homebrew/bin/python3.1[2-9] /opt/python/3.1[2-9]*/bin/python; do
        if _py_ok "$c"; then command -v "$c"; return 0; fi
    done
    return 1
}

_requested=${PYTHON:-}
PYTHON=$(find_python) || {
    [ -n "$_requested" ] && exit 1
    echo "error: no Python >= 3.12 found (NetBox 4.7 needs it)." >&2
    echo "       Tried python3.1x/python3 on PATH, ~/.pyenv/versions/3.1x, /usr/local/bin/python3.1x." >&2
    echo "       Install one (e.g. 'pyenv install 3.12') or set PYTHON=/path/to/python3.12." >&2
    exit 1
}
