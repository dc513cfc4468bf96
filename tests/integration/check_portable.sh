#!/usr/bin/env bash
# The release binary's direct dependencies are only those DESIGN.md allows,
# so it runs in the stock postgres:15 image and a Debian-slim pod.
set -euo pipefail
: "${CTLDB:?}"
# ld-linux-x86-64.so.2 is the program interpreter every dynamic binary is
# loaded by (PT_INTERP); it appears as NEEDED because libpg_query.a's TLS
# accesses name __tls_get_addr even after the linker relaxed them away. It
# adds no dependency: see docs/decisions.md.
allowed='^(libpq\.so\.5|libssl\.so\.3|libcrypto\.so\.3|libz\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libm\.so\.6|libc\.so\.6|ld-linux-x86-64\.so\.2)$'
bad=0
while read -r lib; do
    if [[ $lib =~ $allowed ]]; then
        echo "ok - NEEDED $lib"
    else
        echo "FAIL - NEEDED $lib is not allowed"
        bad=1
    fi
done < <(readelf -d "$CTLDB" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
# And it must really be the interpreter, not a second loader.
if readelf -d "$CTLDB" | grep -q 'ld-linux-x86-64'; then
    if readelf -l "$CTLDB" | grep -q 'program interpreter: /lib64/ld-linux-x86-64.so.2'; then
        echo "ok - ld-linux-x86-64.so.2 is the program interpreter"
    else
        echo "FAIL - ld-linux-x86-64.so.2 needed but not the interpreter"
        bad=1
    fi
fi
exit $bad
