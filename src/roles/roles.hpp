// The guide's "Least privilege", "Strong passwords" and "Rotate passwords
// every 90 days": what each role may do on the application's database, the
// least-privilege findings of the application role, the read-only role
// done right, and the record of password rotations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/findings.hpp"
#include "pg/connection.hpp"
#include "pg/probes.hpp"

namespace ctldb::roles {

/// The guide's rotation period, and how early an expiry is a warning.
constexpr int kRotateDays = 90;
constexpr int kExpiryWarnDays = 14;

/// The table where rotate-password records when it rotated which role
/// (created on first use, in the first schema of the search path).
constexpr const char* kRotationTable = "ctldb_password_rotations";

/// A role and what it may do on the current database.
struct RoleInfo {
    std::string name;
    bool login = false, superuser = false, create_role = false, create_db = false,
         replication = false, bypass_rls = false;
    int connection_limit = -1;               ///< -1: none
    std::optional<std::string> valid_until;  ///< ISO UTC; nullopt: never expires
    std::vector<std::string> member_of;
    bool owns_database = false, can_connect = false, can_create = false, can_temp = false;
    std::int64_t tables_readable = 0;       ///< user tables it may SELECT
    std::int64_t tables_writable = 0;       ///< ... INSERT, UPDATE, DELETE or TRUNCATE
    std::optional<std::string> rotated_at;  ///< from the rotation record
};

struct RoleList {
    std::string database;
    std::int64_t tables = 0;  ///< user tables of the database
    std::vector<RoleInfo> roles;
};

/// Every role (the predefined pg_* ones only with `include_system`).
RoleList list(pg::Connection& conn, bool include_system);

/// When `role`'s password was last rotated by ctldb, if recorded and
/// readable.
std::optional<std::string> rotated_at(pg::Connection& conn, const std::string& role);

/// The least-privilege findings for the application role `r`: superuser
/// fails; CREATEROLE and CREATEDB fail when `strict` (roles check, the
/// gate), warn otherwise (doctor); PUBLIC's CREATE on schema public; an
/// expired password fails, one expiring within kExpiryWarnDays or rotated
/// more than kRotateDays ago warns. `now` is ISO UTC. Pure.
Findings least_privilege(const pg::probe::RoleFacts& r,
                         const std::optional<std::string>& rotated_at, bool strict,
                         const std::string& now);

/// Days between two ISO UTC times (b - a), or nullopt when one is not one.
std::optional<double> days_between(const std::string& a, const std::string& b);

/// What create-readonly runs, in one transaction. Pure.
struct ReadonlyPlan {
    std::string role;
    bool exists = false;                  ///< then only the grants (and the password when given)
    std::optional<std::string> verifier;  ///< SCRAM verifier, never the password
    std::string database;
    std::vector<std::string> schemas;
    std::vector<std::string> owners;  ///< whose future tables it may read
    /// The statements; the verifier is shown as '********' when `redact`.
    std::vector<std::string> sql(bool redact) const;
};

}  // namespace ctldb::roles
