// Changing roles: the read-only role's plan gathered and applied, and the
// steps of a password rotation. Passwords reach the server only as SCRAM
// verifiers computed here (PQencryptPasswordConn), so the plain text never
// reaches the server or its log.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pg/connection.hpp"
#include "roles/roles.hpp"

namespace ctldb::roles {

/// The SCRAM-SHA-256 verifier of `password` for `role`, computed here.
std::string scram_verifier(pg::Connection& conn, const std::string& password,
                           const std::string& role);

/// Whether `role` exists; throws when it does with SUPERUSER, CREATEROLE,
/// CREATEDB, REPLICATION or BYPASSRLS (not a read-only role).
bool readonly_role_exists(pg::Connection& conn, const std::string& role);

/// Schemas the read-only role gets: `given` (each must exist), else every
/// user schema.
std::vector<std::string> readonly_schemas(pg::Connection& conn,
                                          const std::vector<std::string>& given);

/// Roles whose future tables it may read: `given`, else the database's
/// owner and the owners of the tables there are now, each only when the
/// connected role may speak for it (ALTER DEFAULT PRIVILEGES FOR ROLE needs
/// membership); the others are named in a warning.
std::vector<std::string> readonly_owners(pg::Connection& conn,
                                         const std::vector<std::string>& given,
                                         const std::vector<std::string>& schemas);

/// Run the plan's statements in one transaction.
void apply(pg::Connection& conn, const ReadonlyPlan& plan);

/// Whether the connected role may set `role`'s password and `role` may log
/// in here; throws, naming what is missing, if not.
void check_may_rotate(pg::Connection& conn, const std::string& role);

/// `role`'s verifier in force (pg_authid: superusers only), to put back.
std::optional<std::string> password_verifier(pg::Connection& conn, const std::string& role);

/// BEGIN; ALTER ROLE ... PASSWORD verifier, kept out of the server log when
/// `quiet_log` (a superuser's SET LOCAL log_statement). Not committed.
void begin_password_change(pg::Connection& conn, const std::string& role,
                           const std::string& verifier, bool quiet_log);

/// COMMIT the open transaction.
void commit(pg::Connection& conn);

/// Log in as `role` with `password` over the configured connection.
void prove_login(const config::ConnectionSettings& base, const std::string& role,
                 const std::string& password);

/// Put `old_verifier` back (NULL when there was none).
void undo_rotation(pg::Connection& conn, const std::string& role,
                   const std::optional<std::string>& old_verifier);

/// Record the rotation in kRotationTable; "" when recorded, else why not
/// (also logged as a warning).
std::string record_rotation(pg::Connection& conn, const std::string& role);

}  // namespace ctldb::roles
