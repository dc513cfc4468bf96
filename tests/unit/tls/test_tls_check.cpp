#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tls/tls_check.hpp"

using namespace ctldb;
using namespace ctldb::tls;

TEST_CASE("certificate expiry is classified against both thresholds") {
    using tls::Expiry;
    CHECK(tls::classify_expiry(-1, 30, 7) == Expiry::expired);
    CHECK(tls::classify_expiry(0, 30, 7) == Expiry::critical);
    CHECK(tls::classify_expiry(6, 30, 7) == Expiry::critical);
    CHECK(tls::classify_expiry(7, 30, 7) == Expiry::warning);
    CHECK(tls::classify_expiry(29, 30, 7) == Expiry::warning);
    CHECK(tls::classify_expiry(30, 30, 7) == Expiry::ok);
}

TEST_CASE("non-TLS clients: counted when visible, unknown when only others' are hidden") {
    pg::probe::Activity a;
    pg::probe::Session local, plain, tls, hidden;
    local.client = "local";
    local.ssl = false;
    plain.client = "10.0.0.5";
    plain.ssl = false;
    tls.client = "10.0.0.6";
    tls.ssl = true;
    hidden.visible = false;
    a.sessions = {local, tls};
    CHECK(non_tls_clients(a).count == 0);
    a.sessions = {local, plain, tls, hidden};
    auto n = non_tls_clients(a);
    CHECK(n.count == 1);
    CHECK(n.hidden == 1);
    a.sessions = {local, tls, hidden};
    CHECK_FALSE(non_tls_clients(a).count);
    a.all_stats = true;
    CHECK(non_tls_clients(a).count == 0);
}
