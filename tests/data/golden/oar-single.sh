#!/bin/bash
#OAR -n train
#OAR -O /logs/3/stdout.log
#OAR -E /logs/3/stderr.log
#OAR -l nodes=1,walltime=1:00:00

export PYTHONUNBUFFERED=1  # stdout.log fills as the job prints, not when it ends
export TINYXP_RUN_DIR=/logs/3
cd '/work/my project'
module load python/3.11
source ~/venv/bin/activate
python3 train.py lr=0.001 'msg='"'"'$(touch x)'"'"'' xp.run_id=3
