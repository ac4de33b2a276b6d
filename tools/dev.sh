#!/usr/bin/env bash
# Sets up the development environment from nothing, builds the package, and runs one job in it.
#
#   bash tools/dev.sh test [PYTEST_ARGS...]   ruff, then the whole test suite (what .ci/run runs)
#   bash tools/dev.sh demo [ARGS...]          `spgrasp demo` on the embedded default
#   bash tools/dev.sh run CMD [ARGS...]       any command inside the environment (e.g. run spgrasp info)
#   bash tools/dev.sh shell                   an interactive shell inside the environment
#   bash tools/dev.sh setup                   only create/refresh the environment and build
#
# What it does, each step only when its inputs changed:
#   1. a virtual environment (outside the checkout: CMake refuses include folders inside the source tree) with the pinned packages of requirements/ (ROS 2 Jazzy wheels, torch,
#      sam2 without torchvision, the ML stack, pytest); redone when a requirements file changes;
#   2. a colcon build of this package (interfaces + Python) into .build/install; colcon itself skips
#      unchanged work (about a second when nothing changed);
#   3. the job, with the environment of the build sourced and this checkout's Python modules first on the path;
#      for `test`, Debian's chromium + chromium-driver first, when missing (the operator page's browser tests).
#
# Environment variables:
#   PYTHON=python3.12      interpreter the venv is made from (3.10 to 3.13; default python3)
#   SPGRASP_VENV=DIR       the virtual environment, outside this checkout
#                          (default: ~/.cache/spgrasp_ros/venv-<hash of this checkout's path>)
#   SPGRASP_BUILD=DIR      colcon's build/install/log folders (default: .build in this checkout)
#   SPGRASP_TORCH=keep     leave the venv's torch alone (bring your own CUDA build; the default installs
#                          requirements/torch.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SPGRASP_VENV:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/spgrasp_ros/venv-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)}"
BUILD="${SPGRASP_BUILD:-$ROOT/.build}"
PYTHON="${PYTHON:-python3}"
TORCH_MODE="${SPGRASP_TORCH:-install}"
REQ="$ROOT/requirements"
PIP_VERSION=26.3

say() { printf '[dev.sh] %s\n' "$*" >&2; }
die() { printf '[dev.sh] error: %s\n' "$*" >&2; exit 2; }

check_host() {
  command -v "$PYTHON" >/dev/null 2>&1 || die "no '$PYTHON' found; install Python 3.11 (Debian: apt-get install python3)"
  "$PYTHON" - <<'EOF' || die "Python 3.10 to 3.13 is needed (the ROS 2 Jazzy wheels exist for those)"
import sys
sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 13) else 1)
EOF
  "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
    || die "'$PYTHON -m venv' is unavailable (Debian/Ubuntu: apt-get install python3-venv)"
  "$PYTHON" - <<'EOF' || die "Python headers are missing, needed to build the interfaces (Debian/Ubuntu: apt-get install python3-dev)"
import os, sys, sysconfig
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)
EOF
  command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 \
    || die "a C/C++ compiler is needed to build the interfaces (Debian/Ubuntu: apt-get install g++)"
}

