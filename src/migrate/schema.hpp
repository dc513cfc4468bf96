// What a schema holds, as PostgreSQL describes it, and how two schemas
// differ: the proof behind `migrate baseline` (does the database really
// have what migrations 1..V create?) and `migrate validate` (has anything
// changed behind the migrations' back?).
//
// The expected side is built, not guessed: the migrations run in a scratch
// schema inside a transaction that is always rolled back, so nothing of it
// survives, a crash included, and both sides are described by the same
// catalog queries.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "pg/connection.hpp"
#include "pg/sql.hpp"

namespace ctldb::migrate::schema {

/// One object. `table` is the table it belongs to (columns, constraints,
/// indexes, triggers) or "" for tables, views, functions and types.
struct Object {
    std::string
        kind;  ///< "table", "column", "constraint", "index", "trigger", "view", "function", "type"
    std::string table;
    std::string name;
    /// What must match, in PostgreSQL's own words with the schema's name
    /// taken out: "character varying(255) NOT NULL", a constraint or index
    /// definition, a function's signature and body.
    std::string definition;

    /// "column users.email", "table users", "function set_updated_at()".
    std::string label() const;
};

/// Every object of one schema, keyed for comparison. Objects that belong
/// to an extension are left out (they are the extension's, not the
/// migrations').
struct Snapshot {
    std::map<std::string, Object> objects;
    /// Tables and views another session held in ACCESS EXCLUSIVE mode while
    /// reading: their parts (columns, constraints, indexes, triggers, a
    /// view's definition) were not read, since that would wait.
    std::set<std::string> locked;
    void add(Object o);
};

/// Read schema `schema` of the connected database. `also_visible` is put on
/// the search_path after it, so names from there are printed unqualified
/// (a type from an extension in public reads the same from a scratch
/// schema as from public itself). Runs inside the caller's transaction and
/// leaves its search_path as it found it.
Snapshot read(pg::Connection& conn, const std::string& schema,
              const std::string& also_visible = {});

struct Difference {
    std::string kind;
    std::string label;     ///< Object::label()
    std::string expected;  ///< "" when the database has it but the migrations do not create it
    std::string found;     ///< "" when it is missing from the database
    std::string describe() const;
};

struct Comparison {
    std::vector<Difference> differences;
    /// Tables, views, functions and types of the database that the
    /// migrations do not create (other tools', the application's own):
    /// reported, not differences.
    std::vector<std::string> others;
    /// Tables and views whose parts were not compared: locked (see
    /// Snapshot::locked). Everything else was.
    std::vector<std::string> not_compared;
    bool matches() const { return differences.empty(); }
};

/// Compare what the migrations create (`expected`) with the database
/// (`found`). Everything expected must be there with the same definition;
/// a table the migrations create must have nothing more (no other columns,
/// constraints, indexes or triggers). `ignore_tables` of the database are
/// not looked at (ctldb's own history table).
Comparison compare(const Snapshot& expected, const Snapshot& found,
                   const std::vector<std::string>& ignore_tables);

/// The statements of `parsed` that may run inside a transaction another
/// run rolls back: BEGIN/COMMIT left out (a COMMIT would make it all
/// permanent), CREATE/DROP INDEX CONCURRENTLY without CONCURRENTLY, other
/// statements that cannot run in one (VACUUM, ALTER SYSTEM) left out.
std::vector<pg::sql::Statement> runnable_in_transaction(const pg::sql::Parsed& parsed);

/// Runs migration files in a scratch schema of the connected database,
/// inside a transaction that is rolled back when this object goes (or the
/// session ends), so that read() can describe what they create. The
/// connection must not be in a transaction. Needs CREATE on the database:
/// a role without it gets Error(failure) saying so.
class ScratchBuild {
  public:
    ScratchBuild(pg::Connection& conn, const std::string& live_schema);
    ~ScratchBuild();
    ScratchBuild(const ScratchBuild&) = delete;
    ScratchBuild& operator=(const ScratchBuild&) = delete;

    /// Run one file's statements. CREATE/DROP INDEX CONCURRENTLY run
    /// without CONCURRENTLY (the scratch is in a transaction and nobody
    /// else uses it); other statements that cannot run in a transaction
    /// (VACUUM, ALTER SYSTEM, ...) create nothing and are skipped. Throws
    /// Error naming the file, line and statement when one fails.
    void apply(const std::string& file, const std::string& text, const pg::sql::Parsed& parsed);

    /// What the files applied so far created.
    Snapshot snapshot();
    /// The live schema, read in the same transaction.
    Snapshot live();

    const std::string& scratch_name() const { return scratch_; }

  private:
    pg::Connection& conn_;
    std::string live_;
    std::string scratch_;
};

/// The schema where unqualified CREATE statements of the connected session
/// land (current_schema()), usually public.
std::string current_schema(pg::Connection& conn);

}  // namespace ctldb::migrate::schema
