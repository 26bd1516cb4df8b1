#!/bin/bash
# Run from examples/quickstart: tinyxp sub ../jobs/lsf.sh   (--dry-run to see the job scripts)
#BSUB -W 120
#BSUB -n 4
#BSUB -q gpu
#BSUB -gpu "num=1"
module load python
python train.py +sweep optimizer.lr=1e-3,1e-4 seed=0,1
