# Shared by scripts/run and scripts/test. Installs only what is missing, from the
# registries this project may use (Debian packages, crates.io, npm); never downloads a
# tool at build or run time.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Versions the build is pinned to (see ../shared/BUILD-NOTES.md for why).
CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_NPM_VERSION=123.0.0

# Build output is cached outside the checkout so that a fresh clone (CI) reuses it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/coastguard/target}"
# Server function URLs end in a hash of a key and the module path. The default key is the
# crate's absolute path, so with this shared cache a browser bundle left by one checkout
# and a server built in another (CI's clone) disagree, and every server function answers
# 404. A fixed key gives the same URLs wherever the source lives.
export SERVER_FN_OVERRIDE_KEY="${SERVER_FN_OVERRIDE_KEY:-coastguard}"
TOOLS_DIR="${COASTGUARD_TOOLS_DIR:-$HOME/.cache/coastguard/tools}"
export PATH="$HOME/.cargo/bin:$TOOLS_DIR/node_modules/.bin:$PATH"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG...: installs the Debian packages that are not installed yet.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# The Rust side of the build: the wasm target, cargo-leptos and the wasm-bindgen CLI.
ensure_rust_tools() {
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target (a minute or two)"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes, once)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes, once)"
    # Not --locked: the CLI's lock file pins a crate the index no longer has.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
}

# Release builds optimise the wasm with wasm-opt. Debian's binaryen (108) produces a
# bundle that never hydrates, so use binaryen from npm.
ensure_wasm_opt() {
  if [ "$(wasm-opt --version 2>/dev/null | awk '{print $3}')" != "${BINARYEN_NPM_VERSION%%.*}" ]; then
    command -v npm >/dev/null || apt_install npm
    log "installing binaryen $BINARYEN_NPM_VERSION (wasm-opt) from npm"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --silent "binaryen@$BINARYEN_NPM_VERSION"
  fi
}
