// Row reads a result column by column, typed: built here without a server
// (libpq's PQmakeEmptyPGresult/PQsetvalue make a result as the server sends one).
#include <doctest/doctest.h>

#include <libpq-fe.h>
#include <cstring>

#include "pg/connection.hpp"

using namespace ctldb;
using namespace ctldb::pg;

namespace {

/// A one-row result of text columns; nullptr values are SQL NULL.
QueryResult result_of(const std::vector<const char*>& values) {
    PGresult* r = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
    std::vector<PGresAttDesc> attrs(values.size());
    std::vector<std::string> names;
    names.reserve(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        names.push_back("c" + std::to_string(i));
        attrs[i] = PGresAttDesc{};
        attrs[i].name = names.back().data();
        attrs[i].typlen = -1;
    }
    REQUIRE(PQsetResultAttrs(r, static_cast<int>(attrs.size()), attrs.data()) == 1);
    for (std::size_t i = 0; i < values.size(); ++i) {
        char* v = const_cast<char*>(values[i]);
        REQUIRE(PQsetvalue(r, 0, static_cast<int>(i), v,
                           values[i] ? static_cast<int>(std::strlen(values[i])) : -1) == 1);
    }
    return QueryResult(r);
}

}  // namespace

TEST_CASE("Row: each read takes the next column, typed, NULL as nullopt") {
    const QueryResult r = result_of({"users", "42", "t", "f", nullptr, "2.5", nullptr, "7", nullptr,
                                     "2026-12-03T00:00:00Z", "-3.5"});
    Row row(r, 0);
    CHECK(row.text() == "users");
    CHECK(row.int64() == 42);
    CHECK(row.flag());
    CHECK_FALSE(row.flag());
    CHECK(row.next_is_null());
    CHECK_FALSE(row.optional_int64().has_value());
    CHECK(row.real() == doctest::Approx(2.5));
    CHECK_FALSE(row.optional_flag().has_value());
    CHECK(row.optional_int64() == 7);
    CHECK_FALSE(row.optional().has_value());
    CHECK(row.optional() == "2026-12-03T00:00:00Z");
    CHECK(row.optional_real() == doctest::Approx(-3.5));
}
