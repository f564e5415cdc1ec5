#!/usr/bin/env bash
# The whole check behind `make test`: lint, types, labs freshness, unit tests, notebooks.
# With LLMLAB_WORLD=legacy (`make test-legacy`) only what depends on the SDKs runs: the unit
# tests and the strict nbval of solutions/ (lint, types, labs/ and the browser are world-free).
# A notebook folder with no notebooks yet is skipped (pytest would exit 5: "no tests ran").
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"

# The simulator's global time scale for CI (learners default to 1.0); headless plotting.
export LLMLAB_TIME_SCALE="${LLMLAB_TIME_SCALE:-0.05}"
export MPLBACKEND=Agg
# Let Python keep the bytecode it compiles (some environments set PYTHONDONTWRITEBYTECODE): every
# pytest worker and notebook kernel would otherwise compile llmlab from source again, ~0.35 s of
# CPU per process start (measured: `import anthropic, openai, llmlab` 3.04 -> 2.68 s; about 60
# processes per run). __pycache__/ is git-ignored.
unset PYTHONDONTWRITEBYTECODE
# Notebook kernels use the inline backend, as learners and `make solutions` do: under Agg,
# plt.show() warns on stderr, which nbval compares.
NB_ENV=(env MPLBACKEND=module://matplotlib_inline.backend_inline)

# Test workers: one more than the cores. The suite waits more than it computes (simulated latency
# is real sleep, kernels start, servers answer): with 2 workers on 2 cores it kept 1.3 cores busy
# (283 s); 3 took 209 s, 4 took 224 s. One more worker than cores also puts beside every test
# what the timing claims must survive anyway: two CPU-bound processes on a 2-core machine.
WORKERS="${LLMLAB_TEST_WORKERS:-$(( $(nproc) + 1 ))}"

step() { printf '\n== %s\n' "$*"; }

# pytest exits 5 when it collected nothing; that is not a failure here.
run_pytest() {
    local rc=0
    "$@" || rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then exit "$rc"; fi
}

has_notebooks() {
    [ -d "$1" ] && [ -n "$(find "$1" -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -print -quit)" ]
}

WORLD="${LLMLAB_WORLD:-current}"
export LLMLAB_WORLD="$WORLD"
printf 'SDK world: %s (%s)\n' "$WORLD" "$("$PY" -c 'import anthropic, openai; print("anthropic", anthropic.__version__, "/ openai", openai.__version__)')"

if [ "$WORLD" != legacy ]; then
    step "ruff"
    "$PY" -m ruff check llmlab tests
fi

# tests/benchmarks/ holds no test_*.py: the benchmarks are not run here (timings on a shared
# machine are no pass/fail); run them with `$PY tests/benchmarks/bench_sim.py`.
# loadgroup: one work unit per file, but one per live-mode notebook, heaviest first (the units
# and their order are set in tests/conftest.py).
step "unit tests"
run_pytest "$PY" -m pytest -n "$WORKERS" --dist loadgroup --no-loadscope-reorder tests/ --ignore=tests/browser

# After the unit tests (their timing claims run beside nothing but each other), two lanes side by
# side. Background: mypy, the labs/ freshness check (both single-threaded, ~30 s of CPU from a
# cold cache) and the browser tests, which wait on JupyterLab, chromium and one kernel (79 s of
# CPU in 165 s, measured: half a core). Foreground: the notebooks under nbval, $WORKERS kernels
# at a time. A failure in one lane does not stop the other; the background's output follows, and
# the first failure is the exit status.
BG_PID=
if [ "$WORLD" != legacy ]; then
    BG_LOG="$(mktemp)"
    (
        step "mypy"
        "$PY" -m mypy llmlab
        step "labs/ freshness"
        "$PY" -m llmlab.notebooks check
        # Skipped (with the reason) where chromium is absent.
        step "browser (JupyterLab in headless chromium; screenshots in test-artifacts/browser/)"
        run_pytest "$PY" -m pytest tests/browser -rs
    ) >"$BG_LOG" 2>&1 &
    BG_PID=$!
fi

# One nbval run for both folders: strict for solutions/, lax for labs/ (tests/nbval_modes.py
# makes labs/ lax and gives their kernels an empty learner folder: untouched labs, as a new
# learner has them). The legacy world checks solutions/ only. Only the plugins nbval needs.
NBVAL=(--nbval --nbval-current-env --nbval-cell-timeout=600 --nbval-sanitize-with tests/nbval_sanitize.cfg
       -p no:hypothesispytest -p no:benchmark)
folders=()
if has_notebooks solutions; then folders+=(solutions/); else echo "no notebooks in solutions/ yet: skipped"; fi
if [ "$WORLD" != legacy ]; then
    if has_notebooks labs; then folders+=(labs/); else echo "no notebooks in labs/ yet: skipped"; fi
fi
nb_rc=0
if [ "${#folders[@]}" -gt 0 ]; then
    step "nbval of ${folders[*]} (solutions/ strict: stored outputs must match; labs/ lax: every cell must run)"
    ( run_pytest "${NB_ENV[@]}" "$PY" -m pytest -n "$WORKERS" --dist loadfile -p tests.nbval_modes \
        "${NBVAL[@]}" "${folders[@]}" ) || nb_rc=$?
fi

bg_rc=0
if [ -n "$BG_PID" ]; then
    wait "$BG_PID" || bg_rc=$?
    printf '\n== (ran beside the notebooks:)\n'
    cat "$BG_LOG"
    rm -f "$BG_LOG"
fi
if [ "$nb_rc" -ne 0 ]; then exit "$nb_rc"; fi
exit "$bg_rc"
