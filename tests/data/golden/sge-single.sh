#!/bin/bash
#$ -N train
#$ -o /logs/3/stdout.log
#$ -e /logs/3/stderr.log
#$ -S /bin/bash
#$ -l h_rt=01:00:00
#$ -pe smp 4

export PYTHONUNBUFFERED=1  # stdout.log fills as the job prints, not when it ends
export TINYXP_RUN_DIR=/logs/3
cd '/work/my project'
module load python/3.11
source ~/venv/bin/activate
python3 train.py lr=0.001 'msg='"'"'$(touch x)'"'"'' xp.run_id=3
