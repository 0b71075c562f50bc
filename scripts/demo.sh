#!/bin/sh
# berth's main job, end to end: start dockerd on a private socket and data root, make an image from
# busybox-static, run a container, show `docker ps -a`, stop everything started here.
# Until the daemon and containers land (issues 4 and 5), this shows what the binary does today.
set -eu
B=$(cd "$(dirname "$0")/.." && pwd)/target/berth
T=$(mktemp -d /tmp/berth-demo.XXXXXX)
trap 'rm -rf "$T"' EXIT
"$B" --install "$T"
echo "== roles installed as symlinks in $T"; ls -l "$T" | sed 1d
for r in docker dockerd containerd runc; do echo "== $r --version"; "$T/$r" --version; done
