#!/bin/sh
# berth's main job, end to end: start dockerd on a private socket and data root, make an image
# from busybox-static (`docker import` of a busybox root file system), run containers that print
# something, show `docker ps -a`, then stop and remove everything started here.
#
# Needs root (a daemon and containers). Uses the Docker CLI found as $DOCKER, /usr/local/bin/docker
# or `docker` on PATH; busybox-static is installed with apt-get if it is missing. Nothing is
# pulled from the internet: the image is made here.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/target/berth
[ -x "$B" ] || { echo "demo: $B is missing: run 'make build' (make demo does)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "demo: run as root: it starts a daemon and containers" >&2; exit 1; }

DOCKER=${DOCKER:-}
[ -n "$DOCKER" ] || { [ -x /usr/local/bin/docker ] && DOCKER=/usr/local/bin/docker; } || true
[ -n "$DOCKER" ] || DOCKER=$(command -v docker || true)
[ -n "$DOCKER" ] || { echo "demo: no Docker CLI found (set DOCKER=/path/to/docker)" >&2; exit 1; }

BUSYBOX=""
for p in /bin/busybox /usr/bin/busybox; do [ -x "$p" ] && BUSYBOX=$p && break; done
if [ -z "$BUSYBOX" ] || ! file -L "$BUSYBOX" 2>/dev/null | grep -q "statically linked"; then
    echo "== installing busybox-static"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends busybox-static >/dev/null
    BUSYBOX=/bin/busybox
fi

T=$(mktemp -d /tmp/berth-demo.XXXXXX)
SOCK=$T/docker.sock
DPID=""
export DOCKER_HOST=unix://$SOCK DOCKER_CONFIG=$T/docker-config
unset DOCKER_API_VERSION DOCKER_CONTEXT

cleanup() {
    set +e
    if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
        ids=$("$DOCKER" ps -aq 2>/dev/null)
        [ -n "$ids" ] && "$DOCKER" rm -f $ids >/dev/null 2>&1
        kill -TERM "$DPID"
        wait "$DPID" 2>/dev/null
    fi
    # Anything still mounted below the demo directory (nothing, normally).
    grep " $T/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

echo "== berth $("$B" --version 2>/dev/null | head -1 || true)"
mkdir -p "$T/bin"
"$B" --install "$T/bin" >/dev/null

echo "== starting dockerd on $SOCK (data root $T/data)"
"$T/bin/dockerd" -H "unix://$SOCK" --data-root "$T/data" --exec-root "$T/exec" --pidfile "$T/dockerd.pid" >"$T/dockerd.log" 2>&1 &
DPID=$!
i=0
until "$DOCKER" version >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$DPID" 2>/dev/null; then
        echo "demo: dockerd did not come up:" >&2
        cat "$T/dockerd.log" >&2
        exit 1
    fi
    sleep 0.1
done
"$DOCKER" version --format 'client {{.Client.Version}} (API {{.Client.APIVersion}}) -> server {{.Server.Version}} (API {{.Server.APIVersion}})'

echo "== making an image from $BUSYBOX"
R=$T/rootfs
mkdir -p "$R/bin" "$R/sbin" "$R/etc" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/root" "$R/usr/bin"
cp "$BUSYBOX" "$R/bin/busybox"
for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
tar -C "$R" -cf "$T/rootfs.tar" .
"$DOCKER" import --change 'CMD ["/bin/sh"]' "$T/rootfs.tar" berth-demo/busybox:latest
"$DOCKER" images

echo "== docker run"
"$DOCKER" run --name hello berth-demo/busybox:latest echo "Hello from a container run by berth"
"$DOCKER" run --rm berth-demo/busybox:latest sh -c 'echo "in $(hostname): $(id -un), pid $$, $(ls /sys/class/net | wc -l) network interface(s)"'
"$DOCKER" run -d --name sleeper berth-demo/busybox:latest sleep 60 >/dev/null

echo "== docker ps -a"
"$DOCKER" ps -a

echo "== stopping everything this demo started"
