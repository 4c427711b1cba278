#!/usr/bin/env bash
# Builds the real Espruino interpreter from Espruino's source at one pinned commit, in three variants of the
# project's own (firmware/espruino/boards/): for Linux, build/espruino/linux/espruino (the stock Linux settings) and
# build/espruino/esp32/espruino (the ESP32's 16,383 fixed variables, 8-bit strings, 896 kB of Storage), both with
# the project's hardware layer (firmware/espruino/hardware/: Wifi, ESP32 and the ADC as stand-ins) and the `DTLS`
# module (firmware/espruino/dtls/ over build/dtls/dtls-espruino.o, which firmware/build.sh makes); and for
# WebAssembly with Debian's emscripten, build/espruino/wasm/espruino.{js,wasm} (the ESP32's variables with its 32-bit
# layout, the same hardware layer and DTLS module over build/dtls/libdtls-emscripten.a; host/engine/ runs it, the
# host giving it time, console, flash, pins, UDP and the stand-ins' files).
#
#   scripts/espruino.sh              build what is out of date
#   scripts/espruino.sh --if-stale   return at once when the source and firmware/espruino/ are unchanged
#   scripts/espruino.sh --i386       also build/espruino/i386/espruino, the ESP32-like build for 32-bit x86 (14-byte
#                                    variables, as the ESP32's), for the benchmark's memory comparison only
#
# The source, first found wins: $ESPRUINO_SRC (an archive made by `git archive` or GitHub, or a source folder),
# the archive in ../shared/espruino/ beside this checkout, or the pinned commit downloaded from Espruino's
# repository. It is unpacked into .cache/espruino/ and built there; nothing of Espruino lands in the project.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COMMIT=c5ff787b199148c31ef2776fb6f70673cba01a25
VERSION=2v29.277
RELEASE_TAG=RELEASE_2V29
BUILDS_SINCE_RELEASE=277
URL=https://github.com/espruino/Espruino/archive/$COMMIT.tar.gz
CACHE=$ROOT/.cache/espruino
OUT=$ROOT/build/espruino
VARIANTS=("linux:NODE_LINUX" "esp32:NODE_ESP32" "wasm:NODE_WASM")

say() { printf 'espruino: %s\n' "$*" >&2; }
die() { printf 'espruino: error: %s\n' "$*" >&2; exit 1; }

if_stale=0
for arg in "$@"; do
  case "$arg" in
    --if-stale) if_stale=1 ;;
    --i386) VARIANTS+=("i386:NODE_I386") ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg (use --if-stale, --i386 or nothing)" ;;
  esac
done

for tool in make gcc python3 tar sha256sum emcc; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup.sh installs the Debian packages)"
done

mkdir -p "$ROOT/build" "$CACHE"
if command -v flock >/dev/null; then
  exec 9>"$ROOT/build/.espruino-build.lock"
  flock 9
fi

# --- the source --------------------------------------------------------------------------------------------------
# SRC_KIND is "archive" or "dir"; SRC_KEY names its unpacked copy in the cache.
src=""
if [ -n "${ESPRUINO_SRC:-}" ]; then
  [ -e "$ESPRUINO_SRC" ] || die "ESPRUINO_SRC=$ESPRUINO_SRC does not exist (give an Espruino source archive or folder)"
  src=$(realpath "$ESPRUINO_SRC")
  origin="ESPRUINO_SRC ($src)"
else
  src=$(compgen -G "$ROOT/../shared/espruino/espruino-*.tar.gz" | head -n 1 || true)
  origin="the shared archive ($(basename "${src:-none}"))"
fi
if [ -d "$src" ]; then
  SRC_KIND=dir
  [ -f "$src/Makefile" ] && [ -f "$src/src/jsinteractive.c" ] || die "$src is not an Espruino source folder (no Makefile or src/jsinteractive.c)"
  SRC_KEY=dir-$(printf '%s' "$src" | sha256sum | cut -c1-12)
elif [ -n "$src" ]; then
  SRC_KIND=archive
  SRC_KEY=$(sha256sum "$src" | cut -c1-16)
