#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "metrics/http_server.hpp"
#include "metrics/metrics.hpp"

using namespace ctldb;
using namespace ctldb::metrics;

TEST_CASE("metrics: HELP and TYPE once per family, only with samples, labels escaped") {
    metrics::Exposition x;
    x.gauge("a_bytes", "A", 1, {{"table", "we\"ird\\na\nme"}});
    x.counter("b_total", "B", 2.5);
    x.gauge("a_bytes", "A", 3e15, {{"table", "t"}});
    const std::string t = x.text();
    CHECK(t ==
          "# HELP a_bytes A\n# TYPE a_bytes gauge\n"
          "a_bytes{table=\"we\\\"ird\\\\na\\nme\"} 1\n"
          "a_bytes{table=\"t\"} 3e+15\n"
          "# HELP b_total B\n# TYPE b_total counter\nb_total 2.5\n");
    CHECK(x.families() == 2);
    CHECK(x.samples() == 3);
    CHECK(metrics::Exposition().text().empty());
}

TEST_CASE("metrics: the reason a connection failed, as a label") {
    CHECK(metrics::failure_reason("connection to server at \"h\" failed: Connection refused") ==
          "refused");
    CHECK(metrics::failure_reason("timeout expired") == "timeout");
    CHECK(metrics::failure_reason("could not translate host name \"x\"") == "dns");
    CHECK(metrics::failure_reason("FATAL: password authentication failed for user") ==
          "authentication");
    CHECK(metrics::failure_reason("FATAL: the database system is shutting down") ==
          "server_unavailable");
    CHECK(metrics::failure_reason("SSL error: certificate verify failed") == "tls");
    CHECK(metrics::failure_reason("something else") == "other");
}

TEST_CASE("metrics serve: --listen and request lines") {
    CHECK(metrics::http::parse_listen("127.0.0.1:9187").port == 9187);
    CHECK(metrics::http::parse_listen("[::1]:0").host == "::1");
    CHECK(metrics::http::parse_listen("[::1]:80").text() == "[::1]:80");
    for (const char* bad : {"9187", "localhost:9187", "127.0.0.1:", "127.0.0.1:99999", ":9187",
                            "127.0.0.1:9187:1", "[::1]9187", "127.0.0.1:-1"})
        CHECK_THROWS_AS(metrics::http::parse_listen(bad), Error);
    std::string m, p;
    CHECK(metrics::http::parse_request_line("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", m, p));
    CHECK(m == "GET");
    CHECK(p == "/metrics");
    CHECK_FALSE(metrics::http::parse_request_line("GET /metrics\r\n\r\n", m, p));
    CHECK_FALSE(metrics::http::parse_request_line("GET  HTTP/1.1\r\n\r\n", m, p));
    CHECK_FALSE(metrics::http::parse_request_line("GET / HTTP/2.0\r\n\r\n", m, p));
}
