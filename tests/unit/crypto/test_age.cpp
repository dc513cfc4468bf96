// The age format: round trips over chunk boundaries, every recipient opens
// it, nothing else does, and any change to the file is refused.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <stdlib.h>

#include "base/error.hpp"
#include "base/fs.hpp"
#include "crypto/age.hpp"

using namespace ctldb;
using namespace ctldb::crypto;

namespace {

std::string encrypt(const std::string& plain, const std::vector<Recipient>& to, std::size_t piece) {
    std::string out;
    Encryptor e(to, [&](const char* p, std::size_t n) { out.append(p, n); });
    for (std::size_t at = 0; at < plain.size(); at += piece)
        e.write(plain.data() + at, std::min(piece, plain.size() - at));
    e.finish();
    return out;
}

std::string decrypt(const std::string& file, const std::vector<Identity>& ids, std::size_t piece) {
    std::string out;
    Decryptor d(
        ids, [&](const char* p, std::size_t n) { out.append(p, n); }, "test.age");
    for (std::size_t at = 0; at < file.size(); at += piece)
        d.feed(file.data() + at, std::min(piece, file.size() - at));
    d.finish();
    return out;
}

std::string text_of(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>("COPY users (id) FROM stdin;\n"[i % 28] + (i / 997) % 3);
    return s;
}

ExitCode code_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.code();
    }
    return ExitCode::ok;
}

}  // namespace

TEST_CASE("keys: identities and recipients in their Bech32 forms, parsed back") {
    const Identity id = generate_identity();
    const std::string secret = identity_text(id);
    const std::string pub = recipient_text(id.public_key);
    CHECK(secret.rfind("AGE-SECRET-KEY-1", 0) == 0);
    CHECK(secret.size() == 74);
    CHECK(pub.rfind("age1", 0) == 0);
    CHECK(pub.size() == 62);
    CHECK(parse_recipient(pub).public_key == id.public_key);
    std::string typo = pub;
    typo[10] = typo[10] == 'q' ? 'p' : 'q';
    CHECK(code_of([&] { parse_recipient(typo); }) == ExitCode::usage);  // the checksum
    CHECK(code_of([&] { parse_recipient("age1"); }) == ExitCode::usage);
    CHECK(code_of([&] { parse_recipient(secret); }) == ExitCode::usage);
    // An identity where a recipient belongs: refused, and never echoed.
    try {
        parse_recipient(secret);
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find(secret.substr(16, 20)) == std::string::npos);
        CHECK(std::string(e.what()).find("secret key") != std::string::npos);
    }
}

TEST_CASE("round trip over the 64 KiB chunk boundaries, to two recipients, in any pieces") {
    const Identity a = generate_identity(), b = generate_identity(), c = generate_identity();
    const std::vector<Recipient> to = {parse_recipient(recipient_text(a.public_key)),
                                       parse_recipient(recipient_text(b.public_key))};
    for (std::size_t n : {0, 1, 65535, 65536, 65537, 131072, 200001}) {
        const std::string plain = text_of(n);
        const std::string file = encrypt(plain, to, 7000);
        CHECK(looks_like_age(file));
        CHECK(file.find("COPY users") == std::string::npos);
        CHECK(decrypt(file, {a}, 1).size() == n);
        CHECK(decrypt(file, {a}, 4096) == plain);
        CHECK(decrypt(file, {c, b}, 65536 + 16) == plain);
        // Not a recipient: refused before anything is written (usage, exit 2).
        std::string got;
        CHECK(code_of([&] {
                  Decryptor d(
                      {c}, [&](const char* p, std::size_t k) { got.append(p, k); }, "f");
                  d.feed(file.data(), file.size());
                  d.finish();
              }) == ExitCode::usage);
        CHECK(got.empty());
    }
}

