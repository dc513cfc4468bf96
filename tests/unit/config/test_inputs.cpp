// Inputs ctldb reads: special files named, never waited on; YAML keys given
// twice found with their lines; table cells and errors shown escaped; an
// expired certificate's hint says it expired.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/fs.hpp"
#include "base/output.hpp"
#include "config/config.hpp"
#include "pg/connection.hpp"

using namespace ctldb;
using namespace ctldb::config;
using namespace ctldb::pg;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/ctldb-unit-XXXXXX";
        path = ::mkdtemp(t);
    }
    ~TempDir() { fs::remove_tree(path); }
};

}  // namespace

TEST_CASE("input files: a FIFO, a directory, a socket, a file too large are named") {
    TempDir d;
    const std::string fifo = d.path + "/fifo", dir = d.path + "/dir", sock = d.path + "/sock",
                      big = d.path + "/big", ok = d.path + "/ok";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
    const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
    REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    fs::write_new(big, std::string(2048, 'x'), 0600);
    fs::write_new(ok, "hello", 0600);
    CHECK(fs::input_problem(fifo, 1024).find("a FIFO") != std::string::npos);
    CHECK(fs::input_problem(dir, 1024).find("a directory") != std::string::npos);
    CHECK(fs::input_problem(sock, 1024).find("a socket") != std::string::npos);
    CHECK(fs::input_problem(big, 1024).find("2048 bytes") != std::string::npos);
    CHECK(fs::input_problem(ok, 1024).empty());
    CHECK(fs::read_file(ok, 1024) == "hello");
    CHECK_THROWS_AS(fs::read_file(fifo, 1024), Error);
    try {
        fs::read_file(fifo, 1024, ExitCode::usage);
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::usage);
    }
    ::close(s);
}

TEST_CASE("a YAML key given twice is found with both lines") {
    const auto twice = duplicate_yaml_keys(
        "kind: ConfigMap\ndata:\n  NODE_ENV: production\n  DB_HOST: h\n  NODE_ENV: development\n");
    REQUIRE(twice.size() == 1);
    CHECK(twice[0] == "key 'NODE_ENV' is given twice, on line 3 and line 5; remove one");
    // The same key in two different maps, a list of maps, and a second
    // document are not duplicates.
    CHECK(
        duplicate_yaml_keys("a:\n  x: 1\nb:\n  x: 2\nl:\n  - x: 1\n  - x: 2\n---\na: 3\n").empty());
    CHECK(duplicate_yaml_keys("database:\n  ssl:\n    mode: a\n    mode: b\n").size() == 1);
    CHECK(duplicate_yaml_keys("{a: 1, a: 2}").size() == 1);
}

TEST_CASE("table cells and their control characters") {
    Table t({"NAME"});
    t.add_row({"evil\nFORGED ROW"});
    t.add_row({"\x1b[2Jclear"});
    const std::string out = t.render();
    CHECK(out.find("\nFORGED") == std::string::npos);
    CHECK(out.find('\x1b') == std::string::npos);
    CHECK(out.find("evil\\nFORGED ROW") != std::string::npos);
}

TEST_CASE("an expired certificate's hint says expired") {
    ConnectionSettings s;
    s.host = "db";
    s.user = "app";
    s.sslrootcert = "/etc/ca.crt";
    const Error e =
        connection_error("SSL error: certificate verify failed: certificate has expired", s);
    CHECK(e.hint().find("has expired") != std::string::npos);
    CHECK(e.hint().find("not signed") == std::string::npos);
}
