#!/bin/bash
# Run from examples/quickstart: tinyxp sub ../jobs/sge.sh   (--dry-run to see the job scripts)
#$ -l h_rt=02:00:00
#$ -pe smp 4
#$ -q gpu.q
module load python
python train.py +sweep 'seed=range(10)' xp.max_parallel=5
