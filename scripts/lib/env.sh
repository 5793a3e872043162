# shellcheck shell=bash
# Shared bootstrap for scripts/develop and scripts/test. Source it, then call `liveone_bootstrap`.
#
# After liveone_bootstrap:
#   REPO_ROOT   absolute path of the repository (the current directory is changed to it)
#   VENV        "$REPO_ROOT/.venv", a Python 3.13 virtualenv with requirements_test.txt installed
#   VENV_PY     "$VENV/bin/python"
#   PATH        starts with "$VENV/bin"
#
# Environment knobs:
#   LIVEONE_PYTHON   a Python 3.13 interpreter to use instead of searching for one
#   LIVEONE_FORCE_INSTALL=1   reinstall requirements_test.txt even if the stamp says it is current

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
VENV="$REPO_ROOT/.venv"
VENV_PY="$VENV/bin/python"
REQUIREMENTS="$REPO_ROOT/requirements_test.txt"
REQUIREMENTS_STAMP="$VENV/.liveone-requirements.sha256"
LIVEONE_PY_MINOR="3.13"

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# True if "$1" runs and is CPython $LIVEONE_PY_MINOR.x. (A pyenv shim on PATH exists but fails to run when
# that version is not selected, so existence alone proves nothing.)
_liveone_is_py313() {
    [[ -n "$1" && -x "$1" ]] || return 1
    "$1" -c "import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else 1)" >/dev/null 2>&1
}

# Print the path of a Python 3.13 interpreter, or fail with what to install.
liveone_find_python() {
    local candidate pyenv_root
    local -a candidates=()
    if [[ -n "${LIVEONE_PYTHON:-}" ]]; then
        _liveone_is_py313 "$LIVEONE_PYTHON" && { echo "$LIVEONE_PYTHON"; return 0; }
        die "LIVEONE_PYTHON=$LIVEONE_PYTHON is not a working Python $LIVEONE_PY_MINOR interpreter"
    fi
    candidate="$(command -v "python$LIVEONE_PY_MINOR" 2>/dev/null || true)"
    [[ -n "$candidate" ]] && candidates+=("$candidate")
    pyenv_root=""
    if command -v pyenv >/dev/null 2>&1; then
        pyenv_root="$(pyenv root 2>/dev/null || true)"
    fi
    [[ -z "$pyenv_root" ]] && pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
    if [[ -d "$pyenv_root/versions" ]]; then
        # Newest 3.13.x first.
        while IFS= read -r candidate; do
            candidates+=("$candidate")
        done < <(find "$pyenv_root/versions" -maxdepth 3 -path "*/versions/$LIVEONE_PY_MINOR.*/bin/python$LIVEONE_PY_MINOR" 2>/dev/null | sort -rV)
    fi
    candidates+=("/usr/local/bin/python$LIVEONE_PY_MINOR" "/usr/bin/python$LIVEONE_PY_MINOR")
    candidate="$(command -v python3 2>/dev/null || true)"
    [[ -n "$candidate" ]] && candidates+=("$candidate")
    for candidate in "${candidates[@]}"; do
        if _liveone_is_py313 "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    die "Python $LIVEONE_PY_MINOR not found (looked for python$LIVEONE_PY_MINOR on PATH, in ${pyenv_root}/versions/$LIVEONE_PY_MINOR.*, and python3).
Install it, for example with 'pyenv install $LIVEONE_PY_MINOR' or your OS package (python$LIVEONE_PY_MINOR, python$LIVEONE_PY_MINOR-venv),
or point LIVEONE_PYTHON at a Python $LIVEONE_PY_MINOR interpreter. (Home Assistant 2025.4, which the tests pin, needs 3.13.)"
}

_liveone_requirements_hash() {
    # The interpreter's exact version is part of the stamp, so a venv rebuilt on another 3.13.x reinstalls.
    { cat "$REQUIREMENTS"; "$VENV_PY" -c "import sys; print(sys.version)"; } | sha256sum | cut -d' ' -f1
}

_liveone_ensure_venv() {
    local python
    if [[ -e "$VENV" ]] && ! _liveone_is_py313 "$VENV_PY"; then
        log "Existing .venv is not a working Python $LIVEONE_PY_MINOR virtualenv: recreating it"
        rm -rf "$VENV"
    fi
    if [[ ! -x "$VENV_PY" ]]; then
        python="$(liveone_find_python)" || exit 1
        log "Creating .venv with $python ($("$python" --version 2>&1))"
        "$python" -m venv "$VENV" || die "could not create $VENV with $python (is the venv module installed, e.g. python$LIVEONE_PY_MINOR-venv?)"
    fi
}

_liveone_ensure_requirements() {
    local want have="" start log_file
    [[ -f "$REQUIREMENTS" ]] || die "missing $REQUIREMENTS"
    want="$(_liveone_requirements_hash)"
    [[ -f "$REQUIREMENTS_STAMP" ]] && have="$(cat "$REQUIREMENTS_STAMP")"
    if [[ "$want" == "$have" && "${LIVEONE_FORCE_INSTALL:-0}" != "1" ]]; then
        return 0
    fi
    log "Installing requirements_test.txt into .venv (1-3 minutes for a fresh .venv)"
    start=$SECONDS
    log_file="$VENV/.liveone-pip.log"
    # Quiet on success; on failure show pip's own output (errors are also printed as they happen).
    if ! "$VENV_PY" -m pip install --quiet --disable-pip-version-check --no-input \
        --upgrade pip >"$log_file" 2>&1; then
        cat "$log_file" >&2
        die "could not upgrade pip in .venv"
    fi
    if ! "$VENV_PY" -m pip install --quiet --disable-pip-version-check --no-input \
        -r "$REQUIREMENTS" >"$log_file" 2>&1; then
        cat "$log_file" >&2
        die "pip install -r requirements_test.txt failed (output above, also in $log_file)"
    fi
    echo "$want" >"$REQUIREMENTS_STAMP"
    log "Requirements installed in $((SECONDS - start))s"
}

# Create or reuse .venv and install requirements_test.txt when it changed. Safe to run concurrently from
# several shells: the work is serialised with a lock file (when flock is available).
liveone_bootstrap() {
    local lock_file
    cd "$REPO_ROOT" || die "cannot cd to $REPO_ROOT"
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    lock_file="${TMPDIR:-/tmp}/liveone-bootstrap-$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-16).lock"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$lock_file"
        flock 9 || die "could not lock $lock_file"
    fi
    _liveone_ensure_venv
    _liveone_ensure_requirements
    if command -v flock >/dev/null 2>&1; then
        flock -u 9
        exec 9>&-
    fi
    export VIRTUAL_ENV="$VENV"
    export PATH="$VENV/bin:$PATH"
    unset PYTHONHOME
}
