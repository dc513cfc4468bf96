// Executing a plain pg_dump script over libpq inside the caller's
// transaction, or only checking it (no connection): what restore and
// backup verify share.
//
// Policy (docs/backup.md): every statement passes restore_policy::check
// (PostgreSQL's parser against what pg_dump writes for one database); the
// only backslash commands honoured are pg_dump's own (\restrict and
// \unrestrict with the same key, \connect to the target itself, each on a
// line of its own); BEGIN/COMMIT written by pg_dump around large objects
// are skipped so they never end the caller's transaction; any SQL after
// pg_dump's closing marker refuses the file. Every statement goes through the extended protocol, so
// the server runs exactly one statement per call, whatever the lexer saw.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace ctldb::pg {
class Connection;
class DumpScanner;
}  // namespace ctldb::pg

namespace ctldb::backup {

struct DumpRunStats {
    std::uint64_t statements = 0;  ///< executed (or checked)
    std::uint64_t copy_blocks = 0;
    std::uint64_t bytes = 0;  ///< dump text read
    /// Extension statements left out for want of privilege (see
    /// docs/backup.md): CREATE EXTENSION / COMMENT ON EXTENSION of an
    /// extension only a superuser may create.
    std::uint64_t skipped = 0;
    /// OWNER TO statements for roles the restoring role cannot act for,
    /// left out as pg_restore --no-owner would.
    std::uint64_t ownership_left_out = 0;
};

class DumpRunner {
  public:
    /// `conn` null: check only. `target_db`: the database restored into
    /// (a \connect to it is a no-op; empty: every \connect is refused).
    /// `source`: the file's name for error messages.
    DumpRunner(pg::Connection* conn, std::string target_db, std::string source);
    ~DumpRunner();
    DumpRunner(const DumpRunner&) = delete;
    DumpRunner& operator=(const DumpRunner&) = delete;

    /// The next piece of dump text. Throws Error(failure) naming the line
    /// for a refused or failed statement; SqlError details are kept.
    void feed(const char* data, std::size_t size);
    /// End of the text: throws unless the dump is complete (no unfinished
    /// statement or COPY, pg_dump's closing marker read, \restrict closed).
    void finish();
    const DumpRunStats& stats() const;
    /// The session runs as `role` (SET ROLE, done by the caller); when the
    /// connected role is a superuser, CREATE EXTENSION that `role` may not
    /// run is run as the connected role (the script is the server's).
    void set_role(std::string role, bool session_superuser);

  private:
    class Handler;
    std::unique_ptr<Handler> handler_;
    std::unique_ptr<pg::DumpScanner> scanner_;
};

}  // namespace ctldb::backup
