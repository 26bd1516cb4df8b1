#!/bin/bash
#PBS -N train
#PBS -o /logs/3/stdout.log
#PBS -e /logs/3/stderr.log
#PBS -l nodes=1:ppn=4,walltime=01:00:00

export PYTHONUNBUFFERED=1  # stdout.log fills as the job prints, not when it ends
export TINYXP_RUN_DIR=/logs/3
cd '/work/my project'
module load python/3.11
source ~/venv/bin/activate
python3 train.py lr=0.001 'msg='"'"'$(touch x)'"'"'' xp.run_id=3
