// ctldb seed: the development data of the guide (idempotent), and
// `seed generate`: realistic synthetic data at scale, loaded with COPY.
// Both refuse to run when CTLDB_ENV=production unless --force.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "ctldb/connection.hpp"
#include "ctldb/context.hpp"
#include "ctldb/embedded.hpp"
#include "ctldb/fs.hpp"
#include "ctldb/log.hpp"
#include "ctldb/script.hpp"
#include "ctldb/signals.hpp"
#include "ctldb/text.hpp"

#include <algorithm>

namespace ctldb {

namespace {

struct SeedOptions {
    std::string dir;
    bool force = false;
    std::int64_t users = 0;
    std::uint64_t random_seed = 1;
    std::int64_t batch = 5000;
    bool keep_indexes = false;
};

void refuse_in_production(const Config& cfg, bool force) {
    if (cfg.is_production() && !force) {
        throw usage_error("refusing to seed a production database (CTLDB_ENV=production from " +
                              cfg.get("env").source + "); nothing was changed",
                          "pass --force if this really is what you want");
    }
}

void require_schema(Connection& conn) {
    QueryResult r = exec(conn,
                         "SELECT count(*) FROM unnest(ARRAY['users', 'subscriptions', "
                         "'payment_methods', 'payment_transactions', 'refunds', 'admin_roles', "
                         "'admin_audit_logs']) t WHERE to_regclass(t) IS NULL");
    if (r.get_int(0, 0) != 0) {
        throw failure("the Admin Center schema is not there (or not complete)",
                      "run 'ctldb migrate' first");
    }
}

std::vector<std::pair<std::string, std::string>> seed_files(const SeedOptions& o) {
    std::vector<std::pair<std::string, std::string>> files;
    if (o.dir.empty()) {
        for (const auto& f : embedded_seeds())
            files.emplace_back(f.name, f.text());
        return files;
    }
    if (!fs::is_dir(o.dir)) throw usage_error("cannot read seed directory " + o.dir);
    const std::vector<std::string> names = fs::list_files(o.dir, ".sql");
    for (const auto& n : names)
        files.emplace_back(n, fs::read_file(o.dir + "/" + n));
    if (files.empty()) throw usage_error("no .sql files in " + o.dir);
    return files;
}

ExitCode run_seed(const SeedOptions& o, Context& ctx) {
    const Config& cfg = ctx.valid_config(true);
    refuse_in_production(cfg, o.force);
    const auto files = seed_files(o);
    auto conn = connect(cfg.connection());
    require_schema(*conn);
    TransactionGuard tx(*conn);
    std::int64_t rows = 0;
    nlohmann::json per_file = nlohmann::json::array();
    for (const auto& [name, text] : files) {
        const std::int64_t n = run_script(*conn, name, text);
        per_file.push_back({{"file", name}, {"rows_inserted", n}});
        rows += n;
    }
    tx.commit();
    if (ctx.json()) {
        print_json({{"ok", true}, {"rows_inserted", rows}, {"files", per_file}});
    } else {
        print_text(rows == 0 ? "seed data already present; nothing changed\n"
                             : "seeded " + std::to_string(rows) + " rows from " +
                                   std::to_string(files.size()) + " file(s)\n");
    }
    return ExitCode::ok;
}

// --- seed generate -----------------------------------------------------------

/// splitmix64: small, fast, and the same on every machine.
class Rng {
  public:
    explicit Rng(std::uint64_t seed) : s_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, n).
    std::uint64_t below(std::uint64_t n) { return next() % n; }
    bool chance(unsigned percent) { return below(100) < percent; }

  private:
    std::uint64_t s_;
};

/// A stream per (seed, kind, index): a user's data does not depend on the
/// batch size or on other users.
Rng stream(std::uint64_t seed, std::uint64_t kind, std::uint64_t index) {
    Rng mix(seed ^ (kind * 0xD1B54A32D192ED03ULL));
    for (int i = 0; i < 2; ++i)
        mix.next();
    return Rng(mix.next() ^ (index * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL));
}

void append_uuid(std::string& out, Rng& rng) {
    static const char* hex = "0123456789abcdef";
    std::uint64_t a = rng.next(), b = rng.next();
    a = (a & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
    b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 1
    char buf[36];
    int p = 0;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) buf[p++] = '-';
        const std::uint64_t word = i < 8 ? a : b;
        const unsigned byte = static_cast<unsigned>((word >> (8 * (7 - (i % 8)))) & 0xFF);
        buf[p++] = hex[byte >> 4];
        buf[p++] = hex[byte & 15];
    }
    out.append(buf, 36);
}

