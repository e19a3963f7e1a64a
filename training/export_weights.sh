#!/usr/bin/env bash
# The weights a run is exported with, copied into DIR as a run folder
# (opt.txt, iter.txt, latest_net_G.pth, latest_net_E.pth when it has one), so
# that recalibrating them leaves the run as it was: the weights' moving
# average when the run kept one (--ema), unless WEIGHTS=live asks for the
# last step's.
#   training/export_weights.sh RUN DIR
set -euo pipefail
RUN=$1
DIR=$2
mkdir -p "$DIR"
cp "$RUN"/opt.txt "$RUN"/iter.txt "$DIR"/
suffix=
[ -f "$RUN/latest_net_G_ema.pth" ] && [ "${WEIGHTS:-average}" = average ] && suffix=_ema
for net in G E; do
  [ ! -f "$RUN/latest_net_$net$suffix.pth" ] || cp "$RUN/latest_net_$net$suffix.pth" "$DIR/latest_net_$net.pth"
done
if [ -n "$suffix" ]; then echo "exporting $RUN's averaged weights (--ema)" >&2
else echo "exporting $RUN's weights (last step)" >&2; fi
