#!/bin/bash
# Issue 19's scaling tables on a many-core machine, in one run: the check this project's 2-core
# machines cannot make (docs/performance.md, "Using every core"). Made for the `device` tool's
# lent machines (16 cores, Python 3.12, no package index), and fine on any Linux machine.
#
#   bash bench/device_scaling.sh            # from the repository root; tables into $OUT
#
# It generates its captures in $DATA (default /tmp/ikedecode-scaling; about 5 GB with the
# defaults) and runs, each table written to $OUT (default ./device-scaling) as soon as it is done:
#   1. bench/machine.py: the CPU check and the OpenSSL per-core ceilings;
#   2. bench/esp_bench.py at the size (600,000 packets of 1,400 bytes), aes128-cbc +
#      hmac-sha1-96 and aes128-gcm-16, --jobs 1 2 4 8 16, fastest of 2;
#   3. the same for aes128-cbc + hmac-sha1-96 at 2,400,000 packets (3.4 GB), where the serial
#      start-up weighs a quarter as much;
#   4. bench/ike_bench.py, IKEv1 and IKEv2, 10,000 SAs with g^xy keys, one core.
# 6.5 minutes on this project's 2-core machine with the defaults (2.2 of them generating the
# captures); set PACKETS, BIG_PACKETS, SAS, JOBS to change the sizes.
#
# The lent machines lack `cryptography` (and its `cffi`, `pycparser`); carry their wheels for the
# machine's Python in .whl/ (the `device` tool: carry [".whl"]). Made here with:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#       --platform manylinux2014_x86_64 -d .whl cryptography==50.0.2 cffi==2.1.1 pycparser==3.12
# They are installed into /tmp/site only where `cryptography` cannot be imported.
set -uo pipefail

py=${PYTHON:-python3}
out=${OUT:-device-scaling}
data=${DATA:-/tmp/ikedecode-scaling}
packets=${PACKETS:-600000}
big_packets=${BIG_PACKETS:-2400000}
sas=${SAS:-10000}
jobs=${JOBS:-1 2 4 8 16}
mkdir -p "$out" "$data"
export PYTHONUNBUFFERED=1
unset PYTHONDONTWRITEBYTECODE  # every run but the first reads compiled bytecode, as installed

if ! "$py" -c "import cryptography" 2>/dev/null; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || { echo "no cryptography and no wheels in .whl/"; exit 2; }
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

{
    date -u
    echo "cores: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
    "$py" -V
    "$py" -c "import cryptography, ssl; print('cryptography', cryptography.__version__, ssl.OPENSSL_VERSION)"
    git log --oneline -1 2>/dev/null
    "$py" bench/machine.py
} 2>&1 | tee "$out/machine.txt"

# shellcheck disable=SC2086  # the jobs are words
"$py" bench/esp_bench.py --packets "$packets" --suite aes128-cbc+hmac-sha1-96 --suite aes128-gcm-16 \
    --jobs $jobs --keep "$data" --no-tshark --repeat 2 2>&1 | tee "$out/esp-$packets.txt"
# shellcheck disable=SC2086
"$py" bench/esp_bench.py --packets "$big_packets" --suite aes128-cbc+hmac-sha1-96 \
    --jobs $jobs --keep "$data" --no-tshark --repeat 1 2>&1 | tee "$out/esp-$big_packets.txt"
for version in 1 2; do
    "$py" bench/ike_bench.py --version "$version" --sas "$sas" --exponent-bits 256 --dh-jobs 1 \
        --repeat 2 --keep "$data" 2>&1 | tee "$out/ike-v$version.txt"
done
