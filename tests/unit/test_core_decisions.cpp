// Decisions that need no server: pool sizing, connection usage, lock
// trees, bloat, certificate expiry, wraparound, index redundancy, finding
// order, durations. The probes feed them; these tests pin them.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "ctldb/context.hpp"
#include "ctldb/doctor.hpp"
#include "ctldb/http_server.hpp"
#include "ctldb/index_check.hpp"
#include "ctldb/maintenance.hpp"
#include "ctldb/metrics.hpp"
#include "ctldb/output.hpp"
#include "ctldb/pool.hpp"
#include "ctldb/pool_report.hpp"
#include "ctldb/probes.hpp"
#include "ctldb/queries.hpp"
#include "ctldb/report.hpp"
#include "ctldb/roles.hpp"
#include "ctldb/server_settings.hpp"
#include "ctldb/text.hpp"
#include "ctldb/tls_check.hpp"

using namespace ctldb;

TEST_CASE("pool sizing follows the guide's table and the server's limits") {
    pool::Capacity c{100, 3, 0, 10};
    // 97 usable, 15 kept for admin work: 82 for the pools.
    auto z = pool::plan(c, 50, 1, 15);
    CHECK(z.available == 82);
    CHECK(z.total == 50);
    CHECK(z.ok);
    CHECK(z.headroom == 87);
    CHECK(z.recommended == 50);
    z = pool::plan(c, 50, 2, 15);
    CHECK_FALSE(z.ok);  // 100 > 82
    CHECK(z.recommended == 41);
    z = pool::plan(c, 20, 4, 15);
    CHECK(z.ok);  // 80 <= 82
    CHECK(z.guide == "20-30 per pod (3-5 pods)");
    CHECK(z.recommended == 20);  // 82 / 4
    z = pool::plan(c, 10, 8, 15);
    CHECK(z.guide == "10-20 per pod (5+ pods)");
    CHECK(z.recommended == 10);
    // A server too small for the admin reserve still recommends 1, never 0.
    z = pool::plan({20, 3, 0, 1}, 10, 2, 20);
    CHECK(z.available == -3);
    CHECK_FALSE(z.ok);
    CHECK(z.recommended == 1);
}

TEST_CASE("connection usage warns from 80 % and fails from 95 % of the usable slots") {
    CHECK(pool::usage_status({100, 0, 0, 79}) == Status::ok);
    CHECK(pool::usage_status({100, 0, 0, 80}) == Status::warn);
    CHECK(pool::usage_status({100, 0, 0, 94}) == Status::warn);
    CHECK(pool::usage_status({100, 0, 0, 95}) == Status::fail);
    // Reserved slots are not the application's.
    CHECK(pool::usage_status({100, 3, 0, 78}) == Status::warn);  // 78 of 97 = 80.4 %
    CHECK(pool::usage_status({3, 3, 0, 0}) == Status::fail);
}

namespace {
probe::Session waiter(std::int64_t pid, std::vector<std::int64_t> by) {
    probe::Session s;
    s.pid = pid;
    s.blocked_by = std::move(by);
    return s;
}
}  // namespace

TEST_CASE("lock trees: every blocker of every waiter, however deep") {
    // 100 blocks 101, which blocks 102 (a chain of three); 103 waits for
    // both 100 and 200; 300 is idle and blocks nobody.
    std::vector<probe::Session> s = {waiter(100, {}),    waiter(101, {100}),
                                     waiter(102, {101}), waiter(103, {100, 200}),
                                     waiter(200, {}),    waiter(300, {})};
    const auto trees = probe::lock_trees(s);
    REQUIRE(trees.size() == 2);
    CHECK(trees[0].pid == 100);
    CHECK(trees[0].size() == 4);
    CHECK(trees[0].depth() == 3);
    CHECK(doctor::render_tree(trees[0]) == "100 -> {101 -> 102, 103}");
    CHECK(trees[1].pid == 200);
    CHECK(doctor::render_tree(trees[1]) == "200 -> 103");
    // A waits for nothing, B waits for A, C for both (a queued lock):
    // C shows under each, counted once.
    const auto abc = probe::lock_trees({waiter(1, {}), waiter(2, {1}), waiter(3, {1, 2})});
    REQUIRE(abc.size() == 1);
    CHECK(abc[0].size() == 3);
    CHECK(abc[0].depth() == 3);
    CHECK(doctor::render_tree(abc[0]) == "1 -> {2 -> 3, 3}");
    // A cycle has no natural root: the lowest pid stands in, and the walk ends.
    const auto cyc = probe::lock_trees({waiter(7, {8}), waiter(8, {7})});
    REQUIRE(cyc.size() == 1);
    CHECK(cyc[0].pid == 7);
    CHECK(doctor::render_tree(cyc[0]) == "7 -> 8");
    CHECK(probe::lock_trees({waiter(1, {}), waiter(2, {})}).empty());
}

