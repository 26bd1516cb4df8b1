#!/bin/bash
#OAR -n train
#OAR -O /logs/.tinyxp/jobs/%jobid%.out
#OAR -E /logs/.tinyxp/jobs/%jobid%.err
#OAR --array 3
#OAR --checkpoint 90
#OAR --signal 10
#OAR -t idempotent
#OAR -l nodes=1,walltime=1:00:00

case "${OAR_ARRAY_INDEX}" in
  1) run_dir=/logs/3; export TINYXP_RUN_DIR="$run_dir" ;;
  2) run_dir=/logs/4; export TINYXP_RUN_DIR="$run_dir" ;;
  3) run_dir='/logs 2/5'; export TINYXP_RUN_DIR="$run_dir" ;;
  *) echo "tinyxp: no task ${OAR_ARRAY_INDEX} in this array" >&2; exit 1 ;;
esac
exec >>"$run_dir/stdout.log" 2>>"$run_dir/stderr.log"
cd '/work/my project'
module load python/3.11
source ~/venv/bin/activate
trap 'preempted=1; kill -USR1 "$child" 2>/dev/null;' USR1
case "${OAR_ARRAY_INDEX}" in
  1) python3 train.py lr=0.001 'msg='"'"'$(touch x)'"'"'' xp.run_id=3 & ;;
  2) python3 train.py lr=0.0001 'msg=a b' xp.run_id=4 & ;;
  3) python3 train.py lr=0.01 'msg="q"' xp.run_id=5 & ;;
esac
child=$!
if [ -n "${preempted:-}" ]; then kill -USR1 "$child" 2>/dev/null; fi
while kill -0 "$child" 2>/dev/null; do wait "$child"; done
wait "$child"
status=$?
if [ -n "${preempted:-}" ]; then exit 99; fi  # resubmit
exit "$status"
