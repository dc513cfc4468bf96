#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "doctor/doctor.hpp"

using namespace ctldb;
using namespace ctldb::doctor;

TEST_CASE("doctor refuses names that are not checks") {
    doctor::Options o;
    o.only = {"tls", "nonsense"};
    CHECK_THROWS_AS(doctor::validate(o), Error);
    o.only = {"tls"};
    o.skip = {"backups"};
    CHECK_NOTHROW(doctor::validate(o));
    CHECK(doctor::checks().size() >= 13);
}
