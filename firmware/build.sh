#!/usr/bin/env bash
# Builds the DTLS layer: mbedTLS 3.6 (Debian trixie's source package, fetched here and cached in .cache/, never
# committed) with our shim in firmware/, for WebAssembly (build/dtls/dtls.wasm, what Node loads), natively
# (build/dtls/dtls-selftest, the C test and speed reference; build/dtls/dtls-espruino.o, linked into the Espruino
# interpreter by scripts/espruino.sh), with emscripten for the interpreter's WebAssembly build
# (build/dtls/libdtls-emscripten.a, linked into it by scripts/espruino.sh) and, with --riscv, for the ESP32-C3's RISC-V core (build/dtls/libdtls-rv32imc.a,
# the benchmark's flash cost; it needs the RISC-V toolchain, which only the benchmark's set-up installs).
#
#   firmware/build.sh              build what is out of date
#   firmware/build.sh --if-stale   return at once when nothing in firmware/ or the mbedTLS version changed
#   firmware/build.sh --riscv      also the RISC-V static library
#
# The machine's apt configuration is left alone: the source package comes through a private sources list that
# reuses the Debian mirror apt already uses (or DTLS_DEBIAN_MIRROR), with the suite switched to trixie.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build/dtls
CACHE=$ROOT/.cache
SERIES=3.6
SUITE=trixie

say() { printf 'firmware/build.sh: %s\n' "$*" >&2; }
die() { printf 'firmware/build.sh: error: %s\n' "$*" >&2; exit 1; }

if_stale=0
riscv=0
for arg in "$@"; do
  case "$arg" in
    --if-stale) if_stale=1 ;;
    --riscv) riscv=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg (use --if-stale, --riscv or nothing)" ;;
  esac
done

# Several checkouts' set-up may run at once (CI, engineers): one build at a time per tree.
mkdir -p "$ROOT/build"
if command -v flock >/dev/null; then
  exec 9>"$ROOT/build/.dtls-build.lock"
  flock 9
fi

# --- tools ------------------------------------------------------------------------------------------------------
need_tool() { command -v "$1" >/dev/null || die "$1 is missing (Debian package $2; scripts/setup.sh installs it)"; }
need_file() { compgen -G "$1" >/dev/null || die "$1 is missing (Debian package $2; scripts/setup.sh installs it)"; }
need_tool make make
need_tool gcc gcc
need_tool clang-14 clang-14
need_tool wasm-ld-14 lld-14
need_tool wasm-opt binaryen
need_tool emcc emscripten
need_file /usr/include/wasm32-wasi/stdio.h wasi-libc
need_file "/usr/lib/llvm-14/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a" libclang-rt-14-dev-wasm32
if [ $riscv -eq 1 ]; then
  need_tool riscv64-unknown-elf-gcc gcc-riscv64-unknown-elf
  need_file /usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs picolibc-riscv64-unknown-elf
fi

# --- staleness: firmware/ sources plus the mbedTLS version in the cache --------------------------------------------
cached_version() { [ -f "$CACHE/mbedtls.version" ] && cat "$CACHE/mbedtls.version" || true; }
fingerprint() {
  { cached_version; (cd firmware && find . -path ./espruino -prune -o -type f ! -name '*~' -print | LC_ALL=C sort | xargs sha256sum); } | sha256sum | cut -d' ' -f1
}
outputs_present() {
  [ -f "$OUT/dtls.wasm" ] && [ -x "$OUT/dtls-selftest" ] && [ -f "$OUT/dtls-espruino.o" ] && [ -f "$OUT/libdtls-emscripten.a" ] && { [ $riscv -eq 0 ] || [ -f "$OUT/libdtls-rv32imc.a" ]; }
}
if [ $if_stale -eq 1 ] && [ -n "$(cached_version)" ] && [ -d "$CACHE/$(cached_version)/library" ] && outputs_present &&
   [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$(fingerprint)" ]; then
  exit 0
fi

# --- mbedTLS source ------------------------------------------------------------------------------------------------
# The first Debian archive in apt's own configuration (deb822 .sources or one-line lists), security suites excluded.
debian_mirror() {
  if [ -n "${DTLS_DEBIAN_MIRROR:-}" ]; then echo "$DTLS_DEBIAN_MIRROR"; return; fi
  local codenames='^(buster|bullseye|bookworm|trixie|forky|sid|oldstable|stable|testing|unstable)(-updates)?$'
  {
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v re="$codenames" 'BEGIN { RS = ""; FS = "\n" }
        { types = ""; uris = ""; suites = ""; enabled = "yes"
          for (i = 1; i <= NF; i++) {
            if ($i ~ /^Types:/) types = $i
            else if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
            else if ($i ~ /^Suites:/) { suites = $i; sub(/^Suites:[ \t]*/, "", suites) }
            else if ($i ~ /^Enabled:/) enabled = tolower($2)
          }
          split(suites, s, /[ \t]+/); split(uris, u, /[ \t]+/)
          if (types ~ /deb/ && enabled != "no" && u[1] != "" && s[1] ~ re) { print u[1]; exit } }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      awk -v re="$codenames" '$1 == "deb" || $1 == "deb-src" {
          i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
          if ($(i + 1) ~ re) { print $i; exit } }' "$f"
    done
  } | head -n 1
}