else
  SRC_KIND=archive
  src=$CACHE/espruino-$COMMIT.tar.gz
  origin="Espruino's repository, commit $COMMIT (no ../shared/espruino archive and no ESPRUINO_SRC)"
  if [ ! -s "$src" ]; then
    say "downloading $URL"
    if command -v curl >/dev/null; then curl -fsSL -o "$src.part" "$URL" || die "downloading $URL failed (no internet? set ESPRUINO_SRC to an Espruino source archive)"
    elif command -v wget >/dev/null; then wget -q -O "$src.part" "$URL" || die "downloading $URL failed (no internet? set ESPRUINO_SRC to an Espruino source archive)"
    else die "neither curl nor wget is installed to download $URL; set ESPRUINO_SRC to an Espruino source archive"; fi
    mv "$src.part" "$src"
  fi
  SRC_KEY=$(sha256sum "$src" | cut -c1-16)
fi
TREE=$CACHE/$SRC_KEY
# The DTLS module (firmware/espruino/dtls/) links the shim and mbedTLS that firmware/build.sh compiles.
DTLS_OBJECT=$ROOT/build/dtls/dtls-espruino.o
WASM_DTLS_LIBRARY=$ROOT/build/dtls/libdtls-emscripten.a

fingerprint() {
  {
    echo "$SRC_KEY"
    [ "$SRC_KIND" = dir ] && find "$src/src" "$src/libs" "$src/targets/linux" -type f -newer "$TREE/.unpacked" 2>/dev/null | head -n 1
    sha256sum "$0"
    sha256sum "$DTLS_OBJECT" "$WASM_DTLS_LIBRARY" 2>/dev/null || echo "no DTLS object"
    (cd firmware/espruino && find . -type f ! -name '*~' | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -d' ' -f1
}
outputs_present() {
  local v
  for v in "${VARIANTS[@]}"; do
    if [ "${v%%:*}" = wasm ]; then [ -f "$OUT/wasm/espruino.wasm" ] && [ -f "$OUT/wasm/espruino.js" ] || return 1
    else [ -x "$OUT/${v%%:*}/espruino" ] || return 1; fi
  done
}
# The stamp: the fingerprint the builds were made from, then the variants made from it.
current() {
  local stamp v
  stamp=$(cat "$OUT/.stamp" 2>/dev/null) || return 1
  [ "${stamp%% *}" = "$(fingerprint)" ] || return 1
  for v in "${VARIANTS[@]}"; do [[ " ${stamp#* } " == *" ${v%%:*} "* ]] || return 1; done
}
if [ $if_stale -eq 1 ] && [ -f "$TREE/.unpacked" ] && outputs_present && current; then
  exit 0
fi

if [ ! -f "$TREE/.unpacked" ]; then
  say "unpacking Espruino $VERSION from $origin into .cache/espruino/$SRC_KEY"
  rm -rf "$TREE" "$TREE.part"
  mkdir -p "$TREE.part"
  if [ "$SRC_KIND" = dir ]; then
    cp -a "$src/." "$TREE.part/"
  else
    tar -xzf "$src" -C "$TREE.part" || die "cannot unpack $src"
    # GitHub's archives hold one folder more.
    inner=$(find "$TREE.part" -mindepth 1 -maxdepth 1 -type d)
    if [ "$(echo "$inner" | wc -l)" -eq 1 ] && [ -f "$inner/Makefile" ]; then
      (shopt -s dotglob && mv "$inner"/* "$TREE.part/") && rmdir "$inner"
    fi
  fi
  [ -f "$TREE.part/Makefile" ] && [ -f "$TREE.part/src/jsinteractive.c" ] || die "$origin holds no Espruino source (no Makefile or src/jsinteractive.c)"
  mv "$TREE.part" "$TREE"
  touch "$TREE/.unpacked"
fi

# Espruino's Makefile asks git for the version; the unpacked source has no repository (and must not see this
# project's). A stand-in answers the three questions it asks with the pinned commit's answers.
STUB=$CACHE/git-stand-in
mkdir -p "$STUB"
cat > "$STUB/git" <<STUBEOF
#!/bin/sh
case "\$*" in
  "log -1 --format=%h") echo ${COMMIT:0:9} ;;
  tag) echo $RELEASE_TAG ;;
  "log --oneline $RELEASE_TAG..HEAD") i=0; while [ \$i -lt $BUILDS_SINCE_RELEASE ]; do echo "\$i"; i=\$((i+1)); done ;;
  *) exit 1 ;;
esac
STUBEOF
chmod +x "$STUB/git"

for f in "$DTLS_OBJECT" "$WASM_DTLS_LIBRARY"; do
  [ -f "$f" ] || die "$f is missing: run firmware/build.sh first (scripts/setup.sh does)"
done
HW=$ROOT/firmware/espruino/hardware
start=$(date +%s)
for v in "${VARIANTS[@]}"; do
  name=${v%%:*} board=${v##*:}
  say "building the $name interpreter ($board) from $VERSION"
  cp "$ROOT/firmware/espruino/boards/$board.py" "$TREE/boards/$board.py"
  mkdir -p "$TREE/gen-$board"
  rm -f "$TREE/bin/espruino-node-$name"* # make does not see a changed DTLS object: always link again
  log=$TREE/build-$board.log
  if [ "$name" = wasm ]; then
    # emcc's linker step runs Node with acorn, which Debian's emscripten finds in /usr/share/nodejs.
    (cd "$TREE" && PATH="$STUB:$PATH" NODE_PATH=/usr/share/nodejs make -j2 BOARD="$board" PYTHON=python3 RELEASE=1 \
        GENDIR="gen-$board" OBJDIR="obj-$board" \
        ESPRUINO_WRAPPERSOURCES="$HW/jswrap_node_hardware.c $HW/jswrap_node_wasm.c $ROOT/firmware/espruino/dtls/jswrap_dtls.c" \
        NODE_DTLS_OBJECT="$WASM_DTLS_LIBRARY" \
        JSMODULESOURCES="node-hardware:$HW/hardware.js Wifi:$HW/wifi.js ESP32:$HW/esp32.js" >"$log" 2>&1) ||
      { tail -n 30 "$log" >&2; die "building the $name interpreter failed (whole log: $log)"; }
    [ -f "$TREE/bin/espruino-node-wasm.wasm" ] || die "the wasm build left no bin/espruino-node-wasm.wasm (log: $log)"
    mkdir -p "$OUT/wasm"
    for ext in js wasm; do
      cp "$TREE/bin/espruino-node-wasm.$ext" "$OUT/wasm/espruino.$ext.tmp" && mv -f "$OUT/wasm/espruino.$ext.tmp" "$OUT/wasm/espruino.$ext"
    done
    continue
  fi
  dtls=("$ROOT/firmware/espruino/dtls/jswrap_dtls.c" "$DTLS_OBJECT")
  [ "$name" = i386 ] && dtls=("" "") # no 32-bit mbedTLS: the i386 build is for memory figures only
  (cd "$TREE" && PATH="$STUB:$PATH" make -j2 BOARD="$board" PYTHON=python3 RELEASE=1 \
      GENDIR="gen-$board" OBJDIR="obj-$board" \
      ESPRUINO_WRAPPERSOURCES="$HW/jswrap_node_hardware.c $HW/jswrap_node_linux.c ${dtls[0]}" \
      NODE_DTLS_OBJECT="${dtls[1]}" \
      JSMODULESOURCES="node-hardware:$HW/hardware.js Wifi:$HW/wifi.js ESP32:$HW/esp32.js" >"$log" 2>&1) ||
    { tail -n 30 "$log" >&2; die "building the $name interpreter failed (whole log: $log)"; }
  bin=$(find "$TREE/bin" -maxdepth 1 -type f -name "espruino-node-$name" | head -n 1)
  [ -x "$bin" ] || die "the $name build left no bin/espruino-node-$name (log: $log)"
  mkdir -p "$OUT/$name"
  # Replaced, not overwritten: an interpreter still running keeps its own file.
  cp "$bin" "$OUT/$name/espruino.tmp" && mv -f "$OUT/$name/espruino.tmp" "$OUT/$name/espruino"
done
echo "$(fingerprint) ${VARIANTS[*]%%:*}" > "$OUT/.stamp"
say "built ${VARIANTS[*]%%:*} in build/espruino/ ($VERSION) in $(( $(date +%s) - start ))s"
