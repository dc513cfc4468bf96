#include "pg/dump_scanner.hpp"

#include <cstring>

#include "base/error.hpp"

namespace ctldb::pg {

namespace {

bool ident_start(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool ident_char(unsigned char c) {
    return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}
bool space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
}

constexpr std::string_view kMarker = " PostgreSQL database dump complete";

}  // namespace

DumpScanner::DumpScanner(DumpHandler& handler, std::size_t max_statement_bytes)
    : handler_(handler), max_statement_(max_statement_bytes) {}

void DumpScanner::feed(const char* data, std::size_t size) {
    buf_.append(data, size);
    for (;;) {
        const bool switched = in_copy_ ? scan_copy() : scan_sql();
        if (!switched) break;
    }
    check_size();
    // Drop what is consumed, but only once it is most of the buffer: the
    // erase is then paid for by the bytes read since the last one.
    std::size_t keep = (in_copy_ || !stmt_has_text_) ? pos_ : start_;
    if (word_ != std::string::npos && word_ < keep) keep = word_;
    if (state_ == State::line_comment && comment_start_ < keep) keep = comment_start_;
    if (keep > 0 && keep * 2 >= buf_.size()) {
        buf_.erase(0, keep);
        erased_ += keep;
        pos_ -= keep;
        start_ -= std::min(start_, keep);
        if (word_ != std::string::npos) word_ -= keep;
        comment_start_ -= std::min(comment_start_, keep);
    }
}

void DumpScanner::check_size() {
    if (!in_copy_ && stmt_has_text_ && pos_ - start_ > max_statement_) {
        throw failure("the statement starting at line " + std::to_string(stmt_line_) +
                          " is longer than " + std::to_string(max_statement_ >> 20) +
                          " MiB: not a dump ctldb restores",
                      "pg_dump writes table data as COPY blocks, never as one huge statement");
    }
}

bool DumpScanner::scan_copy() {
    const std::size_t size = buf_.size();
    std::size_t sent = pos_;
    auto flush = [&](std::size_t upto) {
        if (upto > sent) handler_.copy_data(buf_.data() + sent, upto - sent);
        sent = upto;
    };
    while (pos_ < size) {
        if (copy_line_start_ && buf_[pos_] == '\\') {
            // Is this the "\." line? Needs up to three more bytes to tell.
            if (pos_ + 1 >= size) break;
            if (buf_[pos_ + 1] == '.') {
                std::size_t end = 0;
                if (pos_ + 2 >= size) break;
                if (buf_[pos_ + 2] == '\n') {
                    end = pos_ + 3;
                } else if (buf_[pos_ + 2] == '\r') {
                    if (pos_ + 3 >= size) break;
                    if (buf_[pos_ + 3] == '\n') end = pos_ + 4;
                }
                if (end != 0) {
                    flush(pos_);
                    handler_.copy_end(line_);
                    ++line_;
                    pos_ = start_ = end;
                    in_copy_ = false;
                    return true;
                }
            }
        }
        const void* nl = std::memchr(buf_.data() + pos_, '\n', size - pos_);
        if (nl == nullptr) {
            pos_ = size;
            copy_line_start_ = false;
            break;
        }
        pos_ = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data()) + 1;
        ++line_;
        copy_line_start_ = true;
    }
    flush(pos_);
    return false;
}

void DumpScanner::end_word(std::size_t end) {
    const std::string_view w(buf_.data() + word_, end - word_);
    word_ = std::string::npos;
    ++words_;
    if (words_ == 1) first_word_ = upper(w);
    if (words_ == 2) second_word_ = upper(w);
    // psql's rule for SQL-standard bodies: in CREATE [OR REPLACE]
    // FUNCTION|PROCEDURE, BEGIN ... END (and CASE ... END inside it) at
    // parenthesis depth 0 hold semicolons that do not end the statement.
    const std::string u = upper(w);
    if (words_ == 3) third_is_replace_ = u == "REPLACE";
    if (first_word_ == "CREATE" && (u == "FUNCTION" || u == "PROCEDURE") &&
        (words_ == 2 || (words_ == 4 && second_word_ == "OR" && third_is_replace_))) {
        routine_ = true;
    }
    if (routine_ && paren_depth_ == 0) {
        if (u == "BEGIN") {
            ++begin_depth_;
        } else if (u == "CASE") {
            if (begin_depth_ > 0) ++begin_depth_;
        } else if (u == "END") {
            if (begin_depth_ > 0) --begin_depth_;
        }
    }
}

