#!/usr/bin/env bash
# The main job on embedded defaults: a local Janus room with two synthetic
# participants, a worker with its embedded Kafka broker, two 10 s recordings
# written to ./out/, and a summary of each file. Needs root (it creates a
# network namespace for the media, and removes it afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/egress ] || bash scripts/setup.sh
exec /usr/bin/python3 scripts/demo.py "$@"
