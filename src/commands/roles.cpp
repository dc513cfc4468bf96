// ctldb roles [check|create-readonly|rotate-password]: the guide's "Least
// privilege" and "Strong passwords". Passwords are only ever sent as SCRAM
// verifiers computed here (PQencryptPasswordConn), so the plain text never
// reaches the server or its log; a rotated password is written to disk
// (mode 0600) before the server has it, proven by logging in, and only
// then moved into place.
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include <libpq-fe.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/fs.hpp"
#include "base/log.hpp"
#include "base/output.hpp"
#include "base/password.hpp"
#include "base/text.hpp"
#include "cli/cli_values.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/commands.hpp"
#include "pg/connection.hpp"
#include "pg/probes.hpp"
#include "pg/sql.hpp"
#include "roles/role_changes.hpp"
#include "roles/roles.hpp"

namespace ctldb::commands {

namespace {

using roles::RoleInfo;

struct RolesOptions {
    bool all = false;
    // create-readonly
    std::string name;
    std::string password_file;
    std::vector<std::string> schemas, owners;
    bool dry_run = false;
    // rotate-password
    std::string role;
    std::string out_secret, out_password_file;
    std::string secret_name = "cloudtolocalllm-secrets", secret_key = "postgres-password",
                ns = "cloudtolocalllm";
    int length = 32;
    bool yes = false;
};

std::string yes_no(bool b) {
    return b ? "yes" : "no";
}

// --- the listing --------------------------------------------------------------------------

struct RolesReport {
    roles::RoleList l;

    ExitCode code() const { return ExitCode::ok; }

    static std::string can(const RoleInfo& r, std::int64_t tables) {
        std::vector<std::string> out;
        if (r.owns_database) out.emplace_back("owner");
        if (r.superuser) return "everything (superuser)";
        if (!r.can_connect) return "cannot connect";
        if (r.can_create) out.emplace_back("create schemas");
        out.push_back("read " + std::to_string(r.tables_readable) + "/" + std::to_string(tables));
        out.push_back("write " + std::to_string(r.tables_writable) + "/" + std::to_string(tables));
        return join(out, ", ");
    }

    std::string text(bool) const {
        Table t({"ROLE", "LOGIN", "SUPERUSER", "CREATEROLE", "CREATEDB", "MEMBER OF", "PASSWORD",
                 "CONN LIMIT", "ON " + printable(l.database)});
        for (const auto& r : l.roles) {
            std::string pw = r.valid_until ? "until " + time_text(r.valid_until) : "no expiry";
            if (r.rotated_at) pw += ", rotated " + time_text(r.rotated_at);
            t.add_row({printable(r.name), yes_no(r.login), yes_no(r.superuser),
                       yes_no(r.create_role), yes_no(r.create_db),
                       r.member_of.empty() ? "-" : printable(join(r.member_of, ", ")), pw,
                       r.connection_limit < 0 ? "-" : std::to_string(r.connection_limit),
                       can(r, l.tables)});
        }
        return t.render();
    }

