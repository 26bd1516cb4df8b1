#!/bin/bash
# Run from examples/quickstart: tinyxp sub ../jobs/oar.sh   (--dry-run to see the job scripts)
#OAR -l /nodes=1/gpu=1,walltime=2:00:00
#OAR -p gpu_count > 0
# tinyxp sub oar.sh   (OAR arrays have no throttle: leave xp.max_parallel unset)
module load conda
conda activate train
python train.py +sweep model=linear,poly seed=0,1
