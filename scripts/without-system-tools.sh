#!/usr/bin/env bash
# Runs a command as on a fresh machine: the system's ffmpeg, ffprobe, ffplay and Chromium are hidden
# from PATH (every other program stays), and FFMPEG_PATH, FFPROBE_PATH and CHROMIUM_PATH are unset,
# so the tests use the binaries shipped in npm devDependencies (test/fixtures/tools.ts).
#   scripts/without-system-tools.sh npm test
set -u
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
IFS=: read -r -a dirs <<< "$PATH"
for d in "${dirs[@]}"; do
  [ -d "$d" ] || continue
  for f in "$d"/*; do
    n=$(basename "$f")
    case "$n" in ffmpeg|ffprobe|ffplay|chromium|chromium-browser|google-chrome*|chrome) continue ;; esac
    [ -e "$bin/$n" ] || ln -s "$f" "$bin/$n"
  done
done
env -u FFMPEG_PATH -u FFPROBE_PATH -u CHROMIUM_PATH -u CHROME_PATH PATH="$bin" "$@"