void DumpScanner::end_statement(std::size_t semicolon) {
    const std::string_view sql(buf_.data() + start_, semicolon - start_);
    const std::uint64_t line = stmt_line_;
    const std::string first = first_word_, second = second_word_;
    // SET standard_conforming_strings decides how the lexer reads '\'.
    if (first == "SET" && second == "STANDARD_CONFORMING_STRINGS") {
        const std::string u = upper(sql);
        const std::string value = u.substr(u.find("STANDARD_CONFORMING_STRINGS") + 27);
        if (value.find("OFF") != std::string::npos || value.find("FALSE") != std::string::npos) {
            standard_strings_ = false;
        } else if (value.find("ON") != std::string::npos ||
                   value.find("TRUE") != std::string::npos) {
            standard_strings_ = true;
        }
    }
    words_ = 0;
    first_word_.clear();
    second_word_.clear();
    routine_ = false;
    paren_depth_ = begin_depth_ = 0;
    stmt_has_text_ = false;
    stmt_offset_ = erased_ + start_;
    pos_ = semicolon + 1;
    start_ = pos_;
    if (handler_.statement(sql, line, first, second)) {
        // COPY FROM STDIN: data begins on the next line; nothing but white
        // space may follow the semicolon (psql would read it as data too).
        const std::size_t nl = buf_.find('\n', pos_);
        const std::size_t end = nl == std::string::npos ? buf_.size() : nl;
        for (std::size_t i = pos_; i < end; ++i) {
            if (!space(static_cast<unsigned char>(buf_[i]))) {
                throw failure("line " + std::to_string(line_) +
                              ": text after a COPY ... FROM stdin statement on the same line");
            }
        }
        if (nl == std::string::npos) {
            // The newline has not arrived yet: skip the blanks and wait.
            pending_copy_newline_ = true;
            pos_ = start_ = buf_.size();
        } else {
            pos_ = start_ = nl + 1;
            ++line_;
            in_copy_ = true;
            copy_line_start_ = true;
        }
    }
}

bool DumpScanner::meta(std::size_t backslash) {
    const std::size_t nl = buf_.find('\n', backslash);
    if (nl == std::string::npos) {
        if (buf_.size() - backslash > 65536) {
            throw failure("line " + std::to_string(line_) + ": a backslash command of over 64 KiB");
        }
        return false;  // wait for the rest of the line
    }
    std::size_t end = nl;
    if (end > backslash && buf_[end - 1] == '\r') --end;
    const bool own_line = !stmt_has_text_ && !line_has_sql_;
    handler_.meta_command(std::string_view(buf_.data() + backslash, end - backslash), line_,
                          own_line);
    pos_ = nl + 1;
    ++line_;
    line_has_sql_ = false;
    if (!stmt_has_text_) {
        start_ = pos_;
        stmt_line_ = line_;
    }
    return true;
}

bool DumpScanner::scan_sql() {
    if (pending_copy_newline_) return start_copy_data();
    while (pos_ < buf_.size()) {
        Step step = Step::next;
        switch (state_) {
            case State::normal:
                step = scan_normal();
                break;
            case State::line_comment:
                step = scan_line_comment();
                break;
            case State::block_comment:
                step = scan_block_comment();
                break;
            case State::single_quote:
            case State::escape_string:
            case State::double_quote:
                step = scan_quoted();
                break;
            case State::dollar_quote:
                step = scan_dollar_quote();
                break;
        }
        if (step == Step::need_more) return false;
        if (step == Step::switched) return true;
    }
    return false;
}

inline bool DumpScanner::start_copy_data() {
    while (pos_ < buf_.size() && space(static_cast<unsigned char>(buf_[pos_])))
        ++pos_;
    if (pos_ >= buf_.size()) {
        start_ = pos_;
        return false;
    }
    if (buf_[pos_] != '\n') {
        throw failure("line " + std::to_string(line_) +
                      ": text after a COPY ... FROM stdin statement on the same line");
    }
    pending_copy_newline_ = false;
    pos_ = start_ = pos_ + 1;
    ++line_;
    in_copy_ = true;
    copy_line_start_ = true;
    return true;
}

