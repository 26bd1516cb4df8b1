#!/bin/bash
#SBATCH --job-name=train
#SBATCH --output=/logs/3/stdout.log
#SBATCH --error=/logs/3/stderr.log
#SBATCH --time=01:00:00
#SBATCH --gres=gpu:1

export PYTHONUNBUFFERED=1  # stdout.log fills as the job prints, not when it ends
export TINYXP_RUN_DIR=/logs/3
cd '/work/my project'
module load python/3.11
source ~/venv/bin/activate
python3 train.py lr=0.001 'msg='"'"'$(touch x)'"'"'' xp.run_id=3
