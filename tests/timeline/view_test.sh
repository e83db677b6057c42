#!/usr/bin/env bash
# `raympi timeline` in a real browser: writes the page for a Chrome trace,
# loads it in headless Chromium and checks what the page drew against the
# trace itself.
#
#   view_test.sh [--run "CMD"] RAYMPI OUT_DIR [TRACE.json]
#
# --run CMD: first runs CMD (bash -c) with RAYMPI_TIMELINE=<tmp>/trace.json
# exported and uses the trace it writes (then TRACE.json is not given).
# RAYMPI is the launcher binary; OUT_DIR receives view.html, dom.html and
# screenshot.png for a look afterwards.
#
# Checks: the page sets data-ready="1" and data-errors="0" on <body>;
# data-bars and the number of class="bar" elements equal the number of ph "X"
# events; data-flows and the class="flow" elements equal the "s"/"f" pairs
# (same cat and id); the interactions' self-test (#selftest: drag, wheel,
# reset, tooltip) says ok; the page loads nothing from the network; a
# 1400x800 screenshot is over 10 KB; the default output name; and bad input
# (not JSON, no traceEvents, no file) exits non-zero naming the file.
set -uo pipefail

run_cmd=""
if [[ ${1:-} == --run ]]; then
  run_cmd=${2:?--run needs a command}
  shift 2
fi
raympi=${1:?usage: view_test.sh [--run CMD] RAYMPI OUT_DIR [TRACE.json]}
out_dir=${2:?usage: view_test.sh [--run CMD] RAYMPI OUT_DIR [TRACE.json]}
trace=${3:-}

failures=0
fail() { echo "view_test: FAIL: $*" >&2; failures=$((failures + 1)); }
die() { echo "view_test: FAIL: $*" >&2; exit 1; }
ok() { echo "view_test: ok: $*"; }

chromium=""
for c in chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null 2>&1; then chromium=$(command -v "$c"); break; fi
done
[[ -n $chromium ]] || die "no chromium: the timeline test needs a headless browser; apt-get install chromium"
command -v python3 >/dev/null 2>&1 || die "no python3 (counts the trace's events): apt-get install python3"
[[ -x $raympi ]] || die "no launcher binary at $raympi"

work=$(mktemp -d "${TMPDIR:-/tmp}/raympi-timeline-test.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out_dir" || die "cannot create $out_dir"
rm -f "$out_dir"/view.html "$out_dir"/dom*.html "$out_dir"/screenshot.png

if [[ -n $run_cmd ]]; then
  [[ -z $trace ]] || die "give either --run or TRACE.json, not both"
  trace=$work/trace.json
  echo "view_test: running: RAYMPI_TIMELINE=$trace $run_cmd"
  RAYMPI_TIMELINE=$trace bash -c "$run_cmd" >"$work/run.log" 2>&1
  rc=$?
  tail -n 20 "$work/run.log"
  [[ $rc -eq 0 ]] || die "the traced run exited $rc"
  [[ -s $trace ]] || die "the run wrote no trace at RAYMPI_TIMELINE=$trace (does the runtime write timelines yet?)"
  cp "$trace" "$out_dir/trace.json"
fi
[[ -n $trace && -f $trace ]] || die "no trace file '${trace}'"

# --- the page ----------------------------------------------------------------
html=$work/view.html
"$raympi" timeline "$trace" -o "$html" || die "raympi timeline $trace exited $?"
[[ -s $html ]] || die "raympi timeline wrote no page"
cp "$html" "$out_dir/view.html"

# Nothing from the network: no http(s) in src/href/url()/@import, no <link>.
if grep -Eiq '(src|href)[[:space:]]*=[[:space:]]*["'\'']?[[:space:]]*(https?:)?//|url\([[:space:]]*["'\'']?(https?:)?//|@import|<link[[:space:]]' "$html"; then
  fail "the page refers to something outside itself:"
  grep -Eio '.{0,40}((src|href)[[:space:]]*=[[:space:]]*["'\'']?(https?:)?//|url\(["'\'']?(https?:)?//|@import|<link[[:space:]]).{0,40}' "$html" | head -5 >&2
else
  ok "self-contained (no src/href/url to the network, no <link>, no @import)"
fi

# What the trace holds, counted here independently of the page.
read -r want_bars want_flows < <(python3 - "$trace" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
events = doc if isinstance(doc, list) else doc["traceEvents"]
bars = sum(1 for e in events if isinstance(e, dict) and e.get("ph") == "X")
ends = {}
for e in events:
    if isinstance(e, dict) and e.get("ph") in ("s", "f") and "id" in e:
        key = (str(e.get("cat", "")), str(e["id"]) if isinstance(e["id"], str) else json.dumps(e["id"]))
        ends.setdefault(key, {"s": 0, "f": 0})[e["ph"]] += 1
print(bars, sum(min(v["s"], v["f"]) for v in ends.values()))
EOF
) || die "python3 could not read $trace"
echo "view_test: the trace has $want_bars X events and $want_flows s/f pairs"