std::string uuid(Rng& rng) {
    std::string s;
    append_uuid(s, rng);
    return s;
}

// All generated times lie before this fixed instant, so a seed always
// produces the same rows whenever it runs.
constexpr std::int64_t kEpoch = 1767225600;  // 2026-01-01T00:00:00Z

void append_time(std::string& out, std::int64_t unix_seconds) {
    out += utc_format(static_cast<std::time_t>(unix_seconds), "%Y-%m-%d %H:%M:%S+00");
}

void append_cents(std::string& out, std::int64_t cents) {
    out += std::to_string(cents / 100);
    out += '.';
    const std::int64_t c = cents % 100;
    out += static_cast<char>('0' + c / 10);
    out += static_cast<char>('0' + c % 10);
}

constexpr const char* kFirst[] = {"olivia", "liam",  "emma",  "noah",  "ava",   "lucas", "mia",
                                  "ethan",  "sofia", "mateo", "amara", "kenji", "priya", "omar",
                                  "lena",   "yusuf", "chloe", "diego", "hana",  "ivan"};
constexpr const char* kLast[] = {"smith",  "garcia", "muller", "rossi",   "kim",    "nguyen",
                                 "silva",  "cohen",  "novak",  "okafor",  "tanaka", "patel",
                                 "jensen", "haddad", "lopez",  "schmidt", "dubois", "singh"};
constexpr const char* kBrands[] = {"visa", "mastercard", "amex", "discover"};
constexpr const char* kActions[] = {"user.view",    "user.update",   "subscription.update",
                                    "payment.view", "refund.review", "user.suspend"};

template <std::size_t N>
const char* pick(Rng& rng, const char* const (&items)[N]) {
    return items[rng.below(N)];
}

struct Buffers {
    std::string users, subscriptions, methods, transactions, refunds, roles, audit;
    std::uint64_t rows = 0;
    std::size_t bytes() const {
        return users.size() + subscriptions.size() + methods.size() + transactions.size() +
               refunds.size() + roles.size() + audit.size();
    }
};

constexpr int kAdmins = 3;

std::string admin_id(std::uint64_t seed, int k) {
    Rng r = stream(seed, 1, static_cast<std::uint64_t>(k));
    return uuid(r);
}

void generate_admins(std::uint64_t seed, Buffers& b) {
    static const char* roles[] = {"super_admin", "support_admin", "finance_admin"};
    for (int k = 0; k < kAdmins; ++k) {
        Rng r = stream(seed, 2, static_cast<std::uint64_t>(k));
        const std::string id = admin_id(seed, k);
        b.users += id + "\tadmin" + std::to_string(k + 1) + ".s" + std::to_string(seed) +
                   "@example.com\tauth0|gen-" + std::to_string(seed) + "-admin-" +
                   std::to_string(k + 1) + "\tAdmin " + std::to_string(k + 1) + "\tt\t";
        append_time(b.users, kEpoch - 800 * 86400);
        b.users += '\n';
        b.roles += uuid(r) + "\t" + id + "\t" + roles[k] + "\t" +
                   (k == 0 ? std::string("\\N") : admin_id(seed, 0)) + "\n";
        b.rows += 2;
    }
}

