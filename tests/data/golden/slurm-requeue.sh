#!/bin/bash
#SBATCH --job-name=train
#SBATCH --output=/logs/3/stdout.log
#SBATCH --error=/logs/3/stderr.log
#SBATCH --open-mode=append
#SBATCH --signal=B:USR2@120
#SBATCH --requeue

export PYTHONUNBUFFERED=1  # stdout.log fills as the job prints, not when it ends
export TINYXP_RUN_DIR=/logs/3
cd /work
trap 'preempted=1; kill -USR2 "$child" 2>/dev/null' USR2
(trap '' USR2; exec python3 train.py lr=0.001 'msg='"'"'$(touch x)'"'"'' xp.run_id=3) &
child=$!
resent=0
while kill -0 "$child" 2>/dev/null; do
    if [ -n "${preempted:-}" ] && [ "$resent" -lt 5 ]; then
        sleep 1; kill -USR2 "$child" 2>/dev/null; resent=$((resent + 1))
    else wait "$child"; fi
done
wait "$child"
status=$?
exit "$status"