# Headless Chromium: the DOM after the page's script ran.
browse() {  # browse OUT URL [extra flags...]
  local out=$1 url=$2
  shift 2
  timeout 120 "$chromium" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --no-default-browser-check --user-data-dir="$work/profile" \
    --virtual-time-budget=10000 "$@" "$url" >"$out" 2>"$work/chromium.err"
}
# The dumped DOM without <script> elements (the trace data and the page's own
# code are text there and must not be counted) and the <body> attributes.
dom_facts() {  # dom_facts DOM -> "ready errors bars flows rows selftest nbar nflow"
  python3 - "$1" <<'EOF'
import re, sys
dom = open(sys.argv[1], encoding="utf-8", errors="replace").read()
dom = re.sub(r"<script\b[^>]*>.*?</script>", "", dom, flags=re.S | re.I)
m = re.search(r"<body\b([^>]*)>", dom)
attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1))) if m else {}
get = lambda k: attrs.get(k, "-") or "-"
print(get("data-ready"), get("data-errors"), get("data-bars"), get("data-flows"), get("data-rows"),
      get("data-selftest").replace(" ", "_"), dom.count('class="bar"'), dom.count('class="flow"'))
EOF
}

dom=$work/dom.html
browse "$dom" "file://$html" --dump-dom || { cat "$work/chromium.err" >&2; die "chromium --dump-dom failed"; }
cp "$dom" "$out_dir/dom.html"
read -r ready errors bars flows rows selftest nbar nflow < <(dom_facts "$dom")
echo "view_test: page: ready=$ready errors=$errors bars=$bars flows=$flows rows=$rows; DOM: $nbar bar rects, $nflow flow paths"
[[ $ready == 1 ]] && ok "data-ready=1" || fail "data-ready is '$ready', not 1 (the page's script did not finish)"
if [[ $errors == 0 ]]; then
  ok "data-errors=0"
else
  fail "data-errors is '$errors'"
  grep -o '<div id="banner"[^>]*>[^<]*' "$dom" >&2
fi
[[ $bars == "$want_bars" ]] && ok "data-bars=$bars" || fail "data-bars is $bars, the trace has $want_bars X events"
[[ $nbar == "$want_bars" ]] && ok "$nbar class=\"bar\" elements" || fail "$nbar class=\"bar\" elements, the trace has $want_bars X events"
[[ $flows == "$want_flows" ]] && ok "data-flows=$flows" || fail "data-flows is $flows, the trace has $want_flows s/f pairs"
[[ $nflow == "$want_flows" ]] && ok "$nflow class=\"flow\" elements" || fail "$nflow class=\"flow\" elements, the trace has $want_flows s/f pairs"
[[ $rows =~ ^[0-9]+$ && $rows -ge 1 ]] && ok "data-rows=$rows" || fail "data-rows is '$rows'"

# The interactions (drag to zoom, wheel, reset, tooltip), run by the page itself.
browse "$work/dom-selftest.html" "file://$html#selftest" --dump-dom || die "chromium (#selftest) failed"
cp "$work/dom-selftest.html" "$out_dir/dom-selftest.html"
read -r ready errors _ _ _ selftest _ _ < <(dom_facts "$work/dom-selftest.html")
[[ $ready == 1 && $errors == 0 && $selftest == ok ]] && ok "interaction self-test ok" \
  || fail "interaction self-test: ready=$ready errors=$errors selftest=${selftest//_/ }"

# A screenshot at 1400x800: something was drawn.
png=$out_dir/screenshot.png
browse "$work/shot.log" "file://$html" --hide-scrollbars --window-size=1400,800 --screenshot="$png" \
  || { cat "$work/chromium.err" >&2; fail "chromium --screenshot failed"; }
size=$(stat -c %s "$png" 2>/dev/null || echo 0)
((size > 10240)) && ok "screenshot $png ($size bytes)" || fail "screenshot $png is $size bytes (want > 10 KB)"

# --- the command line ----------------------------------------------------------
cp "$trace" "$work/copy.json"
(cd "$work" && "$raympi" timeline copy.json >/dev/null) && [[ -s $work/copy.html ]] \
  && ok "default output: copy.json -> copy.html" || fail "raympi timeline copy.json wrote no copy.html"

bad() {  # bad NAME CONTENT WANT: raympi timeline must fail naming the file and WANT
  local file=$work/$1
  [[ $2 == "<none>" ]] || printf '%s' "$2" >"$file"
  local msg rc
  msg=$("$raympi" timeline "$file" -o "$work/bad.html" 2>&1)
  rc=$?
  if [[ $rc -ne 0 && $msg == *"$file"* && $msg == *"$3"* ]]; then
    ok "bad input $1 -> exit $rc: $msg"
  else
    fail "bad input $1: exit $rc, message '$msg' (want non-zero, naming $file and '$3')"
  fi
}
bad not_json.json 'this is not JSON {' "not JSON"
bad empty.json '' "not JSON"
bad no_events.json '{"displayTimeUnit":"ms"}' "no traceEvents array"
bad events_not_array.json '{"traceEvents":{"ph":"X"}}' "traceEvents"
bad bad_ts.json '{"traceEvents":[{"ph":"X","name":"f","pid":1,"tid":0,"ts":"soon","dur":1}]}' "ts"
bad missing.json '<none>' "cannot read"

if ((failures)); then
  echo "view_test: $failures check(s) failed; see $out_dir" >&2
  exit 1
fi
echo "view_test: all checks passed ($out_dir)"
