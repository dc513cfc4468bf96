// doctor's runner: the check table, the connections the server checks
// share (each bounded by statement_timeout), and the report.
#include "doctor/doctor.hpp"
#include "base/stopwatch.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include <libpq-fe.h>
#include <nlohmann/json.hpp>

#include "base/log.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"
#include "base/text.hpp"
#include "doctor/doctor_checks.hpp"
#include "migrate/migrations.hpp"
#include "pg/probes.hpp"
#include "pg/sqlstate.hpp"

namespace ctldb::doctor {

namespace {

struct Entry {
    CheckInfo info;
    CheckFn fn;
};

// The order here is the order of the report within each severity.
const std::vector<Entry>& table() {
    static const std::vector<Entry> t = {
        {{"config", "configuration and password policy", false}, check_config},
        {{"tls", "TLS: certificate, chain, names, protocol, non-TLS clients", true}, check_tls},
        {{"connections", "connections against max_connections; pool sizing for --pods", true},
         check_connections},
        {{"sessions", "long-running queries and sessions idle in transaction", true},
         check_sessions},
        {{"locks", "lock trees: who blocks whom", true}, check_locks},
        {{"wraparound", "transaction ID age per database and table", true}, check_wraparound},
        {{"storage", "sizes, biggest tables, dead tuples, bloat estimate", true}, check_storage},
        {{"autovacuum", "autovacuum settings against the guide's", true}, check_autovacuum},
        {{"indexes", "invalid, duplicate, missing guide and unused indexes", true}, check_indexes},
        {{"migrations", "pending, modified or missing migrations; schema drift", true},
         check_migrations},
        {{"backups", "the newest usable backup: age and verification", false}, check_backups},
        {{"security", "role privileges, schema public, audit logging", true}, check_security},
        {{"extensions", "pg_stat_statements", true}, check_extensions},
    };
    return t;
}

bool selected(const Options& o, const std::string& name) {
    if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), name) == o.only.end())
        return false;
    return std::find(o.skip.begin(), o.skip.end(), name) == o.skip.end();
}

/// Runs one check and turns what it throws into a finding or a limitation.
void run_one(const Entry& entry, Env& env) {
    try {
        entry.fn(env);
    } catch (const pg::SqlError& err) {
        const std::string& state = err.server().sqlstate;
        if (state == pg::sqlstate::insufficient_privilege) {
            env.limit(err.server().message, "a grant named in the message");
        } else if (state == pg::sqlstate::query_canceled) {
            env.out.add("timeout", Status::warn,
                        "did not finish within " + human_duration(env.o.timeout_s),
                        "run it alone with a longer --timeout: ctldb doctor --checks " + env.check +
                            " --timeout 30s");
        } else if (state == pg::sqlstate::lock_not_available) {
            env.out.add("locked", Status::warn,
                        std::string("waited for a lock another session holds: ") + err.what(),
                        "see the locks check; retry when it is released");
        } else {
            env.out.add("error", Status::warn, std::string("could not run: ") + err.what());
        }
    } catch (const Error& err) {
        if (err.code() == ExitCode::interrupted || interrupted()) throw;
        if (err.code() == ExitCode::lock) {
            env.out.add("locked", Status::warn, err.what(), err.hint());
        } else {
            env.out.add("error", Status::warn, std::string("could not run: ") + err.what(),
                        err.hint());
        }
    }
}

void prepare(pg::Connection& conn, const Options& o) {
    const int ms = static_cast<int>(std::min(o.timeout_s * 1000, 86400e3));
    // Waiting for a lock gives up first, so the finding says "locked".
    pg::probe::bound_reads(conn, std::max(1, ms), std::max(1, std::min(ms / 2, 2000)));
}

}  // namespace

const std::vector<CheckInfo>& checks() {
    static const std::vector<CheckInfo> v = [] {
        std::vector<CheckInfo> out;
        for (const auto& e : table())
            out.push_back(e.info);
        return out;
    }();
    return v;
}

CheckFn check_function(const std::string& name) {
    for (const auto& e : table()) {
        if (name == e.info.name) return e.fn;
    }
    return nullptr;
}

