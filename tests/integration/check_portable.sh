#!/usr/bin/env bash
# The release binary's direct dependencies are only those DESIGN.md allows,
# so it runs in the stock postgres:15 image and a Debian-slim pod.
set -euo pipefail
: "${CTLDB:?}"
allowed='^(libpq\.so\.5|libssl\.so\.3|libcrypto\.so\.3|libz\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libm\.so\.6|libc\.so\.6)$'
bad=0
while read -r lib; do
    if [[ $lib =~ $allowed ]]; then
        echo "ok - NEEDED $lib"
    else
        echo "FAIL - NEEDED $lib is not allowed"
        bad=1
    fi
done < <(readelf -d "$CTLDB" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
exit $bad
