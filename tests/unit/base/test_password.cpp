#include <doctest/doctest.h>

#include <set>

#include "base/password.hpp"

using namespace ctldb;

TEST_CASE("password policy: 16+ characters, upper, lower, digit, special") {
    CHECK(password_policy_gaps("Abcdefghijklmn1!").empty());
    CHECK(password_policy_gaps("Abcdefghijklm1!").size() == 1);  // 15 characters
    CHECK(password_policy_gaps("abcdefghijklmno1!").size() == 1);
    CHECK(password_policy_gaps("ABCDEFGHIJKLMNO1!").size() == 1);
    CHECK(password_policy_gaps("Abcdefghijklmnop!").size() == 1);
    CHECK(password_policy_gaps("Abcdefghijklmnop1").size() == 1);
    CHECK(password_policy_gaps("strong_password").size() == 3);  // the guide's own example
    CHECK(password_policy_gaps("").size() == 5);
}

TEST_CASE("generated passwords meet the policy and differ") {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        std::string pw = generate_password(24);
        CHECK(pw.size() == 24);
        CHECK(password_policy_gaps(pw).empty());
        CHECK(pw.find_first_of("'\"\\ $`") == std::string::npos);
        seen.insert(pw);
    }
    CHECK(seen.size() == 200);
    CHECK(generate_password(4).size() == 16);
}
