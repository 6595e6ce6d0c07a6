#!/bin/sh
# Session 3 Dec 2026, 19:20 UTC: MLP creation for DSPN and TSPN (Top-n Table 1 + MLP), same settings as run.sh.
# One process; finished runs are skipped and unfinished ones resume from checkpoints/, so re-running resumes.
cd /work/wt/dspn-tspn/examples/set-prediction-mnist
O=/work/runs-dspn-tspn/study2
COMMON="--dspn-steps 120 --tspn-steps 120 --seeds 0,1,2 --out $O"
exec nice -n 10 node dist/main.js --models dspn,tspn --creations mlp $COMMON