TEST_CASE("a changed, cut or extended file is refused, and nothing unauthenticated comes out") {
    const Identity a = generate_identity();
    const std::vector<Recipient> to = {parse_recipient(recipient_text(a.public_key))};
    const std::string plain = text_of(150000);
    const std::string file = encrypt(plain, to, 1 << 20);
    const std::size_t header_end = file.find("\n---") + 1;
    for (std::size_t at :
         {std::size_t{30}, header_end + 5, header_end + 60, file.size() / 2, file.size() - 1}) {
        std::string bad = file;
        bad[at] = static_cast<char>(bad[at] ^ 0x20);
        std::string got;
        CHECK(code_of([&] {
                  Decryptor d(
                      {a}, [&](const char* p, std::size_t k) { got.append(p, k); }, "f");
                  d.feed(bad.data(), bad.size());
                  d.finish();
              }) != ExitCode::ok);
        CHECK(plain.compare(0, got.size(), got) == 0);  // only authenticated chunks
    }
    // Cut at a chunk boundary: the last chunk's flag is missing.
    const std::size_t body = file.size() - (150000 + 3 * 16);
    CHECK(code_of([&] { decrypt(file.substr(0, body + 2 * (65536 + 16)), {a}, 999); }) ==
          ExitCode::failure);
    CHECK(code_of([&] { decrypt(file + "x", {a}, 999); }) == ExitCode::failure);
    CHECK(code_of([&] { decrypt(file.substr(0, 20), {a}, 999); }) == ExitCode::failure);
    CHECK(code_of([&] { decrypt("-- PostgreSQL database dump\n" + plain, {a}, 999); }) ==
          ExitCode::failure);
}

// Interoperability is the test of "no home-made format": the age tool
// (Debian's age 1.1, installed by scripts/install-deps) reads what ctldb
// writes, and ctldb reads what age writes, with keys from age-keygen.
TEST_CASE("the age tool decrypts what ctldb encrypts, and ctldb what age encrypts") {
    if (std::system("command -v age >/dev/null && command -v age-keygen >/dev/null") != 0) {
        FAIL("age and age-keygen are needed (scripts/install-deps installs them)");
        return;
    }
    char dir[] = "/tmp/ctldb-unit-age-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string d = dir, key1 = d + "/one.key", key2 = d + "/two.key";
    REQUIRE(std::system(
                ("age-keygen -o " + key1 + " 2>/dev/null && age-keygen -o " + key2 + " 2>/dev/null")
                    .c_str()) == 0);
    const auto one = read_identity_file(key1), two = read_identity_file(key2);
    const std::string plain = text_of(300000);
    fs::write_atomic(d + "/plain", plain, 0600);

    // ctldb -> age, to both recipients; either identity opens it.
    const std::string ours = encrypt(plain,
                                     {parse_recipient(recipient_text(one[0].public_key)),
                                      parse_recipient(recipient_text(two[0].public_key))},
                                     12345);
    fs::write_atomic(d + "/ours.age", ours, 0600);
    for (const std::string& k : {key1, key2}) {
        REQUIRE(std::system(("age -d -i " + k + " -o " + d + "/back " + d + "/ours.age").c_str()) ==
                0);
        CHECK(fs::read_file(d + "/back") == plain);
    }
    // age -> ctldb: the recipient as age-keygen -y prints it, and from a file (-R).
    REQUIRE(std::system(
                ("age -r \"$(age-keygen -y " + key1 + ")\" -o " + d + "/theirs.age " + d + "/plain")
                    .c_str()) == 0);
    CHECK(decrypt(fs::read_file(d + "/theirs.age"), one, 5000) == plain);
    CHECK(code_of([&] { decrypt(fs::read_file(d + "/theirs.age"), two, 5000); }) ==
          ExitCode::usage);
    REQUIRE(std::system(("age-keygen -y " + key2 + " > " + d + "/recipients").c_str()) == 0);
    const auto listed = recipients_from(d + "/recipients");
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].public_key == two[0].public_key);
    // An empty stream, both ways.
    fs::write_atomic(d + "/empty", "", 0600);
    REQUIRE(std::system(
                ("age -r \"$(age-keygen -y " + key1 + ")\" -o " + d + "/empty.age " + d + "/empty")
                    .c_str()) == 0);
    CHECK(decrypt(fs::read_file(d + "/empty.age"), one, 7).empty());
    // An identity file that is itself encrypted (age -p, or to another key,
    // armored or not): refused as such, exit 2, the text saying what it is.
    REQUIRE(
        std::system(("age -r \"$(age-keygen -y " + key2 + ")\" -o " + d + "/key.age " + key1 +
                     " && age -a -r \"$(age-keygen -y " + key2 + ")\" -o " + d + "/key.asc " + key1)
                        .c_str()) == 0);
    for (const std::string& k : {d + "/key.age", d + "/key.asc"}) {
        CAPTURE(k);
        std::string said;
        try {
            read_identity_file(k);
        } catch (const Error& e) {
            said = e.what();
            CHECK(e.code() == ExitCode::usage);
        }
        CHECK(said.find("is itself encrypted") != std::string::npos);
    }
    REQUIRE(std::system(("rm -rf " + d).c_str()) == 0);
}
