// The plain-dump scanner: statements split where psql would split them,
// COPY data passed through, backslash commands reported, the same events
// whatever the chunk sizes.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "pg/dump_scanner.hpp"

using namespace ctldb;
using namespace ctldb::pg;

namespace {

struct Recorder : DumpHandler {
    std::vector<std::string> events;
    std::string copy;
    bool statement(std::string_view sql, std::uint64_t line, std::string_view first,
                   std::string_view) override {
        events.push_back("SQL@" + std::to_string(line) + " " + std::string(first) + ": " +
                         std::string(sql));
        return first == "COPY";
    }
    void meta_command(std::string_view text, std::uint64_t line, bool own_line) override {
        events.push_back("META@" + std::to_string(line) + (own_line ? " own: " : " inline: ") +
                         std::string(text));
    }
    void copy_data(const char* d, std::size_t n) override { copy.append(d, n); }
    void copy_end(std::uint64_t line) override {
        events.push_back("COPY@" + std::to_string(line) + " " + copy);
        copy.clear();
    }
};

std::vector<std::string> scan(const std::string& text, std::size_t chunk = 0,
                              bool* marker = nullptr) {
    Recorder r;
    DumpScanner s(r);
    if (chunk == 0) {
        s.feed(text.data(), text.size());
    } else {
        for (std::size_t i = 0; i < text.size(); i += chunk)
            s.feed(text.data() + i, std::min(chunk, text.size() - i));
    }
    s.finish();
    if (marker) *marker = s.saw_marker();
    return r.events;
}

const std::string kDump =
    "--\n-- PostgreSQL database dump\n--\n\n"
    "\\restrict abc123\n\n"
    "SET standard_conforming_strings = on;\n"
    "CREATE FUNCTION public.f() RETURNS text LANGUAGE plpgsql AS $_$\n"
    "BEGIN RETURN 'a;b'; END; $_$;\n"
    "CREATE FUNCTION public.g() RETURNS int LANGUAGE sql\n"
    "BEGIN ATOMIC\n SELECT CASE WHEN true THEN 1 ELSE 2 END;\n SELECT 2;\nEND;\n"
    "COMMENT ON TABLE public.t IS 'it''s; /* not */ -- a comment';\n"
    "SELECT E'a\\';b', \"we;ird\", /* a /* nested; */ comment */ 1;\n"
    "COPY public.t (a, b) FROM stdin;\n"
    "1\tx;y\n2\t\\\\.\n\\.\n"
    "CREATE RULE r AS ON INSERT TO public.t DO INSTEAD (SELECT 1; SELECT 2);\n"
    "--\n-- PostgreSQL database dump complete\n--\n\n"
    "\\unrestrict abc123\n\n";

}  // namespace

TEST_CASE("a pg_dump-shaped script splits into psql's statements") {
    bool marker = false;
    const auto ev = scan(kDump, 0, &marker);
    REQUIRE(ev.size() == 10);
    CHECK(ev[0] == "META@5 own: \\restrict abc123");
    CHECK(ev[1] == "SQL@7 SET: SET standard_conforming_strings = on");
    CHECK(ev[2].find("SQL@8 CREATE: CREATE FUNCTION public.f()") == 0);
    CHECK(ev[2].find("END; $_$") != std::string::npos);
    CHECK(ev[3].find("SQL@10 CREATE: CREATE FUNCTION public.g()") == 0);
    CHECK(ev[3].find("SELECT 2;\nEND") != std::string::npos);  // BEGIN ATOMIC body kept whole
    CHECK(ev[4].find("SQL@15 COMMENT:") == 0);
    CHECK(ev[5].find("SQL@16 SELECT: SELECT E'a\\';b'") == 0);
    CHECK(ev[6] == "SQL@17 COPY: COPY public.t (a, b) FROM stdin");
    CHECK(ev[7] == "COPY@20 1\tx;y\n2\t\\\\.\n");
    CHECK(ev[8].find("SQL@21 CREATE: CREATE RULE") == 0);
    CHECK(ev[8].find("SELECT 2)") != std::string::npos);
    CHECK(ev[9] == "META@26 own: \\unrestrict abc123");
    CHECK(marker);
}