inline DumpScanner::Step DumpScanner::scan_normal_byte() {
    const std::size_t size = buf_.size();
    const auto c = static_cast<unsigned char>(buf_[pos_]);
    if (word_ != std::string::npos) {  // a word split across two feeds
        if (ident_char(c)) {
            ++pos_;
            return Step::next;
        }
        last_word_is_e_ = pos_ == word_ + 1 && (buf_[word_] == 'E' || buf_[word_] == 'e');
        last_word_end_ = pos_;
        end_word(pos_);
    }
    if (c == '\n') {
        ++line_;
        line_has_sql_ = false;
        ++pos_;
        return Step::next;
    }
    if (space(c)) {
        ++pos_;
        return Step::next;
    }
    if (c == '-' || c == '/') {
        if (pos_ + 1 >= size) return Step::need_more;
        const char next = buf_[pos_ + 1];
        if (c == '-' && next == '-') {
            state_ = State::line_comment;
            comment_start_ = pos_ + 2;
            pos_ += 2;
            return Step::next;
        }
        if (c == '/' && next == '*') {
            state_ = State::block_comment;
            comment_depth_ = 1;
            pos_ += 2;
            return Step::next;
        }
    }
    if (c == '\\') return meta(pos_) ? Step::next : Step::need_more;
    if (!stmt_has_text_) {
        // The statement starts here (comments before it are not part of
        // it, as in psql's history).
        stmt_has_text_ = true;
        start_ = pos_;
        stmt_line_ = line_;
    }
    line_has_sql_ = true;
    return scan_token(c);
}

// The states that look at one byte at a time loop here, so the byte loop
// stays tight; a change of state goes back to scan_sql.
inline DumpScanner::Step DumpScanner::scan_normal() {
    while (pos_ < buf_.size() && state_ == State::normal) {
        const Step step = scan_normal_byte();
        if (step != Step::next) return step;
    }
    return Step::next;
}

inline DumpScanner::Step DumpScanner::scan_quoted() {
    const State quoted = state_;
    while (pos_ < buf_.size() && state_ == quoted) {
        const Step step = scan_quoted_byte();
        if (step != Step::next) return step;
    }
    return Step::next;
}

inline DumpScanner::Step DumpScanner::scan_token(unsigned char c) {
    if (c == '\'') {
        const bool e_prefix = last_word_end_ == pos_ && last_word_is_e_;
        state_ = (e_prefix || !standard_strings_) ? State::escape_string : State::single_quote;
        ++pos_;
        return Step::next;
    }
    if (c == '"') {
        state_ = State::double_quote;
        ++pos_;
        return Step::next;
    }
    if (c == '$') return scan_dollar_open();
    if (c == '(') {
        ++paren_depth_;
    } else if (c == ')') {
        if (paren_depth_ > 0) --paren_depth_;
    } else if (c == ';') {
        if (paren_depth_ == 0 && begin_depth_ == 0) {
            end_statement(pos_);
            return in_copy_ || pending_copy_newline_ ? Step::switched : Step::next;
        }
    } else if (ident_start(c)) {
        return scan_word(c);
    }
    ++pos_;
    return Step::next;
}

inline DumpScanner::Step DumpScanner::scan_dollar_open() {
    // $tag$ or $$ opens a dollar quote; $1 is a parameter.
    const std::size_t size = buf_.size();
    std::size_t j = pos_ + 1;
    while (j < size && ident_char(static_cast<unsigned char>(buf_[j])) && buf_[j] != '$' &&
           !(j == pos_ + 1 && buf_[j] >= '0' && buf_[j] <= '9')) {
        ++j;
    }
    if (j >= size) {
        if (j - pos_ > 4096)
            throw failure("line " + std::to_string(line_) + ": a dollar-quote tag of over 4 KiB");
        return Step::need_more;
    }
    if (buf_[j] == '$') {
        dollar_tag_.assign(buf_, pos_, j + 1 - pos_);
        state_ = State::dollar_quote;
        pos_ = j + 1;
        return Step::next;
    }
    ++pos_;
    return Step::next;
}

inline DumpScanner::Step DumpScanner::scan_word(unsigned char c) {
    const std::size_t size = buf_.size();
    word_ = pos_;
    last_word_is_e_ = false;
    // The word ends at the next non-identifier byte; an E right before a
    // quote makes an escape string.
    std::size_t j = pos_ + 1;
    while (j < size && ident_char(static_cast<unsigned char>(buf_[j])))
        ++j;
    if (j >= size) {
        pos_ = j;
        return Step::need_more;
    }
    last_word_is_e_ = j == pos_ + 1 && (c == 'E' || c == 'e');
    last_word_end_ = j;
    end_word(j);
    pos_ = j;
    return Step::next;
}

