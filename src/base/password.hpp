// The guide's password policy: at least 16 characters with upper case,
// lower case, digits and special characters.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace ctldb {

/// What `password` lacks under the policy; empty when it complies.
std::vector<std::string> password_policy_gaps(const std::string& password);

/// A random password of `length` (>= 16) characters that meets the policy,
/// from the OpenSSL CSPRNG. Its specials are shell- and conninfo-safe.
std::string generate_password(std::size_t length = 24);

}  // namespace ctldb