TEST_CASE("PostgreSQL int arrays become numbers") {
    CHECK(probe::parse_int_array("{31903}") == std::vector<std::int64_t>{31903});
    CHECK(probe::parse_int_array("1,22,333") == std::vector<std::int64_t>{1, 22, 333});
    CHECK(probe::parse_int_array("{}").empty());
    CHECK(probe::parse_int_array("").empty());
}

TEST_CASE("bloat estimate: pages beyond what the rows need") {
    // 1000 rows of 100 bytes: (24 + 100 -> 128) + 4 = 132 bytes, 61 per
    // 8 KiB page: 17 pages needed.
    CHECK(probe::bloat_estimate(17, 1000, 100, 100) == 0);
    CHECK(probe::bloat_estimate(117, 1000, 100, 100) == 100 * 8192);
    // Fillfactor 50 halves a page's room: 31 per page, 33 pages.
    CHECK(probe::bloat_estimate(33, 1000, 100, 50) == 0);
    CHECK(probe::bloat_estimate(0, 1000, 100, 100) == 0);
    // Everything deleted: every page is waste.
    CHECK(probe::bloat_estimate(50, 0, 100, 100) == 50 * 8192);
}

TEST_CASE("certificate expiry is classified against both thresholds") {
    using tls::Expiry;
    CHECK(tls::classify_expiry(-1, 30, 7) == Expiry::expired);
    CHECK(tls::classify_expiry(0, 30, 7) == Expiry::critical);
    CHECK(tls::classify_expiry(6, 30, 7) == Expiry::critical);
    CHECK(tls::classify_expiry(7, 30, 7) == Expiry::warning);
    CHECK(tls::classify_expiry(29, 30, 7) == Expiry::warning);
    CHECK(tls::classify_expiry(30, 30, 7) == Expiry::ok);
}