# Fingerprint of everything that decides the venv's contents.
deps_fingerprint() {
  {
    "$PYTHON" -c 'import sys; print(sys.version)'
    echo "torch=$TORCH_MODE pip=$PIP_VERSION"
    cat "$REQ"/*.txt
  } | sha256sum | cut -d' ' -f1
}

ensure_venv() {
  local stamp="$VENV/.spgrasp-deps" want
  want="$(deps_fingerprint)"
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  check_host
  if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating the virtual environment in $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  rm -f "$stamp"
  local pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
  "${pip[@]}" install -qq "pip==$PIP_VERSION"
  local reqs=(-r "$REQ/ros.txt" -r "$REQ/core.txt" -r "$REQ/test.txt")
  if [[ "$TORCH_MODE" != keep ]]; then
    reqs=(-r "$REQ/torch.txt" "${reqs[@]}")
  fi
  say "installing pinned packages (first run: about a minute)"
  "${pip[@]}" install -qq "${reqs[@]}" -c "$REQ/constraints.txt"
  # sam2: no torchvision, no CUDA extension build, built against the torch installed above.
  SAM2_BUILD_CUDA=0 "${pip[@]}" install -qq --no-deps --no-build-isolation -r "$REQ/sam2.txt"
  "${pip[@]}" check >/dev/null || { "${pip[@]}" check | grep -v -i torchvision >&2 || true; }
  echo "$want" > "$stamp"
}

# Variables the ROS wheels and the build need; the venv is the ROS prefix.
enter_venv() {
  export VIRTUAL_ENV="$VENV"
  export PATH="$VENV/bin:$PATH"
  export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
  export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  unset PYTHONHOME
}

ensure_build() {
  local log="$BUILD/colcon.log"
  mkdir -p "$BUILD"
  if ! colcon --log-base "$BUILD/log" build \
      --base-paths "$ROOT" \
      --build-base "$BUILD/build" \
      --install-base "$BUILD/install" \
      --cmake-args -G Ninja -DBUILD_TESTING=OFF "-DPython3_EXECUTABLE=$VENV/bin/python" \
      >"$log" 2>&1; then
    cat "$log" >&2
    local pkg_log="$BUILD/log/latest_build/spgrasp_ros/stdout_stderr.log"
    [[ -f "$pkg_log" ]] && tail -n 60 "$pkg_log" >&2
    die "colcon build failed (full log: $BUILD/log/latest_build)"
  fi
}

enter_build() {
  # colcon's setup script: generated interfaces on PYTHONPATH, their libraries on LD_LIBRARY_PATH.
  set +u
  # shellcheck disable=SC1091
  source "$BUILD/install/setup.bash"
  set -u
  # This checkout's modules come first, so edits need no rebuild; spgrasp_ros/__init__.py joins them with
  # the installed package that holds spgrasp_ros.msg / spgrasp_ros.srv.
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  # The package's executables (what `ros2 run spgrasp_ros NAME` starts), e.g. `spgrasp`.
  export PATH="$BUILD/install/spgrasp_ros/lib/spgrasp_ros:$PATH"
  # The ROS tests must run, never skip, in this environment; the tests of this script's own behaviour too.
  export SPGRASP_REQUIRE_ROS=1
  export SPGRASP_DEV_ENV="$VENV"
}

prepare() {
  ensure_venv
  enter_venv
  ensure_build
  enter_build
}

# Debian's Chromium and chromedriver for the operator page's browser tests, installed when missing (as root,
# or through sudo without a password); with them here, a missing browser fails those tests instead of skipping.
ensure_browser() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    local apt=(apt-get)
    [[ "$(id -u)" -eq 0 ]] || apt=(sudo -n apt-get)
    if command -v apt-get >/dev/null 2>&1 && "${apt[@]}" --version >/dev/null 2>&1; then
      say "installing chromium and chromium-driver (the operator page tests drive them)"
      export DEBIAN_FRONTEND=noninteractive
      "${apt[@]}" install -y -qq chromium chromium-driver >/dev/null 2>&1 \
        || { "${apt[@]}" update -qq >/dev/null 2>&1 && "${apt[@]}" install -y -qq chromium chromium-driver >/dev/null; } \
        || say "could not install chromium: the browser tests will be skipped"
    else
      say "chromium/chromedriver missing and apt-get unusable here: the browser tests will be skipped"
    fi
  fi
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    export SPGRASP_REQUIRE_BROWSER=1
  fi
}

run_tests() {
  cd "$ROOT"
  ensure_browser
  # the code's habits first (pyproject.toml [tool.ruff]): line length, import order, pyflakes
  python -m ruff check --quiet "$ROOT" \
    || { say "ruff found the problems above (imports: bash tools/dev.sh run ruff check --fix .)"; exit 1; }
  local rc=0
  python -m pytest "$@" || rc=$?
  case "$rc" in
    0) ;;
    5) say "no tests were collected: this counts as a failure"; exit 1 ;;
    *) say "tests failed (pytest exit code $rc)"; exit "$rc" ;;
  esac
}

main() {
  local job="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$job" in
    test)  prepare; run_tests "$@" ;;
    demo)  prepare; exec spgrasp demo "$@" ;;
    run)   [[ $# -gt 0 ]] || die "usage: tools/dev.sh run CMD [ARGS...]"; prepare; exec "$@" ;;
    shell) prepare; exec "${SHELL:-bash}" -i ;;
    setup) prepare; say "ready: venv $VENV, install $BUILD/install" ;;
    *) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

main "$@"
