#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine (Debian's packages, no systemd), with
# one stand-in GPU so that jobs asking for a GPU schedule. Needs root.
#
#   tests/cluster/slurm-up.sh STATE_DIR      # prints: export SLURM_CONF=STATE_DIR/slurm.conf
#   tests/cluster/slurm-down.sh STATE_DIR
#
# Everything it writes stays under STATE_DIR (configs, spool, logs, PID files) except
# two links, /etc/slurm/{slurm,gres}.conf, into it: snakemake's jobstep executor drops
# SLURM_CONF before it calls srun inside a job, so the config must be where SLURM looks
# by default. It refuses to replace a slurm.conf that it did not write.
set -euo pipefail

state=$(realpath -m "${1:?usage: slurm-up.sh STATE_DIR}")
mkdir -p "$state"/{spool,state,log}

if [ "$(id -u)" -ne 0 ]; then
    echo "slurm-up.sh: needs root (it installs packages and starts daemons)" >&2
    exit 2
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >"$state/log/apt.log" 2>&1 || true  # a stale index may still install
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >>"$state/log/apt.log" 2>&1 \
        || { echo "slurm-up.sh: apt-get install failed, see $state/log/apt.log" >&2; exit 1; }
fi

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq $((seconds * 4))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.25
    done
    echo "slurm-up.sh: timed out waiting for $what" >&2
    return 1
}

# munge authenticates slurm's daemons and clients to each other. Reuse a running one.
if ! (munge -n | unmunge) >/dev/null 2>&1; then
    [ -s /etc/munge/munge.key ] || { mungekey --create >/dev/null 2>&1 && chown munge:munge /etc/munge/munge.key; }
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/specrestore-munged.pid
    cp /run/munge/specrestore-munged.pid "$state/munged.pid"
    wait_for 20 munge sh -c 'munge -n | unmunge'
fi

host=$(hostname -s)
# The node as slurmd sees it (CPUs, sockets, memory), plus the stand-in GPU.
node=$(slurmd -C | head -n 1 | sed "s/^NodeName=[^ ]*/NodeName=$host/")

cat >"$state/slurm.conf" <<CONF
ClusterName=specrestore-ci
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
# No cgroups and no systemd on these machines.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default, a job that asks for no memory takes the whole node.
DefMemPerCPU=1000
# Finished jobs stay visible to squeue and scontrol this long: the executor polls
# squeue (there is no accounting database to ask sacct), and the tests read every
# job back with scontrol after the run, which takes over 5 minutes on a slow host.
MinJobAge=7200
MailProg=/bin/true
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# One line per finished job: the record the tests read to see what the scheduler ran.
JobCompType=jobcomp/filetxt
JobCompLoc=$state/log/jobcomp.log
GresTypes=gpu
ReturnToService=2
SlurmdTimeout=60
$node Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

cat >"$state/gres.conf" <<CONF
AutoDetect=off
NodeName=$host Name=gpu File=/dev/null
CONF

mkdir -p /etc/slurm
for name in slurm.conf gres.conf; do
    if [ -e "/etc/slurm/$name" ] && [ ! -L "/etc/slurm/$name" ]; then
        echo "slurm-up.sh: /etc/slurm/$name exists and is not ours; not replacing it" >&2
        exit 1
    fi
    ln -sfn "$state/$name" "/etc/slurm/$name"
done

export SLURM_CONF="$state/slurm.conf"
slurmctld -f "$SLURM_CONF"
wait_for 30 slurmctld scontrol ping
slurmd -f "$SLURM_CONF"
if ! wait_for 60 "node $host to be idle" sh -c 'sinfo -h -o %T | grep -qx idle'; then
    tail -n 20 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2
    exit 1
fi
echo "export SLURM_CONF=$SLURM_CONF"
