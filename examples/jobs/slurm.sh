#!/bin/bash
# Run from examples/quickstart: tinyxp sub ../jobs/slurm.sh   (--dry-run to see the job scripts)
#SBATCH --time=01:00:00
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
# tinyxp sub slurm.sh           one job per setting (6 jobs)
# tinyxp sub --array slurm.sh   one job array per python line (add xp.max_parallel=4: 4 tasks at once)
# tinyxp sub --dry-run slurm.sh print the job scripts, submit nothing
module load python/3.11
source ~/venvs/train/bin/activate
export OMP_NUM_THREADS=4
python train.py +sweep optimizer.lr=1e-3,1e-4 \
    'seed=range(3)' \
    xp.requeue=true
echo "job done on $(hostname)"
