// Version of ctldb and of the libraries it runs with.
#pragma once

#include <string>

namespace ctldb {

/// "0.1.0"
const char* version();
/// "ctldb 0.1.0 (abc1234), libpq 15.18, OpenSSL 3.0.19 ..."
std::string version_line();

}  // namespace ctldb