void validate(const Options& o) {
    std::vector<std::string> names;
    for (const auto& c : checks())
        names.emplace_back(c.name);
    for (const auto* list : {&o.only, &o.skip}) {
        for (const auto& n : *list) {
            if (check_function(n) == nullptr) {
                throw usage_error("'" + n + "' is not a check of doctor",
                                  "the checks: " + join(names, ", "));
            }
        }
    }
    std::size_t chosen = 0;
    for (const auto& c : checks())
        chosen += selected(o, c.name) ? 1 : 0;
    if (chosen == 0) throw usage_error("--checks and --skip leave no check to run");
    migrate::check_migrations_options(o.migrations_dir, o.layout);
    if (o.jobs < 1 || o.jobs > 16) throw usage_error("--jobs must be 1 to 16");
    if (o.timeout_s <= 0) throw usage_error("--timeout must be more than 0");
}

namespace {

/// What the checks found, each under its own name, merged in table order.
struct Collected {
    std::mutex mu;
    std::map<std::string, Findings> found;
    std::map<std::string, std::vector<Limitation>> limits;
    std::map<std::string, CheckRun> runs;

    void run(const Entry& e, const config::Config& cfg, const Options& o, pg::Connection* conn) {
        const Stopwatch start;
        Findings f;
        f.set_check(e.info.name);
        std::vector<Limitation> l;
        Env env{cfg, o, conn, f, l, e.info.name};
        run_one(e, env);
        // A server that went away mid-run is a failure, not a check's hiccup.
        if (conn != nullptr && PQstatus(conn->raw()) != CONNECTION_OK) {
            f.add("connection lost", Status::fail,
                  "the server closed the connection during this check",
                  "is the server restarting or out of memory? check its log; run doctor again");
        }
        std::lock_guard<std::mutex> lock(mu);
        found[e.info.name] = std::move(f);
        limits[e.info.name] = std::move(l);
        runs[e.info.name] = {e.info.name, true, start.ms_exact()};
    }
};

/// The server checks over `jobs` connections (the first one given), one
/// check at a time on each.
void run_server_checks(std::unique_ptr<pg::Connection> first,
                       const std::vector<const Entry*>& server, const config::Config& cfg,
                       const Options& o, Collected& out) {
    const int jobs = std::max(1, std::min<int>(o.jobs, static_cast<int>(server.size())));
    std::vector<std::unique_ptr<pg::Connection>> conns;
    conns.push_back(std::move(first));
    // More connections only help: at the server's limit, fewer will do.
    for (int j = 1; j < jobs; ++j) {
        try {
            conns.push_back(pg::connect(cfg.connection()));
        } catch (const Error& e) {
            if (e.code() != ExitCode::connect) throw;
            log::detail(std::string("doctor runs on fewer connections: ") + e.what());
            break;
        }
    }
    for (auto& c : conns)
        prepare(*c, o);
    std::atomic<std::size_t> next{0};
    std::mutex mu;
    std::exception_ptr failure;
    auto worker = [&](pg::Connection* conn) {
        for (;;) {
            const std::size_t i = next.fetch_add(1);
            if (i >= server.size() || interrupted()) return;
            try {
                out.run(*server[i], cfg, o, conn);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mu);
                if (!failure) failure = std::current_exception();
                return;
            }
        }
    };
    std::vector<std::thread> threads;
    for (std::size_t j = 1; j < conns.size(); ++j)
        threads.emplace_back(worker, conns[j].get());
    worker(conns[0].get());
    for (auto& t : threads)
        t.join();
    throw_if_interrupted();
    if (failure) std::rethrow_exception(failure);
}

/// The first connection, or the "connection" finding saying why not.
std::unique_ptr<pg::Connection> open_first(const config::Config& cfg, Report& rep, Collected& out) {
    const config::ConnectionSettings cs = cfg.connection();
    Findings f;
    f.set_check("connection");
    const Stopwatch c0;
    std::unique_ptr<pg::Connection> conn;
    try {
        conn = pg::connect(cs);
    } catch (const Error& err) {
        if (err.code() != ExitCode::connect) throw;
        f.add("connection", Status::fail, err.what(), err.hint());
        out.found["connection"] = std::move(f);
        rep.exit = ExitCode::connect;
        return nullptr;
    }
    rep.connect_ms = c0.ms_exact();
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.0f ms", *rep.connect_ms);
    f.add("connection", Status::ok,
          cs.target() + " as " + pg::probe::current_user(*conn) + " in " + ms + ", PostgreSQL " +
              pg::probe::server_version(*conn).text);
    out.found["connection"] = std::move(f);
    return conn;
}

}  // namespace

