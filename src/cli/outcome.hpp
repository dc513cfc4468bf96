// What a command hands back to the one runner: its exit code and, unless it
// has nothing to report, its result in the renderings the runner chooses
// from (text for people, JSON for scripts, Prometheus text where the command
// offers it). Commands never print: run_command() prints the outcome once,
// and a command that reports as it goes (--watch) hands each frame to
// Context::stream(). Another command or a unit test can call run_<name>()
// and use the value.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/output.hpp"

namespace ctldb::cli {

class Outcome {
  public:
    /// Nothing to report but the code (`return ExitCode::ok;` works).
    Outcome(ExitCode code = ExitCode::ok) : code_(code) {}  // NOLINT(google-explicit-constructor)

    /// Both renderings made already.
    static Outcome done(ExitCode code, std::string text, nlohmann::json doc) {
        Outcome o(code);
        auto t = std::make_shared<const std::string>(std::move(text));
        auto j = std::make_shared<const nlohmann::json>(std::move(doc));
        o.text_ = [t](bool) { return *t; };
        o.json_ = [j] { return *j; };
        return o;
    }

    /// Renderings made on demand, when the runner prints: `text` is given
    /// whether colour may be used. Whatever they read must be theirs
    /// (captured by value or shared), never the command's locals.
    static Outcome lazy(ExitCode code, std::function<std::string(bool color)> text,
                        std::function<nlohmann::json()> doc) {
        Outcome o(code);
        o.text_ = std::move(text);
        o.json_ = std::move(doc);
        return o;
    }

    /// From a result type with ExitCode code() const, std::string
    /// text(bool color) const and nlohmann::json json() const, rendered
    /// now: a result may point into the command's locals (a session in a
    /// list it made), which are gone by the time the runner prints.
    /// Colour as the runner would choose it for stdout.
    template <typename Result>
    static Outcome of(const Result& r) {
        return done(r.code(), r.text(use_color(stdout)), r.json());
    }

    /// The same for one frame of a --watch stream: never coloured (the
    /// frames replace each other on a terminal, or pile up in a pipe).
    template <typename Result>
    static Outcome frame(const Result& r) {
        return done(r.code(), r.text(false), r.json());
    }

    /// From a report holding its renderings as fields (code, text, json);
    /// a null json means nothing to report (the code says why).
    template <typename Report>
    static Outcome of_report(const Report& r) {
        if (r.json.is_null()) return Outcome(r.code);
        return done(r.code, r.text, r.json);
    }

    /// The Prometheus text exposition, for -o prometheus.
    Outcome& with_prometheus(std::string text) {
        prometheus_ = std::make_shared<const std::string>(std::move(text));
        return *this;
    }
    /// A frame's heading for a --watch stream, shown above the text on a
    /// terminal (the time and how often it is redrawn).
    Outcome& with_title(std::string title) {
        title_ = std::move(title);
        return *this;
    }

    /// A refusal that shows its plan first: the error is reported on
    /// stderr after the result is printed.
    Outcome& with_error(Error e) {
        error_ = std::make_shared<const Error>(std::move(e));
        return *this;
    }
    const Error* error() const { return error_.get(); }

    ExitCode code() const { return code_; }
    bool has_result() const { return static_cast<bool>(json_); }
    bool has_prometheus() const { return static_cast<bool>(prometheus_); }
    std::string text(bool color) const { return text_ ? text_(color) : std::string(); }
    nlohmann::json json() const { return json_ ? json_() : nlohmann::json(); }
    std::string prometheus() const { return prometheus_ ? *prometheus_ : std::string(); }
    const std::string& title() const { return title_; }

  private:
    ExitCode code_;
    std::function<std::string(bool)> text_;
    std::function<nlohmann::json()> json_;
    std::shared_ptr<const std::string> prometheus_;
    std::string title_;
    std::shared_ptr<const Error> error_;
};

}  // namespace ctldb::cli