void generate_user(std::uint64_t seed, std::uint64_t i, Buffers& b) {
    Rng r = stream(seed, 3, i);
    const std::string user = uuid(r);
    const char* first = pick(r, kFirst);
    const char* last = pick(r, kLast);
    const std::int64_t created = kEpoch - static_cast<std::int64_t>(r.below(730 * 86400)) - 86400;
    // users: id, email, auth0_id, name, email_verified, created_at
    b.users += user;
    b.users += '\t';
    b.users += first;
    b.users += '.';
    b.users += last;
    b.users += '.';
    b.users += std::to_string(seed) + "." + std::to_string(i) + "@example.com\tauth0|gen-" +
               std::to_string(seed) + "-" + std::to_string(i) + "\t";
    b.users += static_cast<char>(first[0] - 32);
    b.users += first + 1;
    b.users += ' ';
    b.users += static_cast<char>(last[0] - 32);
    b.users += last + 1;
    b.users += r.chance(90) ? "\tt\t" : "\tf\t";
    append_time(b.users, created);
    b.users += '\n';

    // subscription: free 60%, premium 30%, enterprise 10%
    const std::uint64_t t = r.below(100);
    const char* tier = t < 60 ? "free" : (t < 90 ? "premium" : "enterprise");
    const std::int64_t price = t < 60 ? 0 : (t < 90 ? 999 : 49900);
    const std::uint64_t s = r.below(100);
    const char* status = s < 80 ? "active" : s < 88 ? "canceled" : s < 94 ? "past_due" : "trialing";
    const std::string sub = uuid(r);
    b.subscriptions += sub + "\t" + user + "\t" + tier + "\t" + status + "\t";
    const std::int64_t period_start = kEpoch - static_cast<std::int64_t>(r.below(30)) * 86400;
    if (price == 0) {
        b.subscriptions += "\\N\t\\N\t\\N\t\\N\t";
    } else {
        append_time(b.subscriptions, period_start);
        b.subscriptions += '\t';
        append_time(b.subscriptions, period_start + 30 * 86400);
        b.subscriptions += "\tcus_gen_" + std::to_string(seed) + "_" + std::to_string(i) +
                           "\tsub_gen_" + std::to_string(seed) + "_" + std::to_string(i) + "\t";
    }
    append_time(b.subscriptions, created);
    b.subscriptions += '\n';

    // 1-3 payment methods, the first one the default
    const int n_methods = 1 + static_cast<int>(r.below(3));
    std::string methods[3];
    std::string last4[3];
    for (int m = 0; m < n_methods; ++m) {
        methods[m] = uuid(r);
        char l4[5];
        std::snprintf(l4, sizeof l4, "%04u", static_cast<unsigned>(r.below(10000)));
        last4[m] = l4;
        b.methods += methods[m] + "\t" + user + "\tcard\tpm_gen_" + std::to_string(seed) + "_" +
                     std::to_string(i) + "_" + std::to_string(m) + "\t" + pick(r, kBrands) + "\t" +
                     last4[m] + "\t" + std::to_string(1 + r.below(12)) + "\t" +
                     std::to_string(2026 + r.below(5)) + "\t" + (m == 0 ? "t" : "f") + "\tactive\n";
    }

    // several transactions; paid tiers monthly, free users the odd one-off
    const int n_tx = price == 0 ? static_cast<int>(r.below(3)) : 2 + static_cast<int>(r.below(7));
    for (int k = 0; k < n_tx; ++k) {
        const std::string tx = uuid(r);
        const int m = static_cast<int>(r.below(static_cast<std::uint64_t>(n_methods)));
        const std::int64_t amount =
            price == 0 ? 199 + static_cast<std::int64_t>(r.below(2000)) : price;
        const std::uint64_t roll = r.below(100);
        const char* tx_status = roll < 85   ? "succeeded"
                                : roll < 93 ? "failed"
                                : roll < 98 ? "refunded"
                                            : "pending";
        b.transactions += tx + "\t" + user + "\t" + (price == 0 ? std::string("\\N") : sub) + "\t" +
                          methods[m] + "\t";
        append_cents(b.transactions, amount);
        b.transactions += "\tUSD\t";
        b.transactions += tx_status;
        b.transactions += "\tpi_gen_" + std::to_string(seed) + "_" + std::to_string(i) + "_" +
                          std::to_string(k) + "\tcard\t" + last4[m] + "\t";
        if (roll >= 85 && roll < 93) {
            b.transactions += "card_declined\tYour card was declined.\t";
        } else {
            b.transactions += "\\N\t\\N\t";
        }
        append_time(b.transactions, created + static_cast<std::int64_t>(k) * 30 * 86400 +
                                        static_cast<std::int64_t>(r.below(86400)));
        b.transactions += '\n';
        if (roll >= 93 && roll < 98) {
            // refunds: transaction, amount, reason, status, processed_by (finance admin)
            static const char* reasons[] = {"customer_request", "duplicate", "service_issue",
                                            "fraudulent", "other"};
            b.refunds += uuid(r) + "\t" + tx + "\t";
            append_cents(b.refunds, amount);
            b.refunds +=
                std::string("\t") + pick(r, reasons) + "\tsucceeded\t" + admin_id(seed, 2) + "\t";
            append_time(b.refunds, created + static_cast<std::int64_t>(k) * 30 * 86400 + 2 * 86400);
            b.refunds += '\n';
            ++b.rows;
        }
    }

    // audit entries by the support admin about this user
    const int n_audit = 1 + static_cast<int>(r.below(3));
    for (int a = 0; a < n_audit; ++a) {
        b.audit += uuid(r) + "\t" + admin_id(seed, 1) + "\t" + pick(r, kActions) + "\tuser\t" +
                   user + "\t" + user + "\t{\"source\": \"ctldb seed generate\"}\t10." +
                   std::to_string(r.below(256)) + "." + std::to_string(r.below(256)) + "." +
                   std::to_string(1 + r.below(254)) + "\tMozilla/5.0 (ctldb seed)\t";
        append_time(b.audit, created + static_cast<std::int64_t>(r.below(365 * 86400)));
        b.audit += '\n';
    }
    b.rows += 2 + static_cast<std::uint64_t>(n_methods + n_tx + n_audit);
}

