#!/bin/bash
#SBATCH --job-name=train
#SBATCH --output=/logs/.tinyxp/jobs/%A_%a.out
#SBATCH --error=/logs/.tinyxp/jobs/%A_%a.err
#SBATCH --array=0-2%2
#SBATCH --open-mode=append
#SBATCH --signal=B:USR2@90
#SBATCH --requeue
#SBATCH --time=01:00:00
#SBATCH --gres=gpu:1

export PYTHONUNBUFFERED=1  # stdout.log fills as the job prints, not when it ends
case "${SLURM_ARRAY_TASK_ID}" in
  0) run_dir=/logs/3; export TINYXP_RUN_DIR="$run_dir" ;;
  1) run_dir=/logs/4; export TINYXP_RUN_DIR="$run_dir" ;;
  2) run_dir='/logs 2/5'; export TINYXP_RUN_DIR="$run_dir" ;;
  *) echo "tinyxp: no task ${SLURM_ARRAY_TASK_ID} in this array" >&2; exit 1 ;;
esac
exec >>"$run_dir/stdout.log" 2>>"$run_dir/stderr.log"
export TINYXP_ARRAY=1  # an array task, whatever the scheduler's variables say
cd '/work/my project'
module load python/3.11
source ~/venv/bin/activate
trap 'preempted=1; kill -USR2 "$child" 2>/dev/null' USR2
case "${SLURM_ARRAY_TASK_ID}" in
  0) (trap '' USR2; exec python3 train.py lr=0.001 'msg='"'"'$(touch x)'"'"'' xp.run_id=3) & ;;
  1) (trap '' USR2; exec python3 train.py lr=0.0001 'msg=a b' xp.run_id=4) & ;;
  2) (trap '' USR2; exec python3 train.py lr=0.01 'msg="q"' xp.run_id=5) & ;;
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
echo done
