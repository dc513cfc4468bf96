// What a restore may run: every statement of a dump, from a plain file or
// from a custom archive's table of contents, judged by PostgreSQL's own
// parser (libpg_query) against what pg_dump writes for one database.
//
// Allowed: CREATE/ALTER/DROP of objects inside the database, COPY FROM
// STDIN, GRANT/REVOKE on such objects, COMMENT and SECURITY LABEL on them,
// the SET commands pg_dump writes, and top-level SELECTs of the functions
// pg_dump calls (set_config('search_path', ...), setval, lo_create,
// lo_open, lowrite, lo_close, lo_unlink) with constant arguments.
// Refused: anything cluster-wide or aimed at another database (databases,
// roles, tablespaces, ALTER SYSTEM, subscriptions), SET ROLE / SESSION
// AUTHORIZATION, DO, CALL, LOAD, other top-level function calls, COPY to
// or from a file or program, functions that reach server files, programs,
// other sessions or the configuration anywhere they would run during the
// restore (lo_import, lo_export, pg_read_file, dblink, ...), and every
// statement kind not named here. docs/backup.md has the table.
#pragma once

#include <string>
#include <string_view>

namespace ctldb::backup::restore_policy {

enum class Action {
    run,          ///< an ordinary statement of a dump
    copy,         ///< COPY ... FROM STDIN: data follows
    transaction,  ///< BEGIN / COMMIT around large objects: a no-op inside ctldb's transaction
    extension,    ///< CREATE EXTENSION / COMMENT ON EXTENSION (may be left out, see DumpRunner)
    ownership,    ///< ... OWNER TO `new_owner` (left out when the role cannot act for it)
    refuse,       ///< never run: `reason` says why
};

struct Verdict {
    Action action = Action::run;
    std::string reason;     ///< for refuse: what the statement does, for the operator
    std::string new_owner;  ///< for ownership
    bool comment = false;   ///< for extension: COMMENT ON EXTENSION (not CREATE)
};

/// Judges one statement (without its semicolon; comments allowed). Never
/// throws: a statement the parser cannot read is refused.
Verdict check(std::string_view sql);

/// Whether `name` (any case, schema-qualified or not) is a function that
/// reaches outside the database (server files, programs, other servers or
/// sessions, the configuration): refused wherever a dump would call it.
bool dangerous_function(std::string_view name);

/// What in `sql` (any number of statements) a ROLLBACK would not undo: a
/// call of nextval/setval or of a dangerous_function() where it runs, DO,
/// CALL, COPY to or from a file or program; "" when nothing. Rehearsing a
/// down file in a rolled-back transaction is only safe without these.
std::string not_undone_by_rollback(std::string_view sql);

}  // namespace ctldb::backup::restore_policy
