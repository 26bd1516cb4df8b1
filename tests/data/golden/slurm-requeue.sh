#!/bin/bash
#SBATCH --job-name=train
#SBATCH --output=/logs/3/stdout.log
#SBATCH --error=/logs/3/stderr.log
#SBATCH --open-mode=append
#SBATCH --signal=B:USR1@120
#SBATCH --requeue

export TINYXP_RUN_DIR=/logs/3
cd /work
trap 'preempted=1; kill -USR1 "$child" 2>/dev/null;' USR1
python3 train.py lr=0.001 'msg='"'"'$(touch x)'"'"'' xp.run_id=3 &
child=$!
if [ -n "${preempted:-}" ]; then kill -USR1 "$child" 2>/dev/null; fi
while kill -0 "$child" 2>/dev/null; do wait "$child"; done
wait "$child"
status=$?
exit "$status"