std::uint64_t flush(Connection& conn, Buffers& b) {
    struct Target {
        const char* copy;
        std::string* data;
    } targets[] = {
        {"COPY users (id, email, auth0_id, name, email_verified, created_at) FROM STDIN", &b.users},
        {"COPY admin_roles (id, user_id, role, granted_by) FROM STDIN", &b.roles},
        {"COPY subscriptions (id, user_id, tier, status, current_period_start, current_period_end, "
         "stripe_customer_id, stripe_subscription_id, created_at) FROM STDIN",
         &b.subscriptions},
        {"COPY payment_methods (id, user_id, type, stripe_payment_method_id, card_brand, "
         "card_last4, "
         "card_exp_month, card_exp_year, is_default, status) FROM STDIN",
         &b.methods},
        {"COPY payment_transactions (id, user_id, subscription_id, payment_method_id, amount, "
         "currency, status, stripe_payment_intent_id, payment_method_type, payment_method_last4, "
         "failure_code, failure_message, created_at) FROM STDIN",
         &b.transactions},
        {"COPY refunds (id, transaction_id, amount, reason, status, processed_by, created_at) FROM "
         "STDIN",
         &b.refunds},
        {"COPY admin_audit_logs (id, admin_user_id, action, resource_type, resource_id, "
         "affected_user_id, details, ip_address, user_agent, created_at) FROM STDIN",
         &b.audit},
    };
    std::uint64_t bytes = 0;
    for (auto& t : targets) {
        throw_if_interrupted();
        if (t.data->empty()) continue;
        copy_from(conn, t.copy, *t.data);
        bytes += t.data->size();
        t.data->clear();
    }
    return bytes;
}

constexpr const char* kGeneratedTables =
    "ARRAY['users', 'subscriptions', 'payment_methods', 'payment_transactions', 'refunds', "
    "'admin_roles', 'admin_audit_logs']::regclass[]";

/// What a bulk load takes off the tables and puts back afterwards, as
/// pg_restore does: foreign keys, primary/unique constraints and indexes.
/// Building them once over all rows is many times faster than maintaining
/// them row by row, and the foreign keys are then checked in one join each.
struct Detached {
    std::vector<std::string> restore;  // in order
};

