# Sourced by run_all.sh (uses its helpers and variables): CLI token store and login listener.
# shellcheck shell=bash
# shellcheck disable=SC2154  # variables and helpers come from run_all.sh

store_file() { echo "$1/tokens/default.json"; }
# check_store FILE: prints "ok <sha>" for a complete version-1 store, else "garbage <why>".
check_store() {
  "$PY" - "$1" <<'EOF'
import hashlib, json, sys
try:
    raw = open(sys.argv[1], "rb").read()
    d = json.loads(raw)
    assert isinstance(d, dict), "not an object"
    assert d.get("version") == 1, "version"
    assert isinstance(d.get("access_token"), str) and d["access_token"], "access_token"
    for k in ("issuer", "client_id", "token_type"):
        assert isinstance(d.get(k, ""), str), k
    for k in ("expires_at", "obtained_at"):
        assert isinstance(d.get(k, 0), int), k
    print("ok", hashlib.sha256(raw).hexdigest()[:16])
except FileNotFoundError:
    print("missing -")
except Exception as e:
    print("garbage", str(e).replace(" ", "_")[:60])
EOF
}
cli_env() { # cli_env CONFIG_DIR CLIENT_ID: common environment for a CLI run against devidp
  export ISSUER_BASE_URL="$issuer" API_AUDIENCE="$audience" AUTH0_CLIENT_ID="$2" XDG_CONFIG_HOME="$1/xdg"
  unset AUTH0_DOMAIN OAUTHDEMO_ACCESS_TOKEN
}

# ---------------------------------------------------------------------------------------------
# SIGKILL at random points of a store write: the file holds the old or the new tokens, never garbage.
if want store_kill; then
  begin store_kill
  if start_devidp idp-store; then
    cfg="$work/store-kill"
    mkdir -p "$cfg" && chmod 700 "$cfg"
    cli_env "$cfg" oauthdemo-ci
    run_cc() {
      OAUTHDEMO_CLIENT_SECRET="$DEVIDP_CI_CLIENT_SECRET" "$cli" --config-dir "$cfg" --non-interactive \
        login --client-credentials --client-id oauthdemo-ci >>"$work/store-kill.log" 2>&1
    }
    t0=$(date +%s%N)
    run_cc
    rc=$?
    t1=$(date +%s%N)
    check "first client-credentials login (exit $rc)" [ "$rc" = 0 ]
    run_ms=$(( (t1 - t0) / 1000000 ))
    for _ in 1 2 3; do   # a warm run is shorter than the first one: use the fastest
      t0=$(date +%s%N); run_cc; t1=$(date +%s%N)
      ms=$(( (t1 - t0) / 1000000 ))
      [ "$ms" -lt "$run_ms" ] && run_ms=$ms
    done
    figure full_run_ms "$run_ms"
    kills=$([ $long = 1 ] && echo 100 || echo 20)
    kept=0 replaced=0 garbage=0 finished=0
    after=$(check_store "$(store_file "$cfg")")
    for _ in $(seq "$kills"); do
      before=$after
      OAUTHDEMO_CLIENT_SECRET="$DEVIDP_CI_CLIENT_SECRET" "$cli" --config-dir "$cfg" --non-interactive \
        login --client-credentials --client-id oauthdemo-ci >>"$work/store-kill.log" 2>&1 &
      p=$!   # the CLI itself (not a subshell), so SIGKILL hits the writer
      proc_track "$p"
      # uniform over 0..120 % of a full run, so kills land before, during and after the write
      d=$(( RANDOM * run_ms * 12 / 10 / 32768 ))
      sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
      if kill -KILL "$p" 2>/dev/null; then :; else finished=$((finished + 1)); fi
      proc_wait "$p"
      after=$(check_store "$(store_file "$cfg")")
      case "$after" in
        ok*) if [ "$after" = "$before" ]; then kept=$((kept + 1)); else replaced=$((replaced + 1)); fi ;;
        *) garbage=$((garbage + 1)); echo "store after kill: $after" >>"$work/store-kill.log" ;;
      esac
    done
    leftovers=$(find "$cfg" -type f ! -name '*.json' ! -name '*.lock' | wc -l)
    figure kills "$kills"
    figure kept_old "$kept"
    figure replaced_by_new "$replaced"
    figure garbage "$garbage"
    figure finished_before_kill "$finished"
    figure leftover_temp_files "$leftovers"
    check "never garbage after SIGKILL ($garbage of $kills)" [ "$garbage" = 0 ]
    check "kills landed both before and after the rename (kept $kept, replaced $replaced)" [ "$kept" -gt 0 -a "$replaced" -gt 0 ]
    "$cli" --config-dir "$cfg" --non-interactive status >/dev/null 2>&1
    rc=$?
    check "status reads the store after the kills (exit $rc)" [ "$rc" = 0 ]
  fi
  finish
fi

