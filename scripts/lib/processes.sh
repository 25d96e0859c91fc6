# Background processes for the drivers in scripts/ and tests/ (sourced, not run): servers started with
# `--port 0 --ready-file FILE`, waited for with a deadline, stopped by PID on every exit path (normal end,
# failure, Ctrl-C, SIGTERM).
#
#   proc_init PREFIX [DIR]          work dir PROC_DIR: a new temp dir, removed at exit unless PROC_KEEP_DIR=1,
#                                   or DIR (created, kept); installs the EXIT/INT/TERM traps; PREFIX starts messages
#   proc_start NAME CMD...          CMD in the background, cwd PROC_DIR (no stray .env), stdout and stderr appended
#                                   to PROC_DIR/NAME.log; sets PROC_PID; stopped at exit
#   proc_track PID                  stop PID at exit too (a process the driver started itself)
#   proc_wait_ready NAME FILE [S]   poll until the ready file FILE is written, at most S seconds (60); when NAME
#                                   exits first or the deadline passes: says why and prints its log, returns 1
#   proc_ready_field FILE KEY       a top-level field of a ready file ({"url","port","pid",...})
#   proc_wait PID [S]               wait for PID to exit, SIGKILL after S seconds (PROC_STOP_SECONDS); reaps it,
#                                   stops tracking it; returns its exit status
#   proc_stop PID [SIGNAL]          SIGNAL (TERM) to a tracked PID, then proc_wait; returns 0
#   proc_stop_all [--logs]          SIGTERM to every tracked process, SIGKILL to those still running after
#                                   PROC_STOP_SECONDS (5); --logs: then print the logs of the processes proc_start
#                                   started since the last proc_stop_all
#   proc_print_log FILE [LINES]     the last LINES (20) of a log on stdout, secret-shaped values masked
#
# Every function returns an explicit status and fails no command it does not mean to, so it behaves the same
# with and without `set -e`, and when called in a conditional (where `set -e` does not apply inside it).
# shellcheck shell=bash

PROC_PREFIX=${PROC_PREFIX:-oauthdemo}
PROC_DIR=""
PROC_KEEP_DIR=${PROC_KEEP_DIR:-0}
PROC_STOP_SECONDS=${PROC_STOP_SECONDS:-5}
PROC_PID=""
PROC_PIDS=()   # tracked: stopped by proc_stop_all and at exit
PROC_NAMES=()  # started by proc_start since the last proc_stop_all (their logs: proc_stop_all --logs)
declare -gA PROC_PID_OF=()
_proc_own_dir=0

proc_init() {
  PROC_PREFIX=$1
  if [ $# -ge 2 ]; then
    mkdir -p "$2" || return 1
    PROC_DIR=$(cd "$2" && pwd) || return 1
    _proc_own_dir=0
  else
    PROC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/oauthdemo-$1.XXXXXX") || return 1
    _proc_own_dir=1
  fi
  trap _proc_at_exit EXIT
  trap _proc_interrupted INT TERM
}
_proc_interrupted() {
  echo "$PROC_PREFIX: interrupted" >&2
  exit 130
}
_proc_at_exit() { # keeps the script's exit status
  set +e
  trap '' INT TERM  # a second Ctrl-C must not cut the clean-up short
  # shellcheck disable=SC2119  # no --logs here
  proc_stop_all
  if [ "$_proc_own_dir" = 1 ] && [ -n "$PROC_DIR" ]; then
    if [ "$PROC_KEEP_DIR" = 1 ]; then echo "$PROC_PREFIX: work dir kept: $PROC_DIR" >&2; else rm -rf "$PROC_DIR"; fi
  fi
}

proc_start() {
  local name=$1
  shift
  (cd "$PROC_DIR" && exec "$@") >>"$PROC_DIR/$name.log" 2>&1 &
  PROC_PID=$!
  PROC_PIDS+=("$PROC_PID")
  _proc_names_has "$name" || PROC_NAMES+=("$name")  # a restart appends to the same log
  PROC_PID_OF[$name]=$PROC_PID
  return 0
}
proc_track() {
  PROC_PIDS+=("$1")
  return 0
}

proc_wait_ready() {
  local name=$1 file=$2 seconds=${3:-60}
  local pid=${PROC_PID_OF[$name]:-} deadline=$((SECONDS + seconds)) why="" rc=0
  while [ ! -s "$file" ]; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      [ -s "$file" ] && break  # written just before it exited
      wait "$pid" 2>/dev/null || rc=$?
      _proc_forget "$pid"
      why="exited before it was ready (exit status $rc)"
      break
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      why="was not ready after $seconds s"
      break
    fi
    sleep 0.05
  done
  [ -z "$why" ] && return 0
  echo "$PROC_PREFIX: $name $why" >&2
  proc_print_log "$PROC_DIR/$name.log" >&2
  return 1
}

proc_ready_field() {
  if command -v jq >/dev/null 2>&1; then
    jq -er --arg k "$2" '.[$k]' "$1"
  else
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
  fi
}

proc_wait() {
  local pid=$1 deadline=$((SECONDS + ${2:-$PROC_STOP_SECONDS})) rc=0
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || rc=$?
  _proc_forget "$pid"
  return "$rc"
}
proc_stop() {
  _proc_tracks "$1" || return 0  # already reaped (its PID may be another process's by now) or never started here
  kill -"${2:-TERM}" "$1" 2>/dev/null || true
  proc_wait "$1" || true
  return 0
}

# shellcheck disable=SC2120  # --logs is optional
proc_stop_all() {
  local pid name deadline=$((SECONDS + PROC_STOP_SECONDS))
  for pid in "${PROC_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PROC_PIDS[@]}"; do proc_wait "$pid" $((deadline - SECONDS)) || true; done
  PROC_PIDS=()
  if [ "${1:-}" = --logs ]; then
    for name in "${PROC_NAMES[@]}"; do proc_print_log "$PROC_DIR/$name.log"; done
  fi
  PROC_NAMES=()
  PROC_PID_OF=()
  return 0
}

proc_print_log() {
  [ -s "$1" ] || return 0
  echo "  --- last lines of $(basename "$1"):"
  # Scrub anything secret-shaped (query values of codes/state, JWTs) before printing.
  tail -n "${2:-20}" "$1" | sed -E 's/((code|state|nonce|code_challenge|code_verifier|user_code|device_code|token)=)[^&[:space:]]*/\1.../g; s/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]*/[jwt]/g; s/^/  | /' || true
  return 0
}

_proc_tracks() {
  local p
  for p in "${PROC_PIDS[@]}"; do [ "$p" = "$1" ] && return 0; done
  return 1
}
_proc_names_has() {
  local n
  for n in "${PROC_NAMES[@]}"; do [ "$n" = "$1" ] && return 0; done
  return 1
}
_proc_forget() {
  local p kept=()
  for p in "${PROC_PIDS[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  PROC_PIDS=("${kept[@]}")
}
