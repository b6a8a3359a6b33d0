#!/bin/bash
# Container health check: `healthcheck live` or `healthcheck ready` asks this container's service
# for /health/live or /health/ready on 127.0.0.1:$HTTP_PORT and succeeds on HTTP 200. Plain bash,
# so the runtime image needs no HTTP client.
set -u
case "${1:-live}" in
    live | ready) path="/health/${1:-live}" ;;
    *) echo "usage: healthcheck [live|ready]" >&2; exit 2 ;;
esac
port="${HTTP_PORT:-8080}"

{ exec 3<>"/dev/tcp/127.0.0.1/${port}"; } 2>/dev/null || exit 1
printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUser-Agent: healthcheck\r\nConnection: close\r\n\r\n' "$path" "$port" >&3
IFS=' ' read -r -t 4 _ status _ <&3 || exit 1
exec 3<&-
[ "$status" = "200" ]