# ---------------------------------------------------------------------------------------------
# Ten concurrent `token refresh` runs (devidp rotates refresh tokens, reuse revokes the family):
# one consistent store whose refresh token still works.
if want store_concurrent; then
  begin store_concurrent
  if start_devidp idp-conc; then
    cfg="$work/store-conc"
    mkdir -p "$cfg" && chmod 700 "$cfg"
    cli_env "$cfg" oauthdemo-cli
    "$cli" --config-dir "$cfg" --non-interactive login --browser-command "$root/scripts/devidp-browser.sh" \
      --port-list 0 --timeout 60 >>"$work/store-conc.log" 2>&1
    rc=$?
    check "browser login with offline_access (exit $rc)" [ "$rc" = 0 ]
    if [ "$rc" = 0 ]; then
      n=10
      cpids=()
      for i in $(seq $n); do
        "$cli" --config-dir "$cfg" --non-interactive token refresh >>"$work/store-conc.$i.log" 2>&1 &
        cpids+=($!)
        proc_track "$!"
      done
      okc=0 failc=0
      for p in "${cpids[@]}"; do
        if proc_wait "$p" 60; then okc=$((okc + 1)); else failc=$((failc + 1)); fi
      done
      figure concurrent_runs "$n"
      figure runs_exit_0 "$okc"
      figure runs_failed "$failc"
      st=$(check_store "$(store_file "$cfg")")
      figure store_after "${st%% *}"
      check "store consistent after $n concurrent refreshes ($st)" [ "${st%% *}" = ok ]
      check "every concurrent refresh succeeded ($failc failed; see $work/store-conc.*.log)" [ "$failc" = 0 ]
      "$cli" --config-dir "$cfg" --non-interactive token refresh >>"$work/store-conc.log" 2>&1
      rc=$?
      check "the stored refresh token still works afterwards (exit $rc)" [ "$rc" = 0 ]
    fi
  fi
  finish
fi

# ---------------------------------------------------------------------------------------------
# The login listener: wrong state, wrong Host, other-origin requests, stray paths and a second
# callback after success are refused; the real login still completes; the port is freed at the end.
if want login_listener; then
  begin login_listener
  if start_devidp idp-login; then
    cfg="$work/login"
    mkdir -p "$cfg" && chmod 700 "$cfg"
    cli_env "$cfg" oauthdemo-cli
    results="$work/listener-results.txt"
    : >"$results"
    cat >"$work/evil-browser.sh" <<EOF
#!/usr/bin/env bash
# Attacks the CLI's callback listener, then logs in for real with devidp-browser.sh.
url=\${!#}
out="$results"
read -r redirect state < <("$PY" -c '
import sys, urllib.parse
q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(sys.argv[1]).query))
print(q["redirect_uri"], q["state"])' "\$url")
port=\$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).port)' "\$redirect")
echo "port \$port" >>"\$out"
probe() { # probe NAME CURL-ARGS...: status and whether CORS was granted
  local name=\$1; shift
  local h
  h=\$(curl -s -D - -o /dev/null --max-time 5 "\$@")
  local code=\$(printf '%s' "\$h" | head -1 | awk '{print \$2}')
  local acao=\$(printf '%s' "\$h" | grep -ci '^access-control-allow-origin' || true)
  echo "\$name \${code:-none} acao=\$acao" >>"\$out"
}
probe wrong_state -H 'Origin: http://evil.example' "\$redirect?code=forged&state=wrong-\$state"
probe missing_state "\$redirect?code=forged"
probe wrong_host_right_state -H "Host: evil.example:\$port" "\$redirect?code=forged&state=\$state"
probe post_cross_origin -X POST -H 'Origin: http://evil.example' -H 'Sec-Fetch-Site: cross-site' \
  --data "code=forged&state=\$state" "\$redirect"
probe preflight -X OPTIONS -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: GET' "\$redirect"
probe stray_path "http://127.0.0.1:\$port/favicon.ico"
"$root/scripts/devidp-browser.sh" "\$url" >>"\$out.browser" 2>&1
echo "browser_exit \$?" >>"\$out"
EOF
    chmod +x "$work/evil-browser.sh"
    "$cli" --config-dir "$cfg" --non-interactive login --browser-command "$work/evil-browser.sh" \
      --port-list 0 --timeout 60 >>"$work/login.log" 2>&1
    rc=$?
    figure login_exit "$rc"
    check "login completed despite the attacks (exit $rc; the forged code was not used)" [ "$rc" = 0 ]
    while read -r name code acao; do
      [ "$name" = port ] && { lport=$code; continue; }
      [ "$name" = browser_exit ] && { figure browser_exit "$code"; continue; }
      figure "$name" "$code/$acao"
      check "$name refused with 4xx (got $code)" [ "${code:0:1}" = 4 ]
      check "$name: no CORS grant" [ "$acao" = "acao=0" ]
    done <"$results"
    if [ -n "${lport:-}" ]; then
      # A second (replayed) callback after success: nobody listens any more.
      code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$lport/callback?code=replay&state=x")
      figure replay_after_success "$code"
      check "callback after success refused: port closed (got $code)" [ "$code" = 000 ]
      listening=$(ss -ltnH "sport = :$lport" 2>/dev/null | wc -l)
      figure port_listening_after "$listening"
      check "port $lport freed" [ "$listening" = 0 ]
    else
      fail "the browser command never saw the authorize URL"
    fi
  fi
  finish
fi
