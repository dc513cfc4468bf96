#include "checks/index_check.hpp"

#include <algorithm>
#include <cstdio>

#include "base/log.hpp"
#include "base/signals.hpp"
#include "base/text.hpp"
#include "pg/probes.hpp"

namespace ctldb::checks {

namespace {

const RequiredIndex kRequired[] = {
    {"idx_users_email", "users", "(email)"},
    {"idx_users_auth0_id", "users", "(auth0_id)"},
    {"idx_subscriptions_user_id", "subscriptions", "(user_id)"},
    {"idx_subscriptions_status", "subscriptions", "(status)"},
    {"idx_subscriptions_tier", "subscriptions", "(tier)"},
    {"idx_payment_transactions_user_id", "payment_transactions", "(user_id)"},
    {"idx_payment_transactions_status", "payment_transactions", "(status)"},
    {"idx_payment_transactions_created_at", "payment_transactions", "(created_at DESC)"},
    {"idx_admin_audit_logs_admin_user_id", "admin_audit_logs", "(admin_user_id)"},
    {"idx_admin_audit_logs_created_at", "admin_audit_logs", "(created_at DESC)"},
};

std::vector<IndexInfo> load_indexes(pg::Connection& conn) {
    pg::QueryResult r = exec(
        conn,
        // Deparsing opens the table: for one another session holds
        // ACCESS EXCLUSIVE (a migration), the catalog facts that need
        // no lock are kept and the definition is left out.
        "WITH locked AS (" + std::string(pg::probe::kExclusivelyLocked) +
            ") "
            "SELECT c.relname, t.relname, format('%I.%I', n.nspname, c.relname), "
            "format('%I.%I', tn.nspname, t.relname), "
            "CASE WHEN t.oid IN (SELECT relation FROM locked) OR c.oid IN (SELECT relation FROM "
            "locked) THEN NULL ELSE pg_get_indexdef(c.oid) END, am.amname, "
            "CASE WHEN t.oid IN (SELECT relation FROM locked) THEN '' ELSE "
            "coalesce(pg_get_expr(i.indpred, i.indrelid), '') END, "
            "CASE WHEN t.oid IN (SELECT relation FROM locked) THEN '' ELSE "
            "coalesce(pg_get_expr(i.indexprs, i.indrelid), '') END, i.indkey::text, "
            "i.indoption::text, i.indclass::text, i.indcollation::text, i.indisvalid, "
            "i.indisunique, i.indisprimary, EXISTS (SELECT 1 FROM pg_constraint k WHERE "
            "k.conindid = c.oid AND k.contype IN ('p', 'u', 'x')), EXISTS (SELECT 1 FROM "
            "pg_stat_progress_create_index p WHERE p.index_relid = c.oid), "
            "coalesce(s.idx_scan, 0), pg_relation_size(c.oid) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = "
            "c.relnamespace JOIN pg_namespace tn ON tn.oid = t.relnamespace JOIN pg_am am "
            "ON am.oid = c.relam LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = c.oid "
            "WHERE " +
            pg::probe::user_schema("n") + " ORDER BY 3");
    std::vector<IndexInfo> out;
    for (int i = 0; i < r.rows(); ++i) {
        IndexInfo x;
        x.name = r.get(i, 0);
        x.table = r.get(i, 1);
        x.qualified = r.get(i, 2);
        x.qualified_table = r.get(i, 3);
        x.locked = r.is_null(i, 4);
        x.definition = x.locked ? std::string() : r.get(i, 4);
        x.method = r.get(i, 5);
        x.predicate = r.get(i, 6);
        x.expressions = r.get(i, 7);
        x.keys = r.get(i, 8);
        x.options = r.get(i, 9);
        x.classes = r.get(i, 10);
        x.collations = r.get(i, 11);
        x.valid = r.get(i, 12) == "t";
        x.unique = r.get(i, 13) == "t";
        x.primary = r.get(i, 14) == "t";
        x.backs_constraint = r.get(i, 15) == "t";
        x.in_progress = r.get(i, 16) == "t";
        x.scans = r.get_int(i, 17);
        x.size = r.get_int(i, 18);
        out.push_back(std::move(x));
    }
    return out;
}

/// "(created_at DESC)" from "CREATE INDEX ... USING btree (created_at DESC) WHERE ...".
std::string key_part(const std::string& def) {
    const auto using_pos = def.find(" USING ");
    const auto open = def.find('(', using_pos == std::string::npos ? 0 : using_pos);
    if (open == std::string::npos) return {};
    int depth = 0;
    for (std::size_t i = open; i < def.size(); ++i) {
        if (def[i] == '(') ++depth;
        if (def[i] == ')' && --depth == 0) return def.substr(open, i - open + 1);
    }
    return {};
}

std::vector<std::string> words(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < s.size()) {
        auto end = s.find(' ', start);
        if (end == std::string::npos) end = s.size();
        if (end > start) out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

/// True when the first n entries of two int2vector/oidvector texts agree.
bool same_prefix(const std::string& a, const std::string& b, std::size_t n) {
    auto wa = words(a), wb = words(b);
    if (wa.size() < n || wb.size() < n) return false;
    for (std::size_t i = 0; i < n; ++i) {
        if (wa[i] != wb[i]) return false;
    }
    return true;
}

bool is_required(const std::string& name) {
    return std::any_of(std::begin(kRequired), std::end(kRequired),
                       [&](const RequiredIndex& r) { return name == r.name; });
}

/// The first column of a key part: "(created_at DESC)" -> "created_at".
std::string key_column(const std::string& key_part) {
    std::string c = key_part.substr(key_part.find('(') + 1);
    return c.substr(0, c.find_first_of(" ,)"));
}

bool leftover(const std::string& name) {
    return contains(name, "_ccnew") || contains(name, "_ccold");
}

}  // namespace

std::vector<Redundant> find_redundant(const std::vector<IndexInfo>& all) {
    std::vector<Redundant> out;
    for (std::size_t a = 0; a < all.size(); ++a) {
        for (std::size_t b = 0; b < all.size(); ++b) {
            const IndexInfo& x = all[a];
            const IndexInfo& y = all[b];
            if (a == b || x.qualified_table != y.qualified_table || x.method != y.method ||
                x.predicate != y.predicate || x.expressions != y.expressions || !x.valid ||
                !y.valid) {
                continue;
            }
            const std::size_t nx = words(x.keys).size(), ny = words(y.keys).size();
            if (nx > ny || !same_prefix(x.keys, y.keys, nx) ||
                !same_prefix(x.options, y.options, nx) || !same_prefix(x.classes, y.classes, nx) ||
                !same_prefix(x.collations, y.collations, nx)) {
                continue;
            }
            if (x.backs_constraint || x.primary) continue;
            // The guide asks for its indexes: never advise dropping one
            // in favour of an index it does not know, except for an exact
            // twin of a primary key's or unique constraint's index, which
            // does everything it does.
            const bool twin_of_constraint =
                nx == ny && !x.unique && (y.backs_constraint || y.primary) && y.unique;
            if (is_required(x.name) && !is_required(y.name) && !twin_of_constraint) continue;
            if (nx == ny) {
                // Exact duplicates: flag x unless y is the one to drop
                // instead: keep unique ones, the guide's, then the first name.
                if (x.unique && !y.unique) continue;
                if (x.unique == y.unique && is_required(x.name) == is_required(y.name) &&
                    !y.backs_constraint && x.name < y.name) {
                    continue;
                }
            } else if (x.unique) {
                continue;  // a unique index enforces something its wider twin does not
            }
            out.push_back({a, b, nx == ny});
            break;
        }
    }
    return out;
}

namespace {
IndexReport analyse_unguarded(pg::Connection& conn);
}  // namespace

/// Deparsing an index (pg_get_indexdef) and sizing it take share locks: behind
/// an ALTER TABLE, REINDEX or VACUUM FULL the check waits a little, then says
/// why instead of hanging.
IndexReport analyse_indexes(pg::Connection& conn) {
    // A caller's bound stays (doctor's is shorter); an unbounded session gets 5 s.
    std::string wait = exec(conn, "SHOW lock_timeout").get(0, 0);
    if (wait == "0") {
        exec(conn, "SET lock_timeout = '5s'");
        wait = "5s";
    }
    try {
        return analyse_unguarded(conn);
    } catch (const pg::SqlError& e) {
        if (e.code() != ExitCode::lock) throw;
        throw Error(ExitCode::lock,
                    "a table or index is locked by another session (a migration, REINDEX, "
                    "VACUUM FULL, ...) and cannot be inspected within lock_timeout " +
                        wait + "; nothing was checked",
                    "'ctldb pool-stats' shows the lock and its holder; retry when it is done");
    }
}

namespace {

using Json = nlohmann::json;

/// The guide's indexes: present, missing, invalid or defined otherwise.
/// Another plain btree index on the same one column (a unique
/// constraint's, under another name) already does the work: a second one
/// would only be a duplicate. One btree column serves both directions:
/// (created_at) covers the guide's (created_at DESC).
const IndexInfo* same_key_index(const RequiredIndex& req, const std::vector<IndexInfo>& all) {
    for (const auto& x : all) {
        if (x.table == req.table && x.valid && !x.locked && !x.has_predicate() &&
            x.expressions.empty() && x.method == "btree" && words(x.keys).size() == 1 &&
            key_column(key_part(x.definition)) == required_column(req))
            return &x;
    }
    return nullptr;
}

/// A guide index that is not there: not applicable where the team's
/// schema has no such table or column (the guide's index is for the
/// guide's schema), else missing. Its state.
std::string judge_absent(pg::Connection& conn, const RequiredIndex& req, IndexReport& rep) {
    Findings& f = rep.findings;
    const pg::QueryResult r = exec(conn,
                                   "SELECT to_regclass($1) IS NULL, NOT EXISTS (SELECT 1 FROM "
                                   "pg_attribute WHERE attrelid = to_regclass($1) AND attname "
                                   "= $2 AND attnum > 0 AND NOT attisdropped)",
                                   {std::string(req.table), required_column(req)});
    const bool no_table = r.get(0, 0) == "t", no_column = r.get(0, 1) == "t";
    if (no_table || no_column) {
        rep.not_applicable.emplace_back(req.name);
        f.add(req.name, Status::info,
              "not applicable: " +
                  (no_table ? "this database has no table " + std::string(req.table)
                            : std::string(req.table) + " has no column " + required_column(req)) +
                  " (the guide's index is ON " + req.table + " " + req.columns + ")");
        return "not applicable";
    }
    rep.required_problem = true;
    f.add(req.name, Status::fail, "missing (on " + std::string(req.table) + " " + req.columns + ")",
          "ctldb indexes ensure (CREATE INDEX CONCURRENTLY, no write lock)");
    rep.ensure_sql.push_back(std::string("CREATE INDEX CONCURRENTLY IF NOT EXISTS ") + req.name +
                             " ON " + req.table + " " + req.columns);
    return "missing";
}

/// A guide index that is there: invalid, locked, different or present.
std::string judge_present(const RequiredIndex& req, const IndexInfo& found, IndexReport& rep) {
    Findings& f = rep.findings;
    if (!found.valid && !found.in_progress) {
        rep.required_problem = true;
        f.add(req.name, Status::fail,
              "INVALID (a failed concurrent build): " +
                  (found.locked ? found.qualified : found.definition),
              "ctldb indexes ensure rebuilds it concurrently");
        return "invalid";
    }
    if (found.locked) {
        f.add(req.name, Status::warn,
              "present and valid; its definition was not compared: " + found.qualified_table +
                  " is locked by another session",
              "retry when the lock is released ('ctldb queries' shows its holder)");
        return "locked";
    }
    if (found.table != req.table || key_part(found.definition) != req.columns ||
        found.has_predicate()) {
        f.add(req.name, Status::warn,
              "different definition: " + found.definition + " (guide: ON " + req.table + " " +
                  req.columns + ")");
        return "different";
    }
    f.add(req.name, Status::ok, found.definition.substr(found.definition.find(" ON ") + 4));
    return found.in_progress ? "building" : "present";
}

Json check_required(pg::Connection& conn, const std::vector<IndexInfo>& all, IndexReport& rep) {
    nlohmann::json required = nlohmann::json::array();
    for (const auto& req : kRequired) {
        const IndexInfo* found = nullptr;
        for (const auto& x : all) {
            if (x.name == req.name) found = &x;
        }
        const IndexInfo* same_key = found == nullptr ? same_key_index(req, all) : nullptr;
        std::string state;
        if (found != nullptr) {
            state = judge_present(req, *found, rep);
        } else if (same_key != nullptr) {
            state = "covered";
            rep.findings.add(
                req.name, Status::ok,
                "covered by " + same_key->qualified + " (" +
                    same_key->definition.substr(same_key->definition.find(" ON ") + 4) +
                    "): the same column, so a second index would be a duplicate");
        } else {
            state = judge_absent(conn, req, rep);
        }
        required.push_back(
            {{"name", req.name},
             {"table", req.table},
             {"columns", req.columns},
             {"state", state},
             {"definition", found ? nlohmann::json(found->definition) : nlohmann::json(nullptr)},
             {"covered_by",
              same_key ? nlohmann::json(same_key->qualified) : nlohmann::json(nullptr)}});
    }
    return required;
}

/// Every invalid index, and the SQL that drops or rebuilds it.
Json check_invalid(const std::vector<IndexInfo>& all, IndexReport& rep) {
    Findings& f = rep.findings;
    nlohmann::json invalid = nlohmann::json::array();
    for (const auto& x : all) {
        if (x.valid || x.in_progress) continue;
        invalid.push_back(
            {{"index", x.qualified}, {"definition", x.definition}, {"leftover", leftover(x.name)}});
        if (!is_required(x.name)) {
            f.add(x.qualified, Status::fail,
                  leftover(x.name) ? "leftover of a failed REINDEX CONCURRENTLY"
                                   : "INVALID index (a failed concurrent build): " +
                                         (x.locked ? x.qualified : x.definition),
                  leftover(x.name) ? "DROP INDEX CONCURRENTLY " + x.qualified
                                   : "ctldb indexes ensure rebuilds it concurrently");
        }
        rep.ensure_sql.push_back("DROP INDEX CONCURRENTLY IF EXISTS " + x.qualified);
        if (!leftover(x.name)) {
            std::string def = x.definition;
            const auto at = def.find(" INDEX ");
            if (at != std::string::npos) def.insert(at + 7, "CONCURRENTLY ");
            rep.ensure_sql.push_back(def);
        }
    }

    return invalid;
}

Json check_duplicates(const std::vector<IndexInfo>& all, IndexReport& rep) {
    Findings& f = rep.findings;
    nlohmann::json duplicates = nlohmann::json::array();
    for (const Redundant& d : find_redundant(all)) {
        const IndexInfo& x = all[d.index];
        const IndexInfo& y = all[d.covered_by];
        if (x.locked || y.locked) continue;  // predicates and expressions unknown
        duplicates.push_back({{"index", x.qualified},
                              {"covered_by", y.qualified},
                              {"exact", d.exact},
                              {"size_bytes", x.size}});
        f.add(x.qualified, Status::warn,
              std::string(d.exact ? "duplicate of " : "covered by ") + y.qualified + ": " +
                  x.definition,
              "DROP INDEX CONCURRENTLY " + x.qualified);
    }

    return duplicates;
}

/// Never-scanned indexes that enforce nothing, and since when they count.
Json check_unused(pg::Connection& conn, const std::vector<IndexInfo>& all, IndexReport& rep,
                  Json& doc) {
    Findings& f = rep.findings;
    const pg::probe::StatsAge stats = pg::probe::stats_age(conn);
    rep.stats_age_seconds = stats.seconds;
    nlohmann::json unused = nlohmann::json::array();
    for (const auto& x : all) {
        if (x.scans != 0 || x.unique || x.primary || x.backs_constraint || !x.valid) continue;
        unused.push_back({{"index", x.qualified}, {"size_bytes", x.size}});
    }
    if (!unused.empty()) {
        f.add("unused", Status::info,
              std::to_string(unused.size()) + " non-unique indexes never scanned since " +
                  stats.since + (stats.reset_at ? " (statistics reset)" : " (server start)"));
    }

    rep.unused = unused.size();
    doc["stats_reset"] = stats.reset_at ? Json(*stats.reset_at) : Json(nullptr);
    doc["stats_since"] = stats.since;
    doc["stats_age_seconds"] = stats.seconds;
    return unused;
}

Json check_foreign_keys(pg::Connection& conn, IndexReport& rep) {
    Findings& f = rep.findings;
    pg::QueryResult fk =
        exec(conn,
             "SELECT format('%I.%I', n.nspname, t.relname), c.conname, (SELECT "
             "string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_attribute a WHERE "
             "a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)) FROM pg_constraint c "
             "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = "
             "t.relnamespace WHERE c.contype = 'f' AND NOT EXISTS (SELECT 1 FROM pg_index i "
             "WHERE i.indrelid = c.conrelid AND i.indpred IS NULL AND (SELECT "
             "array_agg(k ORDER BY k) FROM unnest(((i.indkey::int2[])[0:cardinality(c.conkey) "
             "- 1])) k) = (SELECT array_agg(k ORDER BY k) FROM unnest(c.conkey) k)) ORDER BY 1, 2");
    nlohmann::json fks = nlohmann::json::array();
    for (int i = 0; i < fk.rows(); ++i) {
        fks.push_back(
            {{"table", fk.get(i, 0)}, {"constraint", fk.get(i, 1)}, {"columns", fk.get(i, 2)}});
        f.add(fk.get(i, 0), Status::warn,
              "foreign key " + fk.get(i, 1) + " (" + fk.get(i, 2) + ") has no index");
    }
    return fks;
}

/// The share of index blocks read from cache, and the indexes' total size.
void hit_rate(pg::Connection& conn, IndexReport& rep, Json& doc) {
    Findings& f = rep.findings;
    pg::QueryResult hit =
        exec(conn,
             "SELECT coalesce(sum(idx_blks_hit), 0), coalesce(sum(idx_blks_read), 0), "
             "coalesce(sum(pg_relation_size(indexrelid)), 0) FROM pg_statio_user_indexes");
    const double h = static_cast<double>(hit.get_int(0, 0)),
                 rd = static_cast<double>(hit.get_int(0, 1));
    const double rate = h + rd > 0 ? h / (h + rd) : 1.0;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.2f%% of index blocks from cache; %.1f MB of indexes",
                  rate * 100, static_cast<double>(hit.get_int(0, 2)) / 1e6);
    f.add("hit rate", Status::info, buf);
    doc["hit_rate"] = rate;
    doc["index_bytes"] = hit.get_int(0, 2);
}

IndexReport analyse_unguarded(pg::Connection& conn) {
    IndexReport rep;
    auto all = load_indexes(conn);
    // What a lock kept from being read is named once; everything else is
    // checked, and its findings count.
    if (std::any_of(all.begin(), all.end(), [](const IndexInfo& x) { return x.locked; })) {
        rep.findings.add("locked tables", Status::warn,
                         "index definitions not compared on tables another session holds in "
                         "ACCESS EXCLUSIVE mode: " +
                             join(pg::probe::exclusively_locked(conn), ", "),
                         "retry when the lock is released; validity was checked all the same");
    }
    Json doc = Json::object();
    doc["required"] = check_required(conn, all, rep);
    doc["invalid"] = check_invalid(all, rep);
    doc["duplicates"] = check_duplicates(all, rep);
    doc["unused"] = check_unused(conn, all, rep, doc);
    doc["foreign_keys_without_index"] = check_foreign_keys(conn, rep);
    hit_rate(conn, rep, doc);
    Json sizes = Json::object();
    for (const auto& x : all)
        sizes[x.qualified] = x.size;
    doc["sizes"] = sizes;
    rep.doc = std::move(doc);
    return rep;
}

}  // namespace

ExitCode IndexReport::code() const {
    return required_problem || findings.failed() ? ExitCode::failure : ExitCode::ok;
}

std::string IndexReport::text(bool color) const {
    return findings.render(color);
}

nlohmann::json IndexReport::json() const {
    nlohmann::json j = doc;
    j["checks"] = findings.to_json();
    return j;
}

std::string required_column(const RequiredIndex& r) {
    return key_column(r.columns);
}

const std::vector<RequiredIndex>& required_indexes() {
    static const std::vector<RequiredIndex> v(std::begin(kRequired), std::end(kRequired));
    return v;
}

std::vector<std::string> ensure_indexes(pg::Connection& conn, const IndexReport& rep,
                                        const std::string& lock_timeout,
                                        const std::function<void(std::size_t)>& progress) {
    set_timeout(conn, "lock_timeout", lock_timeout, false);
    std::vector<std::string> done;
    for (const auto& s : rep.ensure_sql) {
        throw_if_interrupted();
        log::info(s);
        progress(done.size());
        exec(conn, s);
        done.push_back(s);
    }
    return done;
}

}  // namespace ctldb::checks