    nlohmann::json json() const {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& r : l.roles) {
            list.push_back(
                {{"name", r.name},
                 {"login", r.login},
                 {"superuser", r.superuser},
                 {"create_role", r.create_role},
                 {"create_db", r.create_db},
                 {"replication", r.replication},
                 {"bypass_rls", r.bypass_rls},
                 {"connection_limit", r.connection_limit < 0 ? nlohmann::json(nullptr)
                                                             : nlohmann::json(r.connection_limit)},
                 {"valid_until", time_json(r.valid_until)},
                 {"rotated_at", time_json(r.rotated_at)},
                 {"member_of", r.member_of},
                 {"database",
                  {{"owner", r.owns_database},
                   {"connect", r.can_connect},
                   {"create", r.can_create},
                   {"temporary", r.can_temp},
                   {"tables_readable", r.tables_readable},
                   {"tables_writable", r.tables_writable}}}});
        }
        return {{"database", l.database}, {"tables", l.tables}, {"roles", list}};
    }
};

cli::Outcome run_list(const RolesOptions& o, Context& ctx) {
    auto conn = pg::connect(ctx.valid_config(true).connection());
    pg::probe::bound_reads(*conn);
    return cli::Outcome::of(RolesReport{roles::list(*conn, o.all)});
}

// --- check --------------------------------------------------------------------------------

struct CheckReport {
    Findings f;
    ExitCode code() const { return f.failed() ? ExitCode::failure : ExitCode::ok; }
    std::string text(bool color) const { return f.render(color); }
    nlohmann::json json() const { return {{"checks", f.to_json()}}; }
};

cli::Outcome run_check(Context& ctx) {
    auto conn = pg::connect(ctx.valid_config(true).connection());
    pg::probe::bound_reads(*conn);
    const pg::probe::RoleFacts r = pg::probe::role(*conn);
    CheckReport c{
        roles::least_privilege(r, roles::rotated_at(*conn, r.name), true, utc_now_iso8601())};
    c.f.sort_by_urgency();
    return cli::Outcome::of(c);
}

// --- SCRAM --------------------------------------------------------------------------------

void check_role_name(const std::string& option, const std::string& name) {
    if (name.empty() || name.size() > 63 || name.find('\0') != std::string::npos) {
        throw usage_error(option + " must be a role name of 1 to 63 bytes");
    }
}

// --- create-readonly ----------------------------------------------------------------------

struct ReadonlyReport {
    roles::ReadonlyPlan plan;
    bool dry_run = false;
    ExitCode code() const { return ExitCode::ok; }
    std::string text(bool) const {
        std::string out;
        if (dry_run) out = "-- would run, in one transaction:\n";
        for (const auto& s : plan.sql(true))
            out += printable(s) + ";\n";
        if (!dry_run) {
            out += "role " + printable(plan.role) + (plan.exists ? " updated" : " created") +
                   ": it may read every table and sequence of " +
                   printable(join(plan.schemas, ", ")) + ", now and later, and write none\n";
        }
        return out;
    }
    nlohmann::json json() const {
        return {{"role", plan.role},     {"created", !plan.exists && !dry_run},
                {"dry_run", dry_run},    {"schemas", plan.schemas},
                {"owners", plan.owners}, {"password_set", plan.verifier.has_value()},
                {"sql", plan.sql(true)}};
    }
};

cli::Outcome run_create_readonly(const RolesOptions& o, Context& ctx) {
    check_role_name("NAME", o.name);
    std::optional<std::string> password;
    if (!o.password_file.empty()) {
        std::string error;
        password = config::read_secret_file(o.password_file, error);
        if (!password) throw usage_error("--password-file " + o.password_file + ": " + error);
        const auto gaps = password_policy_gaps(*password);
        if (!gaps.empty()) {
            throw usage_error("the password in " + o.password_file +
                                  " does not meet the guide's policy: " + join(gaps, ", "),
                              "ctldb roles rotate-password generates one that does");
        }
    }
    auto conn = pg::connect(ctx.valid_config(true).connection());
    pg::probe::bound_reads(*conn);
    roles::ReadonlyPlan plan;
    plan.role = o.name;
    plan.exists = roles::readonly_role_exists(*conn, o.name);
    const pg::probe::RoleFacts me = pg::probe::role(*conn);
    if (!o.dry_run && !me.superuser && !me.create_role) {
        throw failure("role " + me.name + " may not create or alter roles; nothing was changed",
                      "run it as a role with CREATEROLE (or a superuser); --dry-run shows the SQL");
    }
    plan.database = pg::probe::current_database(*conn);
    plan.schemas = roles::readonly_schemas(*conn, o.schemas);
    plan.owners = roles::readonly_owners(*conn, o.owners, plan.schemas);
    if (password) plan.verifier = roles::scram_verifier(*conn, *password, o.name);
    ReadonlyReport report{plan, o.dry_run};
    if (!o.dry_run) roles::apply(*conn, plan);
    return cli::Outcome::of(report);
}

// --- rotate-password ----------------------------------------------------------------------

std::string base64(const std::string& s) {
    std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(s.data()),
                                  static_cast<int>(s.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string secret_manifest(const RolesOptions& o, const std::string& password) {
    return "# Written by ctldb roles rotate-password for role " + printable(o.role) +
           ". kubectl apply -f this file,\n# then restart the pods that read it.\n"
           "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " +
           o.secret_name + "\n  namespace: " + o.ns + "\ntype: Opaque\ndata:\n  " + o.secret_key +
           ": " + base64(password) + "\n";
}

/// An output file: written as PATH.new before the server has the new
/// password (so a crash never loses it), moved into place once proven.
struct Output {
    std::string path, kind, contents;
    std::string staged() const { return path + ".new"; }
};

struct RotateReport {
    std::string role;
    std::string rotated_at;
    std::optional<bool> old_refused;  ///< nullopt: the old password is not known here
    std::string record;               ///< "" recorded, else why not
    std::vector<Output> files;
    bool dry_run = false;

    ExitCode code() const { return ExitCode::ok; }

    std::string text(bool) const {
        if (dry_run) {
            std::string out = "would set a new password for role " + printable(role) +
                              " (a SCRAM verifier computed here), log in with it, and write:\n";
            for (const auto& f : files)
                out += "  " + printable(f.path) + " (" + f.kind + ", mode 0600)\n";
            return out + "the old password would stop working at once\n";
        }
        std::string out =
            "role " + printable(role) + ": new password set and proven by logging in with it\n";
        for (const auto& f : files)
            out += "  wrote " + printable(f.path) + " (" + f.kind + ", mode 0600)\n";
        if (old_refused) {
            out += *old_refused ? "  the old password is refused\n"
                                : "  the old password STILL logs in (pg_hba.conf does not ask for "
                                  "a password from here?)\n";
        }
        if (!record.empty()) out += "  rotation not recorded: " + record + "\n";
        return out;
    }

    nlohmann::json json() const {
        nlohmann::json f = nlohmann::json::array();
        for (const auto& x : files)
            f.push_back({{"path", x.path}, {"kind", x.kind}});
        return {{"role", role},
                {"dry_run", dry_run},
                {"rotated_at", dry_run ? nlohmann::json(nullptr) : nlohmann::json(rotated_at)},
                {"login_verified", !dry_run},
                {"old_password_refused",
                 old_refused ? nlohmann::json(*old_refused) : nlohmann::json(nullptr)},
                {"recorded", record.empty() && !dry_run},
                {"files", f}};
    }
};

void check_rotate_options(const RolesOptions& o) {
    check_role_name("ROLE", o.role);
    if (o.out_secret.empty() && o.out_password_file.empty()) {
        throw usage_error("where should the new password go? nothing was changed",
                          "pass --out-secret FILE (a Kubernetes Secret manifest) and/or "
                          "--out-password-file FILE; ctldb never prints a password");
    }
    if (!o.out_secret.empty() && o.out_secret == o.out_password_file)
        throw usage_error("--out-secret and --out-password-file are the same file");
    for (const auto& n : {o.secret_name, o.ns}) {
        if (!valid_k8s_name(n)) throw usage_error("'" + n + "' is not a Kubernetes name");
    }
    if (o.secret_key.empty() || o.secret_key.find_first_not_of(
                                    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                    "-._") != std::string::npos) {
        throw usage_error("--secret-key '" + o.secret_key + "' is not a Secret key");
    }
    for (const auto& p : {o.out_secret, o.out_password_file}) {
        if (p.empty()) continue;
        if (fs::exists(p + ".new")) {
            throw failure(p + ".new exists: an earlier rotation stopped before moving it into "
                              "place, and it may hold the password in force; nothing was changed",
                          "log in with it to see; move it into place or remove it, then run "
                          "again");
        }
        if (fs::is_dir(p)) throw usage_error(p + " is a directory");
    }
}

/// Asked unless --yes (off a terminal: --yes is needed). False for no.
bool confirm_rotation(const RolesOptions& o) {
    if (o.yes) return true;
    const std::string what = "set a new password for role " + printable(o.role) +
                             ": the old one stops working at once, and every client needs the "
                             "new one";
    if (!is_tty(stdin))
        throw usage_error("about to " + what + "; nothing was changed", "pass --yes to confirm");
    if (!confirm("About to " + what + ". Go ahead?")) {
        log::info("nothing was changed");
        return false;
    }
    return true;
}

void remove_staged(const RotateReport& report) {
    for (const auto& f : report.files)
        ::unlink(f.staged().c_str());
}

/// ALTER ROLE with the new verifier and COMMIT. Before the COMMIT a failure
/// leaves the old password (the staged files go); at the COMMIT the outcome
/// is unknown and the error says where the new one is.
void set_new_password(pg::Connection& conn, const RolesOptions& o, const std::string& password,
                      bool superuser, const RotateReport& report) {
    // A superuser keeps even the verifier out of the log.
    try {
        roles::begin_password_change(conn, o.role, roles::scram_verifier(conn, password, o.role),
                                     superuser);
    } catch (...) {
        // The password in force is still the old one: nothing to keep.
        remove_staged(report);
        throw;
    }
    try {
        roles::commit(conn);
    } catch (const Error& e) {
        // Lost at COMMIT: the server may have the new password or not.
        throw failure(
            std::string("the connection was lost at COMMIT (") + e.what() + "): the password of " +
                printable(o.role) + " may be the new one",
            "the new one is in " + report.files.front().staged() + "; try logging in with each");
    }
}

/// Log in with the new password; when that fails a superuser puts the old
/// verifier back, anyone else is told where the new one is.
void prove_new_password(pg::Connection& conn, const config::ConnectionSettings& cs,
                        const RolesOptions& o, const std::string& password, bool superuser,
                        const std::optional<std::string>& old_verifier,
                        const RotateReport& report) {
    try {
        roles::prove_login(cs, o.role, password);
    } catch (const Error& e) {
        if (superuser) {
            roles::undo_rotation(conn, o.role, old_verifier);
            remove_staged(report);
            throw failure(
                "logging in as " + printable(o.role) +
                    " with the new password failed, so the old one was put back: " + e.what(),
                "pg_hba.conf must let the role log in with a password from here");
        }
        throw failure("the new password of " + printable(o.role) +
                          " is set, but logging in with it failed: " + e.what(),
                      "it is in " + report.files.front().staged() +
                          "; pg_hba.conf must let the role log in with a password from here");
    }
}

void move_into_place(const RotateReport& report) {
    for (const auto& f : report.files) {
        if (::rename(f.staged().c_str(), f.path.c_str()) != 0) {
            throw failure("cannot move " + f.staged() + " to " + f.path +
                          "; the new password is in " + f.staged());
        }
        fs::sync_parent_dir(f.path);
    }
}

cli::Outcome run_rotate(const RolesOptions& o, Context& ctx) {
    check_rotate_options(o);
    if (o.length < 16 || o.length > 128) throw usage_error("--length must be 16 to 128");
    const config::Config& cfg = ctx.valid_config(true);
    auto conn = pg::connect(cfg.connection());
    pg::probe::bound_reads(*conn);
    roles::check_may_rotate(*conn, o.role);
    RotateReport report;
    report.role = o.role;
    report.dry_run = o.dry_run;
    const std::string password = generate_password(static_cast<std::size_t>(o.length));
    if (!o.out_password_file.empty())
        report.files.push_back({o.out_password_file, "password file", password});
    if (!o.out_secret.empty())
        report.files.push_back({o.out_secret, "Secret manifest", secret_manifest(o, password)});
    if (o.dry_run) return cli::Outcome::of(report);
    if (!confirm_rotation(o)) return ExitCode::failure;
    // On disk first: from the ALTER ROLE on, the new password is the only
    // one, and a crash must not lose it.
    for (const auto& f : report.files)
        fs::write_new(f.staged(), f.contents, 0600);
    const bool superuser = pg::probe::role(*conn).superuser;
    std::optional<std::string> old_verifier;
    if (superuser) old_verifier = roles::password_verifier(*conn, o.role);
    set_new_password(*conn, o, password, superuser, report);
    prove_new_password(*conn, cfg.connection(), o, password, superuser, old_verifier, report);
    move_into_place(report);
    const config::ConnectionSettings& mine = cfg.connection();
    if (mine.user == o.role && !mine.password.empty()) {
        try {
            roles::prove_login(mine, o.role, mine.password);
            report.old_refused = false;
        } catch (const Error&) {
            report.old_refused = true;
        }
    }
    report.record = roles::record_rotation(*conn, o.role);
    report.rotated_at = utc_now_iso8601();
    return cli::Outcome::of(report);
}

}  // namespace

void bind_roles(CLI::App* cmd, Context& ctx) {
    static RolesOptions o;
    cmd->add_flag("--all", o.all, "Include PostgreSQL's predefined pg_* roles");
    cmd->callback([cmd, &ctx] {
        if (cmd->get_subcommands().empty()) ctx.run = [&ctx] { return run_list(o, ctx); };
    });
    auto* check = cmd->add_subcommand(
        "check",
        "Exit 1 when the application role is superuser, CREATEROLE or CREATEDB, PUBLIC "
        "may create in schema public, or its password expired");
    check->callback([&ctx] { ctx.run = [&ctx] { return run_check(ctx); }; });

    auto* ro = cmd->add_subcommand(
        "create-readonly",
        "A role that may read every table and sequence, now and later (the guide's readonly_user)");
    ro->add_option("name", o.name, "Role name")->required();
    ro->add_option(
        "--password-file", o.password_file,
        "Set its password from this file (the guide's policy is checked; default: no password)");
    ro->add_option("--schema", o.schemas, "Only this schema; repeatable (default: every one)");
    ro->add_option("--owner", o.owners,
                   "Role whose future tables it may read; repeatable (default: the database's "
                   "owner and the tables' owners)");
    ro->add_flag("--dry-run", o.dry_run, "Print the SQL, change nothing");
    ro->callback([&ctx] { ctx.run = [&ctx] { return run_create_readonly(o, ctx); }; });

    auto* rot = cmd->add_subcommand(
        "rotate-password",
        "New password (SCRAM verifier computed here), proven by logging in, written 0600");
    rot->add_option("role", o.role, "Role whose password to rotate")->required();
    rot->add_option(
        "--out-secret", o.out_secret,
        "Write a Kubernetes Secret manifest here (default: none; this or --out-password-file)");
    rot->add_option("--out-password-file", o.out_password_file,
                    "Write the password alone here, a DB_PASSWORD_FILE (default: none)");
    rot->add_option("--secret-name", o.secret_name,
                    "Secret's name (default cloudtolocalllm-secrets)");
    rot->add_option("--namespace", o.ns, "Secret's namespace (default cloudtolocalllm)");
    rot->add_option("--secret-key", o.secret_key, "Key in the Secret (default postgres-password)");
    rot->add_option("--length", o.length, "Characters of the password (default 32, at least 16)");
    rot->add_flag("-y,--yes", o.yes, "Do not ask (required off a terminal)");
    rot->add_flag("--dry-run", o.dry_run, "Show what would be done, change nothing");
    rot->callback([&ctx] { ctx.run = [&ctx] { return run_rotate(o, ctx); }; });
}

}  // namespace ctldb::commands