TEST_CASE("the events do not depend on how the input is cut") {
    const auto whole = scan(kDump);
    for (std::size_t chunk : {1, 2, 3, 5, 7, 64}) {
        CAPTURE(chunk);
        CHECK(scan(kDump, chunk) == whole);
    }
    std::mt19937 rng(7);
    for (int round = 0; round < 50; ++round) {
        Recorder r;
        DumpScanner s(r);
        std::size_t i = 0;
        while (i < kDump.size()) {
            const std::size_t n = std::min<std::size_t>(1 + rng() % 40, kDump.size() - i);
            s.feed(kDump.data() + i, n);
            i += n;
        }
        s.finish();
        CHECK(r.events == whole);
    }
}

TEST_CASE("backslash commands are reported, inline ones as such") {
    auto ev = scan("SELECT 1;\n\\! id\nSELECT 2 \\gexec\n;\n");
    REQUIRE(ev.size() >= 2);
    CHECK(ev[0] == "SQL@1 SELECT: SELECT 1");
    CHECK(ev[1] == "META@2 own: \\! id");
    CHECK(ev[2] == "META@3 inline: \\gexec");
    // Inside quotes, comments and COPY data a backslash is data.
    ev = scan("SELECT '\\! no';\n-- \\! no\n/* \\! no */\nCOPY t FROM stdin;\n\\! data\n\\.\n");
    for (const auto& e : ev)
        CHECK(e.find("META") == std::string::npos);
}

TEST_CASE("the closing marker counts only between statements") {
    bool marker = true;
    scan("SELECT 1;\n", 0, &marker);
    CHECK_FALSE(marker);
    scan("SELECT 1 -- PostgreSQL database dump complete\n;\n", 0, &marker);
    CHECK_FALSE(marker);
    scan("SELECT '\n-- PostgreSQL database dump complete\n';\n", 0, &marker);
    CHECK_FALSE(marker);
    scan("COPY t FROM stdin;\n-- PostgreSQL database dump complete\n\\.\n", 0, &marker);
    CHECK_FALSE(marker);
    scan("SELECT 1;\n-- PostgreSQL database dump complete\n", 0, &marker);
    CHECK(marker);
}

TEST_CASE("truncated input is an error at finish") {
    for (const char* text : {"SELECT 1", "SELECT 'abc;", "COPY t FROM stdin;\n1\n",
                             "SELECT $$ body;", "/* open comment", "COPY t FROM stdin;"}) {
        CAPTURE(text);
        Recorder r;
        DumpScanner s(r);
        s.feed(text, std::strlen(text));
        CHECK_THROWS_AS(s.finish(), Error);
    }
}

TEST_CASE("COPY needs its data on the next line, and statements are bounded") {
    Recorder r;
    DumpScanner s(r);
    const std::string text = "COPY t FROM stdin; SELECT 1;\n";
    CHECK_THROWS_AS(s.feed(text.data(), text.size()), Error);

    Recorder r2;
    DumpScanner small(r2, 1024);
    const std::string big = "SELECT '" + std::string(4096, 'x');
    CHECK_THROWS_AS(small.feed(big.data(), big.size()), Error);
}

TEST_CASE("long COPY data streams in bounded memory and linear time") {
    Recorder r;
    struct Counter : DumpHandler {
        std::uint64_t bytes = 0, ends = 0;
        bool statement(std::string_view, std::uint64_t, std::string_view first,
                       std::string_view) override {
            return first == "COPY";
        }
        void meta_command(std::string_view, std::uint64_t, bool) override {}
        void copy_data(const char*, std::size_t n) override { bytes += n; }
        void copy_end(std::uint64_t) override { ++ends; }
    } c;
    DumpScanner s(c);
    const std::string head = "COPY t FROM stdin;\n";
    s.feed(head.data(), head.size());
    const std::string rows = [] {
        std::string out;
        for (int i = 0; i < 10000; ++i)
            out += std::to_string(i) + "\tsome text\n";
        return out;
    }();
    for (int i = 0; i < 200; ++i)
        s.feed(rows.data(), rows.size());
    const std::string tail = "\\.\n";
    s.feed(tail.data(), tail.size());
    s.finish();
    CHECK(c.bytes == rows.size() * 200);
    CHECK(c.ends == 1);
    CHECK(s.line() == 2 + 10000u * 200 + 1);
}

TEST_CASE("standard_conforming_strings off makes backslashes escape in '' strings") {
    const auto ev = scan(
        "SET standard_conforming_strings = off;\nSELECT 'a\\';b';\n"
        "SET standard_conforming_strings = on;\nSELECT 'c\\';\n");
    REQUIRE(ev.size() == 4);
    CHECK(ev[1] == "SQL@2 SELECT: SELECT 'a\\';b'");
    CHECK(ev[3] == "SQL@4 SELECT: SELECT 'c\\'");
}
