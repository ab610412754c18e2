#!/usr/bin/env bash
# Stop the daemons that tests/cluster/slurm-up.sh started, by the PIDs it recorded.
set -uo pipefail

state=$(realpath -m "${1:?usage: slurm-down.sh STATE_DIR}")
for daemon in slurmd slurmctld munged; do
    pidfile="$state/$daemon.pid"
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 40); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
done
for name in slurm.conf gres.conf; do
    if [ "$(readlink "/etc/slurm/$name")" = "$state/$name" ]; then
        rm -f "/etc/slurm/$name"
    fi
done
