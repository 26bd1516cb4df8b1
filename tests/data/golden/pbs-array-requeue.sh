#!/bin/bash
#PBS -N train
#PBS -o '/logs/.tinyxp/jobs/^array_index^.out'
#PBS -e '/logs/.tinyxp/jobs/^array_index^.err'
#PBS -J 0-2%2
#PBS -r y
#PBS -l select=1:ncpus=4
#PBS -l walltime=01:00:00

case "${PBS_ARRAY_INDEX}" in
  0) run_dir=/logs/3; export TINYXP_RUN_DIR="$run_dir" ;;
  1) run_dir=/logs/4; export TINYXP_RUN_DIR="$run_dir" ;;
  2) run_dir='/logs 2/5'; export TINYXP_RUN_DIR="$run_dir" ;;
  *) echo "tinyxp: no task ${PBS_ARRAY_INDEX} in this array" >&2; exit 1 ;;
esac
exec >>"$run_dir/stdout.log" 2>>"$run_dir/stderr.log"
cd '/work/my project'
module load python/3.11
source ~/venv/bin/activate
trap 'preempted=1;' USR1
case "${PBS_ARRAY_INDEX}" in
  0) python3 train.py lr=0.001 'msg='"'"'$(touch x)'"'"'' xp.run_id=3 & ;;
  1) python3 train.py lr=0.0001 'msg=a b' xp.run_id=4 & ;;
  2) python3 train.py lr=0.01 'msg="q"' xp.run_id=5 & ;;
esac
child=$!
while kill -0 "$child" 2>/dev/null; do wait "$child"; done
wait "$child"
status=$?
exit "$status"
