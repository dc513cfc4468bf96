// Reading a plain pg_dump script as a stream, the way psql would, without
// psql: statements split on the semicolons PostgreSQL's lexer would end
// them at (quotes, E-strings, dollar quotes, nested comments, parentheses,
// BEGIN ATOMIC bodies), backslash meta-commands reported separately, and
// COPY data passed through untouched until its "\." line.
//
// The scanner knows nothing of the server: its handler executes each
// statement and says whether it started COPY FROM STDIN. It works in one
// pass, in linear time, holding at most one statement (bounded by
// max_statement_bytes) plus one input chunk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ctldb::pg {

class DumpHandler {
  public:
    virtual ~DumpHandler() = default;
    /// One statement without its semicolon; `first_word` and `second_word`
    /// are its first two keywords, upper-cased ("COMMIT", "PREPARED").
    /// Returns true when the statement started COPY FROM STDIN: the bytes
    /// after its line are then COPY data.
    virtual bool statement(std::string_view sql, std::uint64_t line, std::string_view first_word,
                           std::string_view second_word) = 0;
    /// A backslash command outside quotes, from the backslash to the end of
    /// its line (without the newline). `own_line` is false when it follows
    /// SQL on the same line or inside an unfinished statement.
    virtual void meta_command(std::string_view text, std::uint64_t line, bool own_line) = 0;
    /// COPY data, in pieces of whole lines.
    virtual void copy_data(const char* data, std::size_t size) = 0;
    /// The "\." line that ends COPY data (line number of that line).
    virtual void copy_end(std::uint64_t line) = 0;
};

class DumpScanner {
  public:
    explicit DumpScanner(DumpHandler& handler, std::size_t max_statement_bytes = 64u << 20);
    /// Feed the next piece of the dump; calls the handler synchronously.
    void feed(const char* data, std::size_t size);
    /// End of input. Throws Error(failure) for an unfinished statement or
    /// COPY block.
    void finish();
    /// End of input for a SQL script (a migration or seed file), where the
    /// last statement needs no semicolon: whatever statement text is left,
    /// even inside an unclosed quote or comment, is handed to the handler
    /// as the last statement, for PostgreSQL's parser to judge.
    void finish_script();

    /// Byte offset in the whole input of the statement being handed to
    /// DumpHandler::statement (valid during that call).
    std::uint64_t statement_offset() const { return stmt_offset_; }

    /// Lines read so far (1-based number of the current line).
    std::uint64_t line() const { return line_; }
    /// True once pg_dump's closing marker ("-- PostgreSQL database dump
    /// complete" between statements) was read; whatever follows it is
    /// not part of the dump.
    bool saw_marker() const { return saw_marker_; }

  private:
    enum class State {
        normal,
        single_quote,   // '...' (backslashes literal)
        escape_string,  // E'...'
        double_quote,   // "..."
        dollar_quote,   // $tag$...$tag$
        line_comment,   // -- to end of line
        block_comment,  // /* ... */, nested
    };
    bool scan_copy();
    bool scan_sql();
    /// What one step of the SQL state machine leaves: go on, wait for more
    /// bytes, or the statement ended and COPY data follows.
    enum class Step { next, need_more, switched };
    bool start_copy_data();
    Step scan_normal();
    Step scan_normal_byte();
    Step scan_token(unsigned char c);
    Step scan_dollar_open();
    Step scan_word(unsigned char c);
    Step scan_line_comment();
    Step scan_block_comment();
    Step scan_quoted();
    Step scan_quoted_byte();
    Step scan_dollar_quote();
    void end_word(std::size_t end);
    void end_statement(std::size_t semicolon);
    bool meta(std::size_t backslash);
    void check_size();

    DumpHandler& handler_;
    std::size_t max_statement_;
    std::string buf_;
    std::uint64_t erased_ = 0;              // bytes dropped from the front of buf_
    std::uint64_t stmt_offset_ = 0;         // see statement_offset()
    std::size_t pos_ = 0;                   // next byte to look at
    std::size_t start_ = 0;                 // first byte of the pending statement
    std::size_t word_ = std::string::npos;  // start of the identifier being read
    bool in_copy_ = false;
    bool copy_line_start_ = true;
    bool line_has_sql_ = false;     // SQL text seen on the current line
    bool stmt_has_text_ = false;    // the pending statement has non-comment text
    bool standard_strings_ = true;  // standard_conforming_strings
    State state_ = State::normal;
    int comment_depth_ = 0;
    std::string dollar_tag_;
    int paren_depth_ = 0;
    int begin_depth_ = 0;
    int words_ = 0;
    std::string first_word_, second_word_;
    bool third_is_replace_ = false;
    bool routine_ = false;  // CREATE [OR REPLACE] FUNCTION|PROCEDURE
    std::size_t last_word_end_ = std::string::npos;
    bool last_word_is_e_ = false;        // that word was E (an E'...' string follows)
    bool pending_copy_newline_ = false;  // COPY started, its line not yet ended
    std::uint64_t line_ = 1;
    std::uint64_t stmt_line_ = 1;
    bool saw_marker_ = false;
    std::size_t comment_start_ = 0;  // the line comment being read, to find the marker
    bool finished_ = false;
};

}  // namespace ctldb::pg
