#!/usr/bin/env bash
# The progress bar in a real terminal: runs bar_demo in a detached 100x10 tmux pane and reads the
# screen with capture-pane, mid-run (the demo pauses at 50/100 until told to go on) and at the
# end. Checks: one bar line, redrawn in place, as wide as the pane (TIOCGWINSZ beats COLUMNS),
# block characters under a UTF-8 locale and `#` under LANG=C, and a final newline.
# Synchronises on what the pane shows (polling with a deadline), never on sleeps.
#   bar_smoke.sh BAR_DEMO
set -euo pipefail
demo=$1
export LC_ALL=C.UTF-8  # this script counts characters, not bytes

if ! command -v tmux >/dev/null; then
  echo "FAIL: tmux is not installed; this test needs it (scripts/install-deps test)" >&2
  exit 1
fi

sock=mproc-progress-$$
work=$(mktemp -d)
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
t() { tmux -L "$sock" -f /dev/null "$@"; }
fail() { echo "FAIL: $1" >&2; printf '%s\n' "${2-}" >&2; exit 1; }

# wait_for SESSION REGEX SECONDS: polls the pane until a line matches; prints the capture.
wait_for() {
  local deadline=$((SECONDS + $3)) pane
  while :; do
    pane=$(t capture-pane -p -t "$1" 2>/dev/null || true)
    if grep -qE -- "$2" <<<"$pane"; then
      printf '%s\n' "$pane"
      return 0
    fi
    [ $SECONDS -lt $deadline ] || fail "no /$2/ in the pane of $1 within $3 s; it shows:" "$pane"
    sleep 0.05
  done
}

# check_bar CAPTURE REGEX: exactly one line shows the counters; it matches REGEX and is 100 wide.
check_bar() {
  local lines
  lines=$(grep -E -- '/100 \[' <<<"$1" || true)
  [ "$(grep -c . <<<"$lines")" -eq 1 ] || fail "expected one bar line (redrawn in place):" "$1"
  grep -qE -- "$2" <<<"$lines" || fail "the bar line does not match /$2/:" "$1"
  [ "${#lines}" -eq 100 ] || fail "the bar line is ${#lines} columns, not the pane's 100:" "$1"
}

# 1. UTF-8, paused half-way, COLUMNS lying about the width.
t -u new-session -d -s utf8 -x 100 -y 10 \
  "env -u LC_ALL -u LC_CTYPE -u MPROC_PROGRESS LANG=C.UTF-8 COLUMNS=40 '$demo' --pause-at 50 \
   --go-file '$work/go'; echo demo-exit=\$?; sleep 600"
mid=$(wait_for utf8 ' 50%\|.*\| 50/100 \[' 30)
check_bar "$mid" '^ 50%\|█+ +\| 50/100 \[00:0[0-9]<[0-9:?]+, +[0-9.]+(it/s|s/it)\]$'
touch "$work/go"
end=$(wait_for utf8 '^demo-exit=' 30)
check_bar "$end" '^100%\|█+\| 100/100 \[00:0[0-9]<00:00, +[0-9.]+it/s\]$'
grep -qx 'demo-exit=0' <<<"$end" || fail "the demo failed or left no final newline:" "$end"
grep -A1 -E '100/100' <<<"$end" | tail -1 | grep -qx 'demo-exit=0' ||
  fail "the line after the bar is not the shell's (no final newline?):" "$end"

# 2. Not UTF-8: tqdm's ascii bar.
t -u new-session -d -s ascii -x 100 -y 10 \
  "env -u LC_ALL -u LC_CTYPE -u MPROC_PROGRESS LANG=C '$demo'; echo demo-exit=\$?; sleep 600"
end=$(wait_for ascii '^demo-exit=' 30)
check_bar "$end" '^100%\|#+\| 100/100 \['
grep -qx 'demo-exit=0' <<<"$end" || fail "the ascii demo failed:" "$end"

echo "tmux smoke: ok"
printf '%s\n' "$mid" "$end" | grep -E '/100 \['
