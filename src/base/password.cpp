#include "base/password.hpp"

#include <openssl/rand.h>

#include <cctype>
#include <string_view>

#include "base/error.hpp"

namespace ctldb {

std::vector<std::string> password_policy_gaps(const std::string& password) {
    std::vector<std::string> gaps;
    bool upper = false, lower = false, digit = false, special = false;
    for (unsigned char ch : password) {
        if (std::isupper(ch)) {
            upper = true;
        } else if (std::islower(ch)) {
            lower = true;
        } else if (std::isdigit(ch)) {
            digit = true;
        } else {
            special = true;
        }
    }
    if (password.size() < 16) {
        gaps.push_back("shorter than 16 characters (" + std::to_string(password.size()) + ")");
    }
    if (!upper) gaps.emplace_back("no upper-case letter");
    if (!lower) gaps.emplace_back("no lower-case letter");
    if (!digit) gaps.emplace_back("no digit");
    if (!special) gaps.emplace_back("no special character");
    return gaps;
}

namespace {
unsigned random_below(unsigned n) {
    // Rejection sampling: no modulo bias.
    const unsigned limit = 256U - (256U % n);
    unsigned char b = 0;
    do {
        if (RAND_bytes(&b, 1) != 1) throw failure("OpenSSL random generator failed");
    } while (b >= limit);
    return b % n;
}
}  // namespace

std::string generate_password(std::size_t length) {
    static constexpr std::string_view upper = "ABCDEFGHJKLMNPQRSTUVWXYZ";
    static constexpr std::string_view lower = "abcdefghijkmnopqrstuvwxyz";
    static constexpr std::string_view digits = "23456789";
    static constexpr std::string_view special = "-_.+=%@";
    static const std::string all =
        std::string(upper) + std::string(lower) + std::string(digits) + std::string(special);
    if (length < 16) length = 16;
    std::string pw;
    pw += upper[random_below(upper.size())];
    pw += lower[random_below(lower.size())];
    pw += digits[random_below(digits.size())];
    pw += special[random_below(special.size())];
    while (pw.size() < length)
        pw += all[random_below(all.size())];
    // Shuffle so the guaranteed classes are not always in front.
    for (std::size_t i = pw.size() - 1; i > 0; --i) {
        std::swap(pw[i], pw[random_below(static_cast<unsigned>(i + 1))]);
    }
    return pw;
}

}  // namespace ctldb
