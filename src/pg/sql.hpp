// SQL understood by PostgreSQL's own parser (libpg_query): splitting into
// statements exactly as the server would (dollar quotes, E-strings, nested
// comments, BEGIN ATOMIC), syntax errors with line and column, statements
// that cannot run inside a transaction, and risky-migration lint.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ctldb::pg::sql {

struct Statement {
    std::size_t offset = 0;  ///< byte offset in the source text
    std::size_t length = 0;
    std::string text;  ///< the statement, without its trailing semicolon
    int line = 1;      ///< 1-based line of its first character
    std::string kind;  ///< parse node name, e.g. "IndexStmt"
    /// Why it cannot run inside a transaction block; empty when it can.
    std::string no_transaction_reason;
    /// For CREATE INDEX CONCURRENTLY: the index name (to detect invalid
    /// leftovers of a failed build); empty otherwise.
    std::string concurrent_index;
    /// True for BEGIN / COMMIT / ROLLBACK and friends.
    bool transaction_control = false;
    /// COPY ... FROM STDIN or TO STDOUT: data the client streams, which a
    /// file run over libpq cannot carry.
    bool copy_stdio = false;
};

struct SyntaxError {
    std::string message;
    std::size_t offset = 0;
    int line = 1;
    int column = 1;
};

struct Parsed {
    std::vector<Statement> statements;
    std::optional<SyntaxError> error;
};

/// Parse `text` (several statements). Never throws on bad SQL: see error.
Parsed parse(const std::string& text);

/// `name` as a quoted SQL identifier: "name", with " doubled. Always
/// quoted, so any name (mixed case, spaces, keywords) means itself.
std::string quote_identifier(std::string_view name);

/// `value` as an SQL string literal: 'value', with ' doubled (the server's
/// standard_conforming_strings, on since 9.1, leaves \ alone). For values
/// ctldb made itself, such as SCRAM verifiers.
std::string quote_literal(std::string_view value);

/// `items` as the text of a PostgreSQL array ({"a","b\"c"}), for a
/// $1::text[] parameter: every element quoted, " and \ escaped, so any
/// name (a schema called we"ird) is one element.
std::string array_literal(const std::vector<std::string>& items);

/// When the whole script is one BEGIN ... COMMIT (START TRANSACTION ...
/// END) and nothing else in it controls transactions, drop those two
/// statements and return true: run inside ctldb's own transaction it means
/// the same. Anything else is left as it is.
bool unwrap_transaction(Parsed& parsed);

/// First position at or after `pos` that is not white space or a comment.
std::size_t skip_gap(const std::string& text, std::size_t pos);

/// 1-based line and column (in characters) of a byte offset.
std::pair<int, int> line_column(const std::string& text, std::size_t offset);

/// A table named in a statement: schema empty when unqualified.
struct TableRef {
    std::string schema;
    std::string name;
};

/// What a statement does to tables, by PostgreSQL's parser: the tables it
/// creates (CREATE TABLE [AS]), drops (DROP TABLE), empties (TRUNCATE), and
/// the schemas it drops with everything in them (DROP SCHEMA ... CASCADE).
struct TableEffects {
    std::vector<TableRef> creates;
    std::vector<TableRef> drops;
    std::vector<TableRef> truncates;
    std::vector<std::string> dropped_schemas;
    bool cascade = false;  ///< CASCADE: dependent objects go too
};
TableEffects table_effects(const Statement& statement);

/// Every table (or view) the statement names, once each, by PostgreSQL's
/// parser; names of its own WITH queries left out.
std::vector<TableRef> referenced_tables(const Statement& statement);

struct LintFinding {
    std::string rule;  ///< e.g. "index-not-concurrent"
    int line = 1;
    std::string message;  ///< what is risky and what to do instead
};

/// Risky statements on existing tables (tables created earlier in the same
/// text are new and exempt), in the spirit of squawk.
std::vector<LintFinding> lint(const std::string& text);
/// The same for a script already parsed.
std::vector<LintFinding> lint(const Parsed& parsed);

}  // namespace ctldb::pg::sql