inline DumpScanner::Step DumpScanner::scan_line_comment() {
    const std::size_t size = buf_.size();
    const void* nl = std::memchr(buf_.data() + pos_, '\n', size - pos_);
    if (nl == nullptr) {
        pos_ = size;
        if (pos_ - comment_start_ > 65536) comment_start_ = pos_;  // not the marker
        return Step::need_more;
    }
    const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data());
    std::string_view text(buf_.data() + comment_start_, at - comment_start_);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (!stmt_has_text_ && !line_has_sql_ && text == kMarker) saw_marker_ = true;
    pos_ = at + 1;
    ++line_;
    line_has_sql_ = false;
    state_ = State::normal;
    return Step::next;
}

inline DumpScanner::Step DumpScanner::scan_block_comment() {
    const auto c = static_cast<unsigned char>(buf_[pos_]);
    if (c == '\n') {
        ++line_;
    } else if (c == '*' || c == '/') {
        if (pos_ + 1 >= buf_.size()) return Step::need_more;
        if (c == '*' && buf_[pos_ + 1] == '/') {
            pos_ += 2;
            if (--comment_depth_ == 0) state_ = State::normal;
            return Step::next;
        }
        if (c == '/' && buf_[pos_ + 1] == '*') {
            pos_ += 2;
            ++comment_depth_;
            return Step::next;
        }
    }
    ++pos_;
    return Step::next;
}

inline DumpScanner::Step DumpScanner::scan_quoted_byte() {
    // A doubled quote character stands for itself; in E'' strings a
    // backslash escapes the next byte.
    const auto c = static_cast<unsigned char>(buf_[pos_]);
    const char quote = state_ == State::double_quote ? '"' : '\'';
    if (c == '\n') {
        ++line_;
    } else if (c == '\\' && state_ == State::escape_string) {
        if (pos_ + 1 >= buf_.size()) return Step::need_more;
        if (buf_[pos_ + 1] == '\n') ++line_;
        pos_ += 2;
        return Step::next;
    } else if (c == static_cast<unsigned char>(quote)) {
        if (pos_ + 1 >= buf_.size()) return Step::need_more;
        if (buf_[pos_ + 1] == quote) {
            pos_ += 2;
            return Step::next;
        }
        state_ = State::normal;
    }
    ++pos_;
    return Step::next;
}

inline DumpScanner::Step DumpScanner::scan_dollar_quote() {
    const std::size_t size = buf_.size();
    const void* d = std::memchr(buf_.data() + pos_, '$', size - pos_);
    const std::size_t at =
        d == nullptr ? size : static_cast<std::size_t>(static_cast<const char*>(d) - buf_.data());
    for (std::size_t i = pos_; i < at; ++i) {
        if (buf_[i] == '\n') ++line_;
    }
    pos_ = at;
    if (d == nullptr) return Step::need_more;
    if (size - at < dollar_tag_.size()) return Step::need_more;
    if (buf_.compare(at, dollar_tag_.size(), dollar_tag_) == 0) {
        pos_ = at + dollar_tag_.size();
        state_ = State::normal;
    } else {
        ++pos_;
    }
    return Step::next;
}

void DumpScanner::finish_script() {
    if (finished_) return;
    if (!in_copy_ && !pending_copy_newline_ && stmt_has_text_) {
        finished_ = true;
        stmt_offset_ = erased_ + start_;
        const std::string_view sql(buf_.data() + start_, buf_.size() - start_);
        handler_.statement(sql, stmt_line_, first_word_, second_word_);
        return;
    }
    finish();
}

void DumpScanner::finish() {
    if (finished_) return;
    finished_ = true;
    if (in_copy_) {
        throw failure(
            "the dump is incomplete (truncated, no closing marker): it ends inside "
            "COPY data, at line " +
            std::to_string(line_));
    }
    if (pending_copy_newline_) {
        throw failure(
            "the dump is incomplete (truncated, no closing marker): it ends right "
            "after a COPY statement");
    }
    if (state_ == State::line_comment) {
        std::string_view text(buf_.data() + comment_start_, buf_.size() - comment_start_);
        if (!stmt_has_text_ && text == kMarker) saw_marker_ = true;
        state_ = State::normal;
    }
    if (state_ != State::normal) {
        throw failure(
            "the dump is incomplete (truncated, no closing marker): it ends inside a "
            "quoted string or comment (statement at line " +
            std::to_string(stmt_line_) + ")");
    }
    if (stmt_has_text_) {
        throw failure(
            "the dump is incomplete (truncated, no closing marker): it ends in the "
            "middle of the statement at line " +
            std::to_string(stmt_line_));
    }
}

}  // namespace ctldb::pg
