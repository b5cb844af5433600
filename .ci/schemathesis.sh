#!/usr/bin/env bash
# Property-based API test of a running node with schemathesis: every operation of the node's
# OpenAPI document is called with generated valid and invalid input; any 5xx, an undocumented
# status or content type, or an answer that does not match its schema fails the run.
#
# Usage: .ci/schemathesis.sh NODE_BIN [SECONDS]   (needs `st` on PATH: pip install schemathesis)
set -euo pipefail
node_bin=$1
budget_s=${2:-150}
scratch=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$scratch"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
cat > "$scratch/node.toml" <<'TOML'
[accounts]
argon2_memory_kib = 1024
[calls]
udp_port_min = 47000
udp_port_max = 47099
TOML
NODE_ADMIN_PASSWORD='Schema-Fuzz-Bootstrap-2026' "$node_bin" serve --data "$scratch/data" \
  --config "$scratch/node.toml" --listen "127.0.0.1:$port" > "$scratch/node.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  curl -sf "$base/healthz" > /dev/null && break
  sleep 0.1 # waiting for the node to listen
done
curl -sf "$base/healthz" > /dev/null || { cat "$scratch/node.log"; exit 1; }

# One account with every role of the node, so that role checks let the generated requests reach
# the handlers; its password is set at the first login as for any account.
token=$(python3 - "$base" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + "/api/v1" + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": "Bearer " + token} if token else {})})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")
def activate(login, temporary, own):
    t = call("POST", "/auth/login", {"login": login, "password": temporary})["token"]
    call("POST", "/auth/password", {"current_password": temporary, "new_password": own}, t)
    return t
admin = activate("admin", "Schema-Fuzz-Bootstrap-2026", "Schema-Fuzz-Admin-Own-2026")
call("POST", "/accounts", {"login": "fuzz.all", "full_name": "Schemathesis",
    "password": "Schema-Fuzz-Temporary-2026",
    "roles": ["call_taker", "dispatcher", "duty_officer", "supervisor", "patrol", "admin",
              "registrar", "head", "appeal_manager", "appeal_officer"]}, admin)
print(activate("fuzz.all", "Schema-Fuzz-Temporary-2026", "Schema-Fuzz-Own-Pass-2026"))
PY
)

# Operations left out: the event stream never ends; logout, deleting or disabling accounts and
# changing the password would end the fuzzing session itself; a meeting's video upload takes
# video/webm or video/mp4 bodies, which schemathesis cannot generate (node/tests/meetings.rs
# tests it).
status=0
st run "$base/api/v1/openapi.json" \
  -H "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-time "$budget_s" --workers 2 \
  --exclude-path /api/v1/events \
  --exclude-path /api/v1/auth/logout \
  --exclude-path /api/v1/auth/password \
  --exclude-path-regex '^/api/v1/accounts/\{login\}$' \
  --exclude-path '/api/v1/meetings/{id}/recordings' \
  --warnings off \
  --seed 102 || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- node log (tail)"
  tail -n 60 "$scratch/node.log"
fi
exit "$status"
