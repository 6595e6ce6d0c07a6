#!/bin/sh
# Session 3 Dec 2026, 16:57 UTC: DSPN Table 1 analogue, then the Top-n Table 1 re-run (drop-last batches).
cd /work/wt/dspn-tspn/examples/set-prediction-mnist
O=/work/runs-dspn-tspn/study2
COMMON="--dspn-steps 120 --tspn-steps 120 --seeds 0,1,2 --out $O"
nice -n 10 node dist/main.js --study --models dspn --creations first-n $COMMON &&
nice -n 10 node dist/main.js --models dspn --creations top-n,iid $COMMON &&
nice -n 10 node dist/main.js --models tspn --creations first-n,top-n,iid $COMMON
