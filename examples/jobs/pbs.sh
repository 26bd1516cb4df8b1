#!/bin/bash
# Run from examples/quickstart: tinyxp sub ../jobs/pbs.sh   (--dry-run to see the job scripts)
#PBS -l select=1:ncpus=8:ngpus=1
#PBS -l walltime=04:00:00
#PBS -q gpu
# tinyxp sub pbs.sh                      PBS Pro (-J arrays)
# tinyxp sub --scheduler torque pbs.sh   Torque (-t arrays)
module load python
python train.py +sweep optimizer.lr=1e-2,1e-3,1e-4
