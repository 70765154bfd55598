# Shared by scripts/run and scripts/test. Installs only what is missing, from the
# registries this project may use (Debian packages, crates.io, npm); never downloads a
# tool at build or run time.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Versions the build is pinned to (see ../shared/BUILD-NOTES.md for why).
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_NPM_VERSION=123.0.0

# Build output is cached outside the checkout so that a fresh clone (CI) reuses it. The
# scripts' own variables (CG_TOOLS_DIR) avoid the COASTGUARD_ prefix, which the server
# reads as its settings and warns about when it does not know one.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/coastguard/target}"
# Server function URLs end in a hash of a key and the module path. The default key is the
# crate's absolute path, so with this shared cache a browser bundle left by one checkout
# and a server built in another (CI's clone) disagree, and every server function answers
# 404. A fixed key gives the same URLs wherever the source lives.
export SERVER_FN_OVERRIDE_KEY="${SERVER_FN_OVERRIDE_KEY:-coastguard}"
# Read by leptos at compile time: with it set, the page loads /pkg/coastguard.wasm (the
# name cargo-leptos also gives the bundle); without it, coastguard_bg.wasm.
export LEPTOS_OUTPUT_NAME=coastguard
# One set of compiler flags for every build of both scripts (clippy, tests, the release),
# so what one step compiles the next reuses. erase_components type-erases Leptos views:
# the debug builds cargo-leptos makes use it too, and for the release it halves the
# browser bundle's compile and makes it smaller (docs/architecture.md, "Build").
export RUSTFLAGS="${RUSTFLAGS:---cfg erase_components}"
TOOLS_DIR="${CG_TOOLS_DIR:-$HOME/.cache/coastguard/tools}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$TOOLS_DIR/node_modules/.bin:$PATH"

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

# The Rust side of the build: cargo and the wasm32 target. Nothing else: build_coastguard
# does what cargo-leptos would, and installs the wasm-bindgen CLI itself when missing.
ensure_rust_tools() {
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

# The wasm-bindgen CLI, at exactly the version the workspace pins (cargo-leptos would
# not check; a different version breaks the bundle).
ensure_wasm_bindgen() {
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (once)"
    # Not --locked: the CLI's lock file pins a crate the index no longer has. A target
    # dir of its own: with the shared one it would wait on the server build's lock.
    # No default features: they give its test runner's downloader TLS (rustls, ring),
    # which generating bindings never uses.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force \
      --no-default-features --target-dir "$TOOLS_DIR/wasm-bindgen-build"
    rm -rf "$TOOLS_DIR/wasm-bindgen-build"
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

# Seconds since the epoch, and "N s" / "M min S s" for log lines.
stamp() { date +%s; }
took() {
  local s=$(( $(date +%s) - $1 ))
  if [ "$s" -ge 60 ]; then printf '%d min %d s' $((s / 60)) $((s % 60)); else printf '%d s' "$s"; fi
}

# build_coastguard: the release that scripts/run serves. The browser bundle, stylesheet and
# assets go into $CARGO_TARGET_DIR/site, the server binary into $CARGO_TARGET_DIR/release.
# This is what `cargo leptos build --release` does for this workspace, in plain steps:
#   bundle: the `frontend` crate for wasm32 with the wasm-release profile; wasm-bindgen
#           --target web, the bundle renamed coastguard.wasm (what the page loads when
#           LEPTOS_OUTPUT_NAME is set); wasm-opt -Oz; the stylesheet and assets;
#   server: the `coastguard` binary (features `ssr`).
# The bundle (with the wasm-bindgen CLI's install, when missing) builds beside the server,
# at the lowest priority: the server's build keeps two cores busy only part of the time
# (its last crates compile one after the other), and the bundle fills the gaps (README,
# "Run it", has the measured times). wasm-bindgen and wasm-opt are skipped when the
# bundle has not changed, so a rebuild with nothing changed takes seconds.
build_coastguard() {
  local started bundle_log="$CARGO_TARGET_DIR/bundle.log" bundle_pid
  mkdir -p "$CARGO_TARGET_DIR"
  started=$(stamp)
  log "building the browser bundle in the background (log: $bundle_log) and the server"
  # At the lowest priority: the server's build is the longer chain, so the bundle takes
  # only the CPU time the server's build leaves idle, and the rest once it is done.
  (renice -n 19 -p "$BASHPID" >/dev/null && build_bundle) >"$bundle_log" 2>&1 &
  bundle_pid=$!
  # shellcheck disable=SC2064
  trap "kill $bundle_pid 2>/dev/null || true" EXIT
  if ! cargo build -p coastguard --bin coastguard --release; then
    kill "$bundle_pid" 2>/dev/null || true
    die "the server did not build"
  fi
  [ -x "$CARGO_TARGET_DIR/release/coastguard" ] || die "the server binary was not built"
  log "server built after $(took "$started")"
  if ! wait "$bundle_pid"; then
    tail -n 40 "$bundle_log" >&2
    die "the browser bundle did not build (the end of $bundle_log is above)"
  fi
  trap - EXIT
  grep '==>' "$bundle_log" >&2 || true
  log "server and browser bundle built in $(took "$started")"
}

# The browser bundle into $CARGO_TARGET_DIR/site (see build_coastguard).
build_bundle() {
  local site="$CARGO_TARGET_DIR/site" started
  local input="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/coastguard_frontend.wasm"
  ensure_wasm_bindgen
  started=$(stamp)
  log "bundle: cargo build -p coastguard-frontend --target wasm32-unknown-unknown --profile wasm-release"
  cargo build -p coastguard-frontend --lib --target wasm32-unknown-unknown --profile wasm-release
  log "bundle: compiled in $(took "$started")"
  [ -f "$input" ] || die "the browser bundle $input was not built"
  local fingerprint
  fingerprint="wasm-bindgen $WASM_BINDGEN_VERSION, binaryen $BINARYEN_NPM_VERSION, $(sha256sum "$input" | cut -d' ' -f1)"
  mkdir -p "$site/pkg"
  if [ "$(cat "$site/pkg/.built-from" 2>/dev/null)" = "$fingerprint" ] && [ -f "$site/pkg/coastguard.wasm" ]; then
    log "bundle: unchanged since the last wasm-bindgen and wasm-opt run, kept"
  else
    started=$(stamp)
    # Into a fresh folder first, so an interrupted build never leaves half a bundle.
    local out="$site/pkg.new"
    rm -rf "$out"
    wasm-bindgen --target web --no-typescript --out-name coastguard --out-dir "$out" "$input"
    mv "$out/coastguard_bg.wasm" "$out/coastguard.wasm"
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
      "$out/coastguard.wasm" -o "$out/coastguard.wasm"
    printf '%s' "$fingerprint" >"$out/.built-from"
    rm -rf "$site/pkg.old"
    if [ -d "$site/pkg" ]; then mv "$site/pkg" "$site/pkg.old"; fi
    mv "$out" "$site/pkg"
    rm -rf "$site/pkg.old"
    log "bundle: wasm-bindgen and wasm-opt -Oz in $(took "$started"), $(( $(stat -c %s "$site/pkg/coastguard.wasm") / 1024 )) KiB"
  fi
  cp style/main.css "$site/pkg/coastguard.css"
  cp -R style/assets/. "$site/"
}
