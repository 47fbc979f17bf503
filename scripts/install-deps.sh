#!/usr/bin/env bash
# Installs the Debian packages Frontier builds against. Idempotent: installs only what is
# missing, runs `apt-get update` first when it has something to install.
set -euo pipefail
packages=(libopenblas-dev libzmq3-dev libsqlite3-dev protobuf-compiler pkg-config python3 python3-pip python3-venv python3-zmq python3-protobuf unzip iproute2 slurm-wlm munge)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
