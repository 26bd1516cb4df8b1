#!/bin/bash
#$ -N train
#$ -o '/logs/.tinyxp/jobs/$JOB_ID.$TASK_ID.out'
#$ -e '/logs/.tinyxp/jobs/$JOB_ID.$TASK_ID.err'
#$ -S /bin/bash
#$ -t 1-3
#$ -tc 2
#$ -notify
#$ -r y
#$ -l h_rt=01:00:00
#$ -pe smp 4

export PYTHONUNBUFFERED=1  # stdout.log fills as the job prints, not when it ends
case "${SGE_TASK_ID}" in
  1) run_dir=/logs/3; export TINYXP_RUN_DIR="$run_dir" ;;
  2) run_dir=/logs/4; export TINYXP_RUN_DIR="$run_dir" ;;
  3) run_dir='/logs 2/5'; export TINYXP_RUN_DIR="$run_dir" ;;
  *) echo "tinyxp: no task ${SGE_TASK_ID} in this array" >&2; exit 1 ;;
esac
exec >>"$run_dir/stdout.log" 2>>"$run_dir/stderr.log"
export TINYXP_ARRAY=1  # an array task, whatever the scheduler's variables say
cd '/work/my project'
module load python/3.11
source ~/venv/bin/activate
trap 'preempted=1; kill -USR2 "$child" 2>/dev/null' USR2
case "${SGE_TASK_ID}" in
  1) (trap '' USR2; exec python3 train.py lr=0.001 'msg='"'"'$(touch x)'"'"'' xp.run_id=3) & ;;
  2) (trap '' USR2; exec python3 train.py lr=0.0001 'msg=a b' xp.run_id=4) & ;;
  3) (trap '' USR2; exec python3 train.py lr=0.01 'msg="q"' xp.run_id=5) & ;;
esac
child=$!
resent=0
while kill -0 "$child" 2>/dev/null; do
    if [ -n "${preempted:-}" ] && [ "$resent" -lt 5 ]; then
        sleep 1; kill -USR2 "$child" 2>/dev/null; resent=$((resent + 1))
    else wait "$child"; fi
done
wait "$child"
status=$?
if [ -n "${preempted:-}" ]; then exit 99; fi  # resubmit
exit "$status"
