# shellcheck shell=bash
# Shared by the shell benchmarks (sourced, not run): a temporary directory whose processes
# are stopped on exit, free loopback ports, and a gateway configuration in front of a
# fixed-answer upstream with one gateway-issued key.
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for_port PORT: until something listens there (at most 10 s).
wait_for_port() {
  for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# gateway_config DIR LISTEN_PORT UPSTREAM_PORT ACCESS_KEY SECRET PRINCIPAL [MORE_YAML]:
# DIR/clients.yaml and DIR/obsgate.yaml; MORE_YAML is appended at the top level.
gateway_config() {
  cat > "$1/clients.yaml" <<YAML
version: 1
clients:
  - {access_key: $4, secret: $5, principal: $6}
YAML
  cat > "$1/obsgate.yaml" <<YAML
listeners: [{address: 127.0.0.1:$2}]
upstream: {endpoint: http://127.0.0.1:$3, region: us-east-1, profiles: {default: {access_key: UP, secret_key: up-secret}}}
credentials: clients.yaml
log_level: warning
${7:-}
YAML
}