fetch_mbedtls() {
  command -v apt-get >/dev/null || die "apt-get is needed to fetch Debian's mbedtls source package"
  command -v dpkg-source >/dev/null || die "dpkg-source is missing (Debian package dpkg-dev; scripts/setup.sh installs it)"
  local mirror apt work keyring=/usr/share/keyrings/debian-archive-keyring.gpg opts=()
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || die "no Debian archive found in /etc/apt (sources.list or sources.list.d); set DTLS_DEBIAN_MIRROR to a Debian mirror URI"
  apt=$CACHE/apt
  rm -rf "$apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/src"
  if [ -f "$keyring" ]; then opts=("[signed-by=$keyring]"); fi
  echo "deb-src ${opts[*]:-} $mirror $SUITE main" > "$apt/sources.list"
  local aptopts=(-q -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=- -o "Dir::State::Lists=$apt/lists"
                 -o "Dir::Cache=$apt/cache" -o Dir::Etc::Preferences=- -o Dir::Etc::PreferencesParts=-)
  # As root apt would hand the download to the _apt user, who cannot write into this checkout.
  if [ "$(id -u)" -eq 0 ]; then aptopts+=(-o APT::Sandbox::User=root); fi
  say "fetching Debian's mbedtls source package ($SUITE) from $mirror"
  apt-get "${aptopts[@]}" update >"$apt/update.log" 2>&1 ||
    { cat "$apt/update.log" >&2; die "apt-get update of the private $SUITE source list failed (network? signature?)"; }
  if grep -qiE 'NO_PUBKEY|not signed|EXPKEYSIG|BADSIG|is not valid' "$apt/update.log"; then
    cat "$apt/update.log" >&2; die "the $SUITE Release file could not be verified (is debian-archive-keyring current?)"
  fi
  (cd "$apt/src" && apt-get "${aptopts[@]}" source --only-source mbedtls >"$apt/source.log" 2>&1) ||
    { cat "$apt/source.log" >&2; die "apt-get source mbedtls failed"; }
  work=$(find "$apt/src" -mindepth 1 -maxdepth 1 -type d -name 'mbedtls-*' | head -n 1)
  [ -n "$work" ] && [ -f "$work/library/ssl_tls.c" ] || die "the unpacked mbedtls source has no library/ssl_tls.c"
  [ -f "$work/3rdparty/everest/library/x25519.c" ] || die "the unpacked mbedtls source lacks 3rdparty/everest (X25519)"
  local name; name=$(basename "$work")
  case "$name" in "mbedtls-$SERIES."*) ;; *) die "$SUITE offers $name, not mbedTLS $SERIES.x" ;; esac
  rm -rf "${CACHE:?}/$name"
  mv "$work" "$CACHE/$name"
  echo "$name" > "$CACHE/mbedtls.version"
  rm -rf "$apt"
  say "mbedTLS source cached in .cache/$name"
}

mkdir -p "$CACHE"
version=$(cached_version)
if [ -z "$version" ] || [ ! -f "$CACHE/$version/library/ssl_tls.c" ]; then
  fetch_mbedtls
  version=$(cached_version)
fi

# --- compile -------------------------------------------------------------------------------------------------------
# Objects built from another mbedTLS version must not be reused.
if [ "$(cat "$OUT/.mbedtls" 2>/dev/null)" != "$version" ]; then rm -rf "$OUT"; fi
mkdir -p "$OUT"
echo "$version" > "$OUT/.mbedtls"
start=$(date +%s)
targets=(all)
[ $riscv -eq 1 ] && targets+=(riscv)
make --no-print-directory -s -j2 -C firmware MBEDTLS="$CACHE/$version" OUT="$OUT" "${targets[@]}" ||
  die "compiling the DTLS shim with $version failed (see above)"
fingerprint > "$OUT/.stamp"
say "built build/dtls/dtls.wasm ($(stat -c %s "$OUT/dtls.wasm") bytes), dtls-selftest, dtls-espruino.o, libdtls-emscripten.a$([ $riscv -eq 1 ] && echo " and libdtls-rv32imc.a") with $version in $(( $(date +%s) - start ))s"
