#!/bin/bash
# Run from examples/quickstart: tinyxp sub ../jobs/sge.sh   (--dry-run to see the job scripts)
# one job array of 10 tasks, at most 5 at once (xp.max_parallel limits array tasks only)
#$ -l h_rt=02:00:00
#$ -pe smp 4
#$ -q gpu.q
module load python
python train.py +sweep 'seed=range(10)' xp.array=true xp.max_parallel=5