TEST_CASE("wraparound: warn from 50 %, fail from 75 % of the freeze limit in force") {
    using maintenance::wraparound_status;
    CHECK(wraparound_status(99'999'999, 200'000'000) == Status::ok);
    CHECK(wraparound_status(100'000'000, 200'000'000) == Status::warn);
    CHECK(wraparound_status(149'999'999, 200'000'000) == Status::warn);
    CHECK(wraparound_status(150'000'000, 200'000'000) == Status::fail);
    CHECK(wraparound_status(2'000'000'000, 200'000'000) == Status::fail);
    // A table's own, lower autovacuum_freeze_max_age moves its thresholds.
    CHECK(wraparound_status(60'000'000, 100'000'000) == Status::warn);
    CHECK(wraparound_status(0, 0) == Status::ok);
    probe::TableStats t;
    t.freeze_max_age = 200'000'000;
    t.multixact_freeze_max_age = 400'000'000;
    t.xid_age = 10;
    t.mxid_age = 350'000'000;  // the multixact age decides
    CHECK(maintenance::table_wraparound(t) == Status::fail);
    t.dead_tuples = 51;
    t.vacuum_threshold = 50;
    CHECK(maintenance::needs_vacuum(t));
    t.dead_tuples = 50;
    CHECK_FALSE(maintenance::needs_vacuum(t));
}

TEST_CASE("autovacuum settings against the guide's") {
    std::vector<probe::Setting> cur(2);
    cur[0].name = "autovacuum";
    cur[0].value = "off";
    cur[1].name = "autovacuum_naptime";
    cur[1].value = "60";
    cur[1].unit = "s";
    std::vector<const maintenance::GuideSetting*> differs;
    const Findings f = maintenance::autovacuum_findings(cur, &differs);
    REQUIRE(f.items().size() == 2);
    CHECK(f.items()[0].status == Status::fail);
    CHECK(f.items()[1].status == Status::ok);
    CHECK(f.items()[1].message == "is 60s");
    REQUIRE(differs.size() == 1);
    CHECK(std::string(differs[0]->name) == "autovacuum");
    cur[0].value.reset();
    cur[0].unreadable = "not visible to role x: needs y";
    CHECK(maintenance::autovacuum_findings(cur).items()[0].status == Status::warn);
}

namespace {
IndexInfo index(std::string name, std::string keys, bool unique = false) {
    IndexInfo x;
    x.name = name;
    x.qualified = "public." + name;
    x.table = "t";
    x.qualified_table = "public.t";
    x.method = "btree";
    x.keys = keys;
    x.options = std::string(keys.size() / 2 + 1, '0');
    x.classes = keys;  // same classes where the keys agree
    x.collations = keys;
    x.unique = unique;
    return x;
}
}  // namespace

TEST_CASE("index redundancy: duplicates and covered prefixes") {
    std::vector<IndexInfo> all = {index("a_1", "1"), index("b_12", "1 2"), index("c_1", "1"),
                                  index("d_2", "2")};
    all[0].options = "0";
    all[1].options = "0 0";
    all[2].options = "0";
    all[3].options = "0";
    const auto r = find_redundant(all);
    // a_1 and c_1 are exact duplicates: the first name stays, so c_1 goes,
    // and a_1 is covered by b_12 (1 is a prefix of 1 2).
    REQUIRE(r.size() == 2);
    CHECK(all[r[0].index].name == "a_1");
    CHECK(all[r[0].covered_by].name == "b_12");
    CHECK_FALSE(r[0].exact);
    CHECK(all[r[1].index].name == "c_1");
    CHECK(r[1].exact);
    // A unique index is never the one dropped for a wider twin.
    std::vector<IndexInfo> u = {index("u_1", "1", true), index("w_12", "1 2")};
    u[0].options = "0";
    u[1].options = "0 0";
    CHECK(find_redundant(u).empty());
    // Different predicates are different indexes.
    std::vector<IndexInfo> p = {index("p_1", "1"), index("q_1", "1")};
    p[0].options = p[1].options = "0";
    p[1].predicate = "(deleted_at IS NULL)";
    CHECK(find_redundant(p).empty());
    // The guide's index stays over an unknown one with the same keys.
    std::vector<IndexInfo> g = {index("idx_users_email", "2"), index("zz_email", "2")};
    g[0].options = g[1].options = "0";
    const auto rg = find_redundant(g);
    REQUIRE(rg.size() == 1);
    CHECK(g[rg[0].index].name == "zz_email");
    // ...but not over a unique constraint's index with exactly its keys:
    // then the guide's name is a duplicate whatever it is called.
    std::vector<IndexInfo> c = {index("idx_users_email", "2"), index("users_email_key", "2", true)};
    c[0].options = c[1].options = "0";
    c[1].backs_constraint = true;
    const auto rc = find_redundant(c);
    REQUIRE(rc.size() == 1);
    CHECK(c[rc[0].index].name == "idx_users_email");
    CHECK(c[rc[0].covered_by].name == "users_email_key");
    CHECK(rc[0].exact);
    // A wider unique constraint covers a guide prefix, and the guide's stays.
    std::vector<IndexInfo> w = {index("idx_users_email", "2"),
                                index("users_email_org", "2 3", true)};
    w[0].options = "0";
    w[1].options = "0 0";
    w[1].backs_constraint = true;
    CHECK(find_redundant(w).empty());
}

TEST_CASE("findings are reported most urgent first, each level in its order") {
    Findings f;
    f.add("a", Status::ok, "");
    f.add("b", Status::info, "");
    f.add("c", Status::fail, "");
    f.add("d", Status::warn, "");
    f.add("e", Status::fail, "");
    f.sort_by_urgency();
    std::string order;
    for (const auto& x : f.items())
        order += x.name;
    CHECK(order == "cedba");
    const auto j = finding_json(f.items()[0]);
    CHECK(j["hint"].is_null());
    CHECK(j["check"].is_null());
    CHECK(j["status"] == "fail");
}

TEST_CASE("names in hints are quoted for the shell") {
    CHECK(shell_quote("public.users") == "public.users");
    CHECK(shell_quote("public.\"Odd Name\"") == "'public.\"Odd Name\"'");
    CHECK(shell_quote("it's") == "'it'\\''s'");
    CHECK(shell_quote("") == "''");
    CHECK(shell_quote("verify-full", true) == "'verify-full'");
}

TEST_CASE("one duration syntax for every timeout option") {
    CHECK(parse_duration_seconds("90") == 90.0);
    CHECK(parse_duration_seconds("1.5s") == 1.5);
    CHECK(parse_duration_seconds("250ms") == 0.25);
    CHECK(parse_duration_seconds("10m") == 600.0);
    CHECK(parse_duration_seconds("5min") == 300.0);
    CHECK(parse_duration_seconds("26h") == 26 * 3600.0);
    CHECK(parse_duration_seconds("7d") == 7 * 86400.0);
    CHECK_FALSE(parse_duration_seconds(""));
    CHECK_FALSE(parse_duration_seconds("-1s"));
    CHECK_FALSE(parse_duration_seconds("10 parsecs"));
    CHECK_FALSE(parse_duration_seconds("s"));
    CHECK_FALSE(parse_duration_seconds("nan"));
    CHECK(human_duration(0.35) == "350 ms");
    CHECK(human_duration(42) == "42 s");
    CHECK(human_duration(720) == "12 min");
    CHECK(human_bytes(512) == "512 B");
    CHECK(human_bytes(8192) == "8.0 KiB");
    CHECK(human_bytes(3.5 * 1024 * 1024 * 1024) == "3.5 GiB");
}

TEST_CASE("non-TLS clients: counted when visible, unknown when only others' are hidden") {
    probe::Activity a;
    probe::Session local, plain, tls, hidden;
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

TEST_CASE("every command's JSON result carries ok and exit_code from the exit code") {
    nlohmann::json printed;
    Context ctx;
    ctx.global.output = OutputFormat::json;
    ctx.run = [] {
        emit_result({{"ok", true}, {"tables", nlohmann::json::array()}});
        return ExitCode::failure;
    };
    // The document goes to stdout; what matters here is that it is taken.
    CHECK(run_command(ctx) == 1);
    nlohmann::json left;
    CHECK_FALSE(take_result(left));
    // A command that throws after emitting prints only its error document.
    ctx.run = []() -> ExitCode {
        emit_result({{"half", true}});
        throw failure("broke");
    };
    CHECK(run_command(ctx) == 1);
    CHECK_FALSE(take_result(left));
}

TEST_CASE("doctor refuses names that are not checks") {
    doctor::Options o;
    o.only = {"tls", "nonsense"};
    CHECK_THROWS_AS(doctor::validate(o), Error);
    o.only = {"tls"};
    o.skip = {"backups"};
    CHECK_NOTHROW(doctor::validate(o));
    CHECK(doctor::checks().size() >= 13);
}

TEST_CASE("pool-stats' report renders as text, JSON and Prometheus text without a server") {
    probe::Activity a;
    a.max_connections = 20;
    a.superuser_reserved = 3;
    probe::Session self, active, idle_tx, waiting, hidden;
    self.pid = 1;
    self.self = true;
    self.state = "active";
    active.pid = 2;
    active.state = "active";
    active.database = "app";
    active.user = "appuser";
    active.application = "api";
    active.client = "10.0.0.7";
    active.query_seconds = 42;
    active.xact_seconds = 43;
    idle_tx.pid = 3;
    idle_tx.state = "idle in transaction";
    idle_tx.database = "app";
    idle_tx.xact_seconds = 90;
    waiting.pid = 4;
    waiting.state = "active";
    waiting.database = "app";
    waiting.wait_event_type = "Lock";
    waiting.wait_event = "relation";
    waiting.blocked_by = {3};
    waiting.state_seconds = 12;
    waiting.query = "UPDATE t SET x = 1";
    hidden.pid = 5;
    hidden.visible = false;
    hidden.database = "app";
    a.sessions = {self, active, idle_tx, waiting, hidden};
    a.hidden = 1;
    // 17 usable, 15 kept for admin work: 2 for 1 pod x 10 does not fit.
    const PoolReport r = pool_report(a, 10, 1, 15);
    CHECK(r.capacity.in_use == 5);
    CHECK(r.hidden == 1);
    CHECK(r.code() == ExitCode::failure);
    CHECK(r.longest_transaction_pid == 3);
    CHECK(r.longest_query_pid == 2);
    const auto j = r.json();
    CHECK(j["idle_in_transaction"] == 1);
    CHECK(j["active"] == 2);
    CHECK(j["waiting_on_locks"][0]["blocked_by"] == nlohmann::json::array({3}));
    CHECK(j["longest_transaction_seconds"] == 90.0);
    CHECK(j["pool"]["ok"] == false);
    const std::string text = r.text(false);
    CHECK(text.find("OVERSUBSCRIBED") != std::string::npos);
    CHECK(text.find("WAITING PID") != std::string::npos);
    const std::string prom = r.prometheus();
    CHECK(prom.find("ctldb_connections_hidden 1") != std::string::npos);
    CHECK(prom.find("pg_stat_activity_count{datname=\"app\",state=\"idle in transaction\"} 1") !=
          std::string::npos);
}

TEST_CASE("vacuum status: most dead tuples first, flagged tables fail, times ISO or null") {
    probe::TableStats a, b;
    a.name = "public.small";
    a.dead_tuples = 10;
    a.vacuum_threshold = 50;
    a.freeze_max_age = 200'000'000;
    a.multixact_freeze_max_age = 400'000'000;
    b = a;
    b.name = "public.churn";
    b.dead_tuples = 900;
    b.last_autovacuum = "2026-12-01T03:00:00Z";
    const auto r = maintenance::status_report({a, b});
    REQUIRE(r.tables.size() == 2);
    CHECK(r.tables[0].name == "public.churn");
    CHECK(r.flagged() == 1);
    CHECK(r.code() == ExitCode::failure);
    const auto j = r.json();
    CHECK(j["tables"][0]["last_vacuum_at"] == "2026-12-01T03:00:00Z");
    CHECK(j["tables"][1]["last_vacuum_at"].is_null());
    CHECK(j["tables"][0]["needs_vacuum"] == true);
    CHECK(r.text(false).find("1 table(s) need attention") != std::string::npos);
    // Past 75 % of the freeze limit a table is near wraparound; at 50 % only doctor warns.
    a.xid_age = 120'000'000;
    CHECK(maintenance::status_report({a}).flagged() == 0);
    a.xid_age = 160'000'000;
    CHECK(maintenance::status_report({a}).json()["tables"][0]["near_wraparound"] == true);
}

TEST_CASE("queries: which sessions a listing or a rule selects, longest first") {
    auto session = [](std::int64_t pid, const char* state, double q, double st) {
        probe::Session s;
        s.pid = pid;
        s.database = "app";
        s.state = state;
        s.query_seconds = q;
        s.state_seconds = st;
        return s;
    };
    std::vector<probe::Session> all = {
        session(1, "active", 5, 5),                   // running 5 s
        session(2, "idle in transaction", 900, 600),  // idle for 10 min
        session(3, "idle", 3000, 3000),
        session(4, "active", 50, 50),
        session(5, "active", 100, 100),
    };
    all[4].self = true;  // ctldb's own: never listed, never selected
    probe::Session other = session(6, "active", 1000, 1000);
    other.database = "another";
    all.push_back(other);
    probe::Session hidden;
    hidden.pid = 7;
    hidden.database = "app";
    hidden.visible = false;
    all.push_back(hidden);

    auto pids = [](const std::vector<probe::Session>& v) {
        std::vector<std::int64_t> out;
        for (const auto& s : v)
            out.push_back(s.pid);
        return out;
    };
    using queries::State;
    // Busy: all but idle; an idle transaction counts from its state change.
    CHECK(pids(queries::select(all, "app", State::busy, 0)) == std::vector<std::int64_t>{2, 4, 1});
    CHECK(pids(queries::select(all, "app", State::active, 10)) == std::vector<std::int64_t>{4});
    CHECK(pids(queries::select(all, "app", State::idle_in_transaction, 601)).empty());
    CHECK(pids(queries::select(all, "", State::active, 0)) == std::vector<std::int64_t>{6, 4, 1});
    // all includes hidden sessions, last.
    CHECK(pids(queries::select(all, "app", State::all, 0)) ==
          std::vector<std::int64_t>{3, 2, 4, 1, 7});

    CHECK(queries::parse_state("idle-in-transaction") == State::idle_in_transaction);
    CHECK(queries::parse_state("idle in transaction") == State::idle_in_transaction);
    CHECK_FALSE(queries::parse_state("running"));
    CHECK_FALSE(queries::parse_order("fastest"));
    // The rule is checked again when signalling, with the same clock.
    const std::string rule = queries::still_matches_sql(State::idle_in_transaction, 600);
    CHECK(rule.find("a.state = 'idle in transaction'") != std::string::npos);
    CHECK(rule.find(">= 600.000") != std::string::npos);
    CHECK(queries::still_matches_sql(State::all, 0) == "true");
}

TEST_CASE("roles: least privilege is strict in roles check, a warning in doctor") {
    probe::RoleFacts r;
    r.name = "app";
    r.create_db = true;
    const std::string now = "2026-12-02T10:00:00Z";
    auto status = [](const Findings& f, const std::string& name) {
        for (const auto& x : f.items())
            if (x.name == name) return std::string(status_name(x.status));
        return std::string("none");
    };
    CHECK(status(roles::least_privilege(r, std::nullopt, true, now), "role attributes") == "fail");
    CHECK(status(roles::least_privilege(r, std::nullopt, false, now), "role attributes") == "warn");
    r.create_db = false;
    r.public_can_create_in_public = true;
    CHECK(roles::least_privilege(r, std::nullopt, true, now).failed());
    r.public_can_create_in_public = false;
    CHECK_FALSE(roles::least_privilege(r, std::nullopt, true, now).failed());
    CHECK(status(roles::least_privilege(r, std::nullopt, true, now), "password age") == "info");
    CHECK(status(roles::least_privilege(r, "2026-09-01T10:00:00Z", true, now), "password age") ==
          "warn");  // 92 days
    CHECK(status(roles::least_privilege(r, "2026-09-10T10:00:00Z", true, now), "password age") ==
          "ok");
    r.valid_until = "2026-12-01T00:00:00Z";
    CHECK(status(roles::least_privilege(r, std::nullopt, true, now), "password expiry") == "fail");
    r.valid_until = "2026-12-10T00:00:00Z";
    CHECK(status(roles::least_privilege(r, std::nullopt, true, now), "password expiry") == "warn");
    r.superuser = true;
    CHECK(status(roles::least_privilege(r, std::nullopt, false, now), "superuser") == "fail");
    CHECK(roles::days_between("2026-12-01T00:00:00Z", "2026-12-02T12:00:00Z") ==
          doctest::Approx(1.5));
    CHECK_FALSE(roles::days_between("never", now));
}

TEST_CASE("roles: create-readonly quotes every name and never shows the verifier") {
    roles::ReadonlyPlan p;
    p.role = "re\"port er";
    p.database = "app db";
    p.schemas = {"public"};
    p.owners = {"app"};
    p.verifier = "SCRAM-SHA-256$4096:abc$def:ghi";
    const auto shown = p.sql(true);
    CHECK(shown.front() ==
          "CREATE ROLE \"re\"\"port er\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
          "NOBYPASSRLS PASSWORD '********'");
    CHECK(p.sql(false).front().find("PASSWORD 'SCRAM-SHA-256$4096:abc$def:ghi'") !=
          std::string::npos);
    bool default_privileges = false;
    for (const auto& s : shown)
        if (s ==
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"app\" IN SCHEMA \"public\" GRANT SELECT ON "
            "TABLES TO \"re\"\"port er\"")
            default_privileges = true;
    CHECK(default_privileges);
    p.exists = true;
    p.verifier.reset();
    CHECK(p.sql(true).front().rfind("ALTER ROLE \"re\"\"port er\" IN DATABASE \"app db\"", 0) == 0);
}

TEST_CASE("settings: the guide's values, minimums, hidden ones and pending restarts") {
    auto set = [](const char* name, const char* value, const char* unit = "",
                  const char* context = "sighup") {
        probe::Setting s;
        s.name = name;
        s.value = value;
        s.unit = unit;
        s.context = context;
        return s;
    };
    std::vector<probe::Setting> cur = {
        set("ssl", "off"),
        set("ssl_cert_file", "server.crt"),
        set("ssl_min_protocol_version", "TLSv1.3"),
        set("autovacuum", "on"),
        set("autovacuum_naptime", "300", "s"),
        set("max_connections", "100", "", "postmaster"),
        set("log_statement", "all", "", "superuser"),
        set("log_duration", "on", "", "superuser"),
        set("password_encryption", "md5", "", "user"),
    };
    probe::Setting hidden;
    hidden.name = "ssl_key_file";
    hidden.unreadable = "not visible to role app: needs pg_read_all_settings (or pg_monitor)";
    cur.push_back(hidden);
    server_settings::Options o;
    o.pods = 3;
    auto items = server_settings::evaluate(cur, o, 3);
    REQUIRE(items.size() == server_settings::names().size());
    auto get = [&](const std::string& n) {
        for (const auto& i : items)
            if (i.name == n) return i;
        FAIL("no " << n);
        return items[0];
    };
    CHECK(get("ssl").differs);
    CHECK(get("ssl").want == "on");
    CHECK_FALSE(get("ssl_min_protocol_version").differs);  // TLSv1.3 is at least 1.2
    CHECK(get("autovacuum_naptime").message == "is 300s, the guide wants 1min");
    CHECK(get("autovacuum_naptime").want == "1min");
    // 3 pods x 50 + 15 admin + 3 reserved = 168 > 100
    CHECK(get("max_connections").differs);
    CHECK(get("max_connections").want == "168");
    CHECK(get("max_connections").restart());
    CHECK(get("password_encryption").status == Status::fail);
    CHECK(get("ssl_key_file").status == Status::warn);
    CHECK_FALSE(get("ssl_key_file").differs);
    CHECK(get("ssl_key_file").message.find("pg_read_all_settings") != std::string::npos);
    CHECK_FALSE(get("ssl_cert_file").differs);  // no new file asked for
    o.ssl_cert_file = "new.crt";
    cur[5].value = "200";
    cur[5].pending_restart = true;
    items = server_settings::evaluate(cur, o, 3);
    CHECK(get("ssl_cert_file").differs);
    CHECK_FALSE(get("max_connections").differs);
    CHECK(get("max_connections").status == Status::warn);  // waiting for a restart
}

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
    CHECK(http::parse_listen("127.0.0.1:9187").port == 9187);
    CHECK(http::parse_listen("[::1]:0").host == "::1");
    CHECK(http::parse_listen("[::1]:80").text() == "[::1]:80");
    for (const char* bad : {"9187", "localhost:9187", "127.0.0.1:", "127.0.0.1:99999", ":9187",
                            "127.0.0.1:9187:1", "[::1]9187", "127.0.0.1:-1"})
        CHECK_THROWS_AS(http::parse_listen(bad), Error);
    std::string m, p;
    CHECK(http::parse_request_line("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", m, p));
    CHECK(m == "GET");
    CHECK(p == "/metrics");
    CHECK_FALSE(http::parse_request_line("GET /metrics\r\n\r\n", m, p));
    CHECK_FALSE(http::parse_request_line("GET  HTTP/1.1\r\n\r\n", m, p));
    CHECK_FALSE(http::parse_request_line("GET / HTTP/2.0\r\n\r\n", m, p));
}