Report run(const config::Config& cfg, const Options& o) {
    const Stopwatch t0;
    Report rep;
    std::vector<const Entry*> server;
    Collected out;
    for (const auto& e : table()) {
        if (!selected(o, e.info.name)) continue;
        if (e.info.needs_server) {
            server.push_back(&e);
        } else {
            out.run(e, cfg, o, nullptr);
        }
    }
    if (!server.empty()) {
        if (auto first = open_first(cfg, rep, out)) {
            run_server_checks(std::move(first), server, cfg, o, out);
        } else {
            for (const Entry* e : server) {
                out.limits[e->info.name].push_back(
                    {e->info.name, "not run", "a connection to the server"});
                out.runs[e->info.name] = {e->info.name, false, 0};
            }
        }
    }
    // Table order, the connection first; then most urgent first.
    if (out.found.count("connection") != 0) rep.findings.append(out.found["connection"]);
    for (const auto& e : table()) {
        const std::string name = e.info.name;
        if (out.found.count(name) != 0) rep.findings.append(out.found[name]);
        const auto& l = out.limits[name];
        rep.not_run.insert(rep.not_run.end(), l.begin(), l.end());
        if (out.runs.count(name) != 0) rep.runs.push_back(out.runs[name]);
    }
    rep.findings.sort_by_urgency();
    if (rep.exit == ExitCode::ok && rep.findings.failed()) rep.exit = ExitCode::failure;
    rep.duration_ms = t0.ms_exact();
    return rep;
}

nlohmann::json Report::json() const {
    nlohmann::json nr = nlohmann::json::array();
    for (const auto& l : not_run)
        nr.push_back({{"check", l.check}, {"what", l.what}, {"needs", l.needs}});
    nlohmann::json rs = nlohmann::json::array();
    for (const auto& r : runs)
        rs.push_back({{"name", r.name}, {"ran", r.ran}, {"duration_ms", r.duration_ms}});
    return {{"checks", findings.to_json()},
            {"not_run", nr},
            {"runs", rs},
            {"summary",
             {{"fail", findings.count(Status::fail)},
              {"warn", findings.count(Status::warn)},
              {"info", findings.count(Status::info)},
              {"ok", findings.count(Status::ok)}}},
            {"connect_ms", connect_ms ? nlohmann::json(*connect_ms) : nlohmann::json(nullptr)},
            {"duration_ms", duration_ms}};
}

std::string Report::text(bool color) const {
    std::size_t width = 0;
    auto label_of = [](const Finding& f) {
        return f.name == f.check || f.check.empty() ? f.name : f.check + "/" + f.name;
    };
    for (const auto& f : findings.items())
        width = std::max(width, printable(label_of(f)).size());
    std::string out;
    for (const auto& f : findings.items()) {
        Style st = Style::none;
        if (f.status == Status::ok) st = Style::green;
        if (f.status == Status::warn) st = Style::yellow;
        if (f.status == Status::fail) st = Style::red;
        std::string sev = status_name(f.status);
        sev.resize(5, ' ');
        std::string label = printable(label_of(f));
        label.resize(width, ' ');
        out += styled(sev, st, color) + label + "  " + printable(f.message) + "\n";
        if (!f.hint.empty() && f.status != Status::ok) {
            out += std::string(5 + width + 2, ' ') +
                   styled("hint: " + printable(f.hint), Style::dim, color) + "\n";
        }
    }
    if (!not_run.empty()) {
        // One line per reason: "tls, locks: not run; needs a connection".
        std::vector<std::pair<std::string, std::vector<std::string>>> groups;
        for (const auto& l : not_run) {
            const std::string reason = l.what + "; needs " + l.needs;
            auto it = std::find_if(groups.begin(), groups.end(),
                                   [&](const auto& g) { return g.first == reason; });
            if (it == groups.end()) {
                groups.push_back({reason, {l.check}});
            } else if (std::find(it->second.begin(), it->second.end(), l.check) ==
                       it->second.end()) {
                it->second.push_back(l.check);
            }
        }
        out += "\nnot checked, and what would let ctldb check it:\n";
        for (const auto& [reason, names] : groups)
            out += "  " + join(names, ", ") + ": " + printable(reason) + "\n";
    }
    char line[160];
    std::snprintf(
        line, sizeof line, "\n%zu fail, %zu warn, %zu info, %zu ok; %zu check(s) in %.0f ms",
        findings.count(Status::fail), findings.count(Status::warn), findings.count(Status::info),
        findings.count(Status::ok), runs.size(), duration_ms);
    out += line;
    if (connect_ms) {
        std::snprintf(line, sizeof line, " (connecting %.0f ms)", *connect_ms);
        out += line;
    }
    return out + "\n";
}

}  // namespace ctldb::doctor
