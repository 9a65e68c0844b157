#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis servers the integration tests use answer on 127.0.0.1
# (the SCCM database, the distributed Celery setup and the webhook test). On the project's
# machines they are started before a session; this starts them when they are not running.
set -uo pipefail
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "start-services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "start-services: starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null \
    || { echo "start-services: PostgreSQL or Redis is not answering on 127.0.0.1" >&2; exit 1; }
