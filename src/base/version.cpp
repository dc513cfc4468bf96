#include "base/version.hpp"

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "build_info.hpp"

namespace ctldb {

const char* version() {
    return CTLDB_VERSION;
}

std::string version_line() {
    const int pq = PQlibVersion();  // e.g. 150018
    return std::string("ctldb ") + CTLDB_VERSION + " (" + CTLDB_GIT_COMMIT + "), libpq " +
           std::to_string(pq / 10000) + "." + std::to_string(pq % 100) + ", " +
           OpenSSL_version(OPENSSL_VERSION);
}

}  // namespace ctldb
