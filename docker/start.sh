#!/bin/sh
# Starts the compiled engine with a V8 heap limit that follows the container's memory: 3/4 of the
# cgroup limit (v2, then v1), HEAP_MB when set, V8's own default when there is no limit. `exec`
# makes node this process, so the init's SIGTERM reaches the engine, which drains and flushes.
set -eu
limit=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || echo max)
heap=${HEAP_MB:-}
if [ -z "$heap" ]; then
  case "$limit" in
    '' | max | *[!0-9]*) heap= ;;
    *) heap=$((limit / 1048576 * 3 / 4)) ;;
  esac
  # cgroup v1 reports "no limit" as a huge number: leave V8 its default then.
  if [ -n "$heap" ] && [ "$heap" -gt 65536 ]; then heap=; fi
fi
exec node ${heap:+--max-old-space-size=$heap} --max-semi-space-size=64 --no-allocation-site-pretenuring dist/src/main.js
