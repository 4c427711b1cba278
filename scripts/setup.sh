#!/usr/bin/env bash
# Idempotent set-up for a Debian machine: Debian packages, npm packages, the mbedTLS WebAssembly build, the real
# Espruino interpreter built from source (scripts/espruino.sh) and the bundles. `npm test`, `npm run sim` and `npm run bench` run it first; each step is
# skipped when its result is already current, so a second run takes about a second.
# `--riscv` and `--i386` (what `npm run bench` passes) add what only benchmarks need, which `npm test` and `npm run
# sim` do not: the RISC-V cross compiler and the DTLS library built with it, for the ESP32-C3 flash-cost figure
# (about 1.2 GB); and Debian's 32-bit x86 compiler libraries with an i386 build of the ESP32-like interpreter, whose
# 14-byte variables (the ESP32's) the simulator's memory figures are compared with (about 60 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
riscv=0
i386=0
for arg in "$@"; do
  case "$arg" in
    --riscv) riscv=1 ;;
    --i386) i386=1 ;;
    *) printf 'setup: unknown option %s (scripts/setup.sh [--riscv] [--i386])\n' "$arg" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# --- Node.js ---------------------------------------------------------------------------------------------------
command -v node >/dev/null || die "Node.js 20 or newer is needed (Debian: apt-get install nodejs npm)"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' ||
  die "Node.js $(node --version) is too old; version 20 or newer is needed"

# --- Debian packages -------------------------------------------------------------------------------------------
# command -> package: libcoap's peers for interoperability tests, openssl for certificates and s_server, the
# clang/wasi toolchain and binaryen for the mbedTLS WebAssembly build, dpkg-dev for `apt-get source`, python3 for Espruino's build scripts, curl and jq for the README's
# examples (run by test/e2e/readme-examples.test.mjs), Chromium and a font for the dashboard's browser tests,
# emscripten for the WebAssembly build of Espruino (host/engine/).
PACKAGES=(
  "coap-client-notls:libcoap3-bin"
  "openssl:openssl"
  "clang-14:clang-14"
  "wasm-ld-14:lld-14"
  "wasm-opt:binaryen"
  "dpkg-source:dpkg-dev"
  "gcc:gcc"
  "make:make"
  "python3:python3"
  "jq:jq"
  "curl:curl"
  "chromium:chromium"
  "emcc:emscripten"
)
FILES=(
  "/usr/include/wasm32-wasi/stdio.h:wasi-libc"
  "/usr/lib/llvm-14/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a:libclang-rt-14-dev-wasm32"
  "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf:fonts-liberation"
)
if [ $riscv -eq 1 ]; then
  PACKAGES+=("riscv64-unknown-elf-gcc:gcc-riscv64-unknown-elf")
  FILES+=("/usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs:picolibc-riscv64-unknown-elf")
fi
if [ $i386 -eq 1 ]; then
  FILES+=("/usr/lib32/crt1.o:gcc-multilib" "/usr/lib/gcc/x86_64-linux-gnu/*/32/libstdc++.so:g++-multilib")
fi
missing=()
for entry in "${PACKAGES[@]}"; do command -v "${entry%%:*}" >/dev/null || missing+=("${entry##*:}"); done
for entry in "${FILES[@]}"; do compgen -G "${entry%%:*}" >/dev/null || missing+=("${entry##*:}"); done
if [[ " ${missing[*]} " == *multilib* ]]; then
  say "the benchmark's memory comparison needs Debian's 32-bit x86 compiler libraries (about 60 MB installed)"
fi
if [[ " ${missing[*]} " == *riscv64* ]]; then
  say "the benchmark's ESP32-C3 flash-cost figure needs the RISC-V cross compiler and picolibc (about 1.2 GB installed)"
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    die "these Debian packages are missing and this user cannot install them: ${missing[*]} (run as root: apt-get install ${missing[*]})"
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq || die "apt-get update failed; check the network or the apt sources"
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
fi

# --- npm packages ----------------------------------------------------------------------------------------------
# Keyed on the lock file's content, not on timestamps: git checkouts touch files without changing them.
stamp=node_modules/.setup-stamp
want="$(sha256sum package-lock.json | cut -d' ' -f1) node $(node --version)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
  echo "$want" > "$stamp"
fi

# --- the mbedTLS WebAssembly build (cached; rebuilt when firmware/ changes) -------------------------------------
if [ -x firmware/build.sh ]; then
  if [ $riscv -eq 1 ]; then firmware/build.sh --if-stale --riscv; else firmware/build.sh --if-stale; fi ||
    die "the DTLS build failed (see above)"
fi

# --- the real Espruino interpreter (cached; rebuilt when its source or firmware/espruino/ changes) ------------------
if [ $i386 -eq 1 ]; then espruino=(--i386); else espruino=(); fi
bash scripts/espruino.sh --if-stale "${espruino[@]}" || die "building the Espruino interpreter failed (see above)"

# --- the bundles -----------------------------------------------------------------------------------------------
node scripts/build.mjs --quiet --if-stale || die "the firmware build failed (see above)"

# --- the local server's dashboard (host/dashboard -> build/dashboard) ---------------------------------------------
node scripts/build-dashboard.mjs --if-stale || die "the dashboard build failed (see above)"
