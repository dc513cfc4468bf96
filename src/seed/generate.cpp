#include "seed/generate.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "base/log.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"
#include "base/stopwatch.hpp"
#include "base/text.hpp"
#include "pg/script.hpp"
#include "seed/seed_data.hpp"

namespace ctldb::seed {

namespace {

/// The tables seed generate writes to.
constexpr const char* kTables[] = {
    "users",   "subscriptions", "payment_methods", "payment_transactions",
    "refunds", "admin_roles",   "admin_audit_logs"};

/// kTables as an SQL list of names: users, subscriptions, ...
std::string table_list() {
    return join(kTables, ", ");
}

/// kTables as an SQL array of regclass, for catalog queries.
std::string table_array() {
    return "ARRAY['" + join(kTables, "', '") + "']::regclass[]";
}

}  // namespace

void require_schema(pg::Connection& conn) {
    pg::QueryResult r = exec(conn, "SELECT count(*) FROM unnest(ARRAY['" + join(kTables, "', '") +
                                       "']) t WHERE to_regclass(t) IS NULL");
    if (r.get_int(0, 0) != 0) {
        throw failure("the Admin Center schema is not there (or not complete)",
                      "run 'ctldb migrate' first");
    }
}

namespace {

/// What a bulk load takes off the tables and puts back afterwards, as
/// pg_restore does: foreign keys, primary/unique constraints and indexes.
/// Building them once over all rows is many times faster than maintaining
/// them row by row, and the foreign keys are then checked in one join each.
struct Detached {
    std::vector<std::string> restore;  // in order
};

Detached detach_constraints(pg::Connection& conn) {
    Detached d;
    std::vector<std::string> drops, fks, keys, indexes;
    const std::string targets = table_array();
    pg::QueryResult fk =
        exec(conn,
             "SELECT format('%s', conrelid::regclass), quote_ident(conname), "
             "pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND "
             "(conrelid = ANY(" +
                 targets + ") OR confrelid = ANY(" + targets + ")) ORDER BY 1, 2");
    for (int i = 0; i < fk.rows(); ++i) {
        drops.push_back("ALTER TABLE " + fk.get(i, 0) + " DROP CONSTRAINT " + fk.get(i, 1));
        fks.push_back("ALTER TABLE " + fk.get(i, 0) + " ADD CONSTRAINT " + fk.get(i, 1) + " " +
                      fk.get(i, 2));
    }
    pg::QueryResult idx =
        exec(conn,
             "SELECT format('%s', i.indexrelid::regclass), "
             "pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = ANY(" +
                 targets +
                 ") AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid "
                 "= i.indexrelid) ORDER BY 1");
    for (int i = 0; i < idx.rows(); ++i) {
        drops.push_back("DROP INDEX " + idx.get(i, 0));
        indexes.push_back(idx.get(i, 1));
    }
    pg::QueryResult key =
        exec(conn,
             "SELECT format('%s', conrelid::regclass), quote_ident(conname), "
             "pg_get_constraintdef(oid) FROM pg_constraint WHERE contype IN ('p', "
             "'u') AND conrelid = ANY(" +
                 targets + ") ORDER BY 1, 2");
    for (int i = 0; i < key.rows(); ++i) {
        drops.push_back("ALTER TABLE " + key.get(i, 0) + " DROP CONSTRAINT " + key.get(i, 1));
        keys.push_back("ALTER TABLE " + key.get(i, 0) + " ADD CONSTRAINT " + key.get(i, 1) + " " +
                       key.get(i, 2));
    }
    for (const auto& sql : drops)
        exec(conn, sql);
    d.restore = keys;
    d.restore.insert(d.restore.end(), indexes.begin(), indexes.end());
    d.restore.insert(d.restore.end(), fks.begin(), fks.end());
    return d;
}

/// True when the current role owns every table seed generate writes to
/// (needed to take constraints off for the load).
bool owns_tables(pg::Connection& conn) {
    return exec(conn, std::string("SELECT bool_and(pg_has_role(c.relowner, 'USAGE')) FROM "
                                  "pg_class c WHERE c.oid = ANY(") +
                          table_array() + ")")
               .get(0, 0) == "t";
}

/// Takes every lock the load needs at once, waiting at most `timeout`: an
/// ACCESS EXCLUSIVE request queued behind a long transaction would otherwise
/// stall every other query on the tables while it waits. Taking constraints
/// off also locks the tables that reference these ones.
void lock_tables(pg::Connection& conn, bool exclusive, const std::string& timeout) {
    set_timeout(conn, "lock_timeout", timeout, true);
    std::string tables = table_list();
    if (exclusive) {
        const pg::QueryResult others = exec(
            conn, std::string("SELECT DISTINCT format('%s', conrelid::regclass) FROM "
                              "pg_constraint WHERE contype = 'f' AND confrelid = ANY(") +
                      table_array() + ") AND NOT conrelid = ANY(" + table_array() + ") ORDER BY 1");
        for (int i = 0; i < others.rows(); ++i)
            tables += ", " + others.get(i, 0);
    }
    try {
        exec(conn, "LOCK TABLE " + tables + " IN " +
                       (exclusive ? "ACCESS EXCLUSIVE" : "ROW EXCLUSIVE") + " MODE");
    } catch (const pg::SqlError& e) {
        if (e.code() != ExitCode::lock) throw;
        throw Error(ExitCode::lock,
                    "the tables are in use: could not lock them within --lock-timeout " + timeout +
                        "; nothing was changed",
                    "'ctldb pool-stats' shows who holds locks; retry when they are done, or "
                    "raise --lock-timeout");
    }
    set_timeout(conn, "lock_timeout", "0", true);
}

/// Rows and bytes copied.
struct Loaded {
    std::uint64_t rows = 0, bytes = 0;
};

/// Generate and COPY every user in batches; the next batch is generated on
/// another core while this one is copied.
Loaded load_users(pg::Connection& conn, const GenerateOptions& o) {
    const std::uint64_t seed = o.seed;
    Progress progress("seed generate", static_cast<std::uint64_t>(o.users), "users");
    auto generate_batch = [&o, seed](std::int64_t first, Buffers& out) {
        const std::int64_t end = std::min(o.users, first + o.batch);
        for (std::int64_t i = first; i < end; ++i) {
            generate_user(seed, static_cast<std::uint64_t>(i), out);
        }
    };
    Buffers b;
    generate_admins(seed, b);
    generate_batch(0, b);
    Loaded out;
    for (std::int64_t first = 0; first < o.users; first += o.batch) {
        Buffers next;
        std::thread producer;
        if (first + o.batch < o.users) {
            producer = std::thread(generate_batch, first + o.batch, std::ref(next));
        }
        try {
            out.bytes += flush(conn, b);
        } catch (...) {
            if (producer.joinable()) producer.join();
            throw;
        }
        out.rows += b.rows;
        if (producer.joinable()) producer.join();
        b = std::move(next);
        progress.update(static_cast<std::uint64_t>(std::min(o.users, first + o.batch)), out.bytes);
    }
    progress.finish();
    return out;
}

/// Put back what detach_constraints took off, each statement timed at -vv.
void rebuild(pg::Connection& conn, const Detached& detached) {
    if (detached.restore.empty()) return;
    log::info("rebuilding " + std::to_string(detached.restore.size()) + " constraints and indexes");
    for (const auto& sql : detached.restore) {
        throw_if_interrupted();
        const Stopwatch t_sql;
        exec(conn, sql);
        char took[32];
        std::snprintf(took, sizeof took, "%.3f s: ", t_sql.seconds());
        log::debug(took + sql);
    }
}

}  // namespace

Generated generate(pg::Connection& conn, const GenerateOptions& o) {
    require_schema(conn);
    if (exec(conn, "SELECT count(*) FROM users WHERE id = $1::uuid", {admin_id_text(o.seed, 0)})
            .get_int(0, 0) > 0) {
        throw failure("data generated with --random-seed " + std::to_string(o.seed) +
                          " is already in the database",
                      "use another --random-seed, or remove the generated rows first");
    }
    const Stopwatch start;
    // One transaction: a failure or a signal leaves no half-generated data,
    // and constraints taken off for the load are back whatever happens.
    pg::TransactionGuard tx(conn);
    exec(conn, "SET LOCAL maintenance_work_mem = '256MB'");
    const bool detach = !o.keep_indexes && owns_tables(conn);
    if (!o.keep_indexes && !detach) {
        log::info("not the owner of the tables: loading with indexes and constraints in place");
    }
    lock_tables(conn, detach, o.lock_timeout);
    Detached detached;
    if (detach) detached = detach_constraints(conn);
    const Loaded loaded = load_users(conn, o);
    const Stopwatch rebuilding;
    rebuild(conn, detached);
    tx.commit();
    Generated out;
    out.rows = loaded.rows;
    out.bytes = loaded.bytes;
    out.seconds = start.seconds();
    out.rebuild_seconds = rebuilding.seconds();
    return out;
}

}  // namespace ctldb::seed