Detached detach_constraints(Connection& conn) {
    Detached d;
    std::vector<std::string> drops, fks, keys, indexes;
    const std::string targets = kGeneratedTables;
    QueryResult fk = exec(conn,
                          "SELECT format('%s', conrelid::regclass), quote_ident(conname), "
                          "pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND "
                          "(conrelid = ANY(" +
                              targets + ") OR confrelid = ANY(" + targets + ")) ORDER BY 1, 2");
    for (int i = 0; i < fk.rows(); ++i) {
        drops.push_back("ALTER TABLE " + fk.get(i, 0) + " DROP CONSTRAINT " + fk.get(i, 1));
        fks.push_back("ALTER TABLE " + fk.get(i, 0) + " ADD CONSTRAINT " + fk.get(i, 1) + " " +
                      fk.get(i, 2));
    }
    QueryResult idx = exec(conn,
                           "SELECT format('%s', i.indexrelid::regclass), "
                           "pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = ANY(" +
                               targets +
                               ") AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid "
                               "= i.indexrelid) ORDER BY 1");
    for (int i = 0; i < idx.rows(); ++i) {
        drops.push_back("DROP INDEX " + idx.get(i, 0));
        indexes.push_back(idx.get(i, 1));
    }
    QueryResult key = exec(conn,
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
bool owns_tables(Connection& conn) {
    return exec(conn, std::string("SELECT bool_and(pg_has_role(c.relowner, 'USAGE')) FROM "
                                  "pg_class c WHERE c.oid = ANY(") +
                          kGeneratedTables + ")")
               .get(0, 0) == "t";
}

ExitCode run_generate(const SeedOptions& o, Context& ctx) {
    const Config& cfg = ctx.valid_config(true);
    refuse_in_production(cfg, o.force);
    if (o.users <= 0) throw usage_error("--users must be a positive number");
    auto conn = connect(cfg.connection());
    require_schema(*conn);
    if (exec(*conn, "SELECT count(*) FROM users WHERE id = $1::uuid", {admin_id(o.random_seed, 0)})
            .get_int(0, 0) > 0) {
        throw failure("data generated with --random-seed " + std::to_string(o.random_seed) +
                          " is already in the database",
                      "use another --random-seed, or remove the generated rows first");
    }
    const auto start = std::chrono::steady_clock::now();
    Progress progress("seed generate", static_cast<std::uint64_t>(o.users), "users");
    Buffers b;
    std::uint64_t bytes = 0;
    // One transaction: a failure or a signal leaves no half-generated data,
    // and constraints taken off for the load are back whatever happens.
    TransactionGuard tx(*conn);
    exec(*conn, "SET LOCAL maintenance_work_mem = '256MB'");
    Detached detached;
    if (!o.keep_indexes) {
        if (owns_tables(*conn)) {
            detached = detach_constraints(*conn);
        } else {
            log::info("not the owner of the tables: loading with indexes and constraints in place");
        }
    }
    // The next batch is generated on another core while this one is copied.
    auto generate_batch = [&o](std::int64_t first, Buffers& out) {
        const std::int64_t end = std::min(o.users, first + o.batch);
        for (std::int64_t i = first; i < end; ++i) {
            generate_user(o.random_seed, static_cast<std::uint64_t>(i), out);
        }
    };
    generate_admins(o.random_seed, b);
    generate_batch(0, b);
    std::uint64_t rows = 0;
    for (std::int64_t first = 0; first < o.users; first += o.batch) {
        Buffers next;
        std::thread producer;
        if (first + o.batch < o.users) {
            producer = std::thread(generate_batch, first + o.batch, std::ref(next));
        }
        try {
            bytes += flush(*conn, b);
        } catch (...) {
            if (producer.joinable()) producer.join();
            throw;
        }
        rows += b.rows;
        if (producer.joinable()) producer.join();
        b = std::move(next);
        progress.update(static_cast<std::uint64_t>(std::min(o.users, first + o.batch)), bytes);
    }
    progress.finish();
    if (!detached.restore.empty()) {
        log::info("rebuilding " + std::to_string(detached.restore.size()) +
                  " constraints and indexes");
        for (const auto& sql : detached.restore) {
            throw_if_interrupted();
            const auto t_sql = std::chrono::steady_clock::now();
            exec(*conn, sql);
            char took[32];
            std::snprintf(
                took, sizeof took, "%.3f s: ",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t_sql).count());
            log::debug(took + sql);
        }
    }
    tx.commit();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double mb = static_cast<double>(bytes) / 1e6;
    if (ctx.json()) {
        print_json({{"ok", true},
                    {"users", o.users},
                    {"random_seed", o.random_seed},
                    {"rows", rows},
                    {"copy_bytes", bytes},
                    {"seconds", secs},
                    {"mb_per_second", secs > 0 ? mb / secs : 0.0}});
    } else {
        char line[200];
        std::snprintf(line, sizeof line,
                      "generated %lld users (%llu rows, %.1f MB) in %.2f s: %.1f MB/s\n",
                      static_cast<long long>(o.users), static_cast<unsigned long long>(rows), mb,
                      secs, secs > 0 ? mb / secs : 0.0);
        print_text(line);
    }
    return ExitCode::ok;
}

}  // namespace

void register_seed(CLI::App& app, Context& ctx) {
    static SeedOptions o;
    auto* cmd = app.add_subcommand("seed", "Development seed data (idempotent), or generated data");
    cmd->add_option("--dir", o.dir, "Directory of seed .sql files (default: built into ctldb)");
    cmd->add_flag("--force", o.force, "Allow it when CTLDB_ENV=production");
    cmd->callback([cmd, &ctx] {
        if (cmd->get_subcommands().empty()) ctx.run = [&ctx] { return run_seed(o, ctx); };
    });
    auto* gen = cmd->add_subcommand("generate", "Realistic synthetic data at scale, with COPY");
    gen->add_option("--users", o.users,
                    "How many users to generate (each with subscription, "
                    "payment methods, transactions, refunds, audit entries)")
        ->required()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{100000000}));
    gen->add_option("--random-seed", o.random_seed, "Seed: the same seed gives the same data");
    gen->add_option("--batch-users", o.batch, "Users per COPY batch")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000}));
    gen->add_flag("--keep-indexes", o.keep_indexes,
                  "Load with indexes and constraints in place (slower; no exclusive locks)");
    gen->add_flag("--force", o.force, "Allow it when CTLDB_ENV=production");
    gen->callback([&ctx] { ctx.run = [&ctx] { return run_generate(o, ctx); }; });
}

}  // namespace ctldb
