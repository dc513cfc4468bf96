#include "cli/cli_tree.hpp"

#include <algorithm>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/text.hpp"
#include "base/version.hpp"
#include "config/setting_table.hpp"
#include "migrate/migrations.hpp"

namespace ctldb::cli {

namespace {

bool has_name(const CLI::Option* o, std::initializer_list<const char*> names) {
    for (const char* n : names) {
        for (const auto& l : o->get_lnames())
            if (l == n) return true;
        if (o->get_positional() && o->get_name(true, false) == n) return true;
    }
    return false;
}

/// Values ctldb checks itself (not through CLI11), so the parser's type
/// name does not list them.
std::vector<std::string> known_choices(const CLI::Option* o, const std::vector<std::string>& path,
                                       const CLI::App& root) {
    for (const auto& s : config::settings()) {
        if (!s.flag.empty() && !s.choices.empty() && path.empty() &&
            has_name(o, {std::string(s.flag).c_str()})) {
            return {s.choices.begin(), s.choices.end()};
        }
    }
    const std::string cmd = path.empty() ? "" : path.front();
    if (has_name(o, {"layout"})) {
        std::vector<std::string> names;
        for (auto l : {migrate::MigrationLayout::automatic, migrate::MigrationLayout::numbered,
                       migrate::MigrationLayout::golang_migrate, migrate::MigrationLayout::flyway,
                       migrate::MigrationLayout::dbmate}) {
            names.emplace_back(layout_name(l));
        }
        return names;
    }
    if (has_name(o, {"from"})) return {"auto", "node", "golang-migrate", "dbmate", "flyway"};
    if (cmd == "queries" && has_name(o, {"state"}))
        return {"busy", "active", "idle-in-transaction", "idle", "all"};
    if (has_name(o, {"order"})) return {"total", "mean", "calls"};
    if (cmd == "help" && o->get_positional()) {
        std::vector<std::string> names;
        for (const CLI::App* s : root.get_subcommands([](const CLI::App*) { return true; }))
            names.push_back(s->get_name());
        return names;
    }
    return {};
}

/// "TEXT:{plain,custom}" -> {"plain", "custom"}.
std::vector<std::string> choices_in(const std::string& type_name) {
    const auto open = type_name.find('{');
    const auto close = type_name.find('}', open);
    if (open == std::string::npos || close == std::string::npos) return {};
    std::vector<std::string> out;
    std::stringstream in(type_name.substr(open + 1, close - open - 1));
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

ValueKind path_kind(const CLI::Option* o) {
    if (has_name(o, {"dir", "out", "backup-dir", "migrations-dir"})) return ValueKind::dir;
    if (has_name(o, {"config", "ca", "ca-cert", "ca-key", "sslrootcert", "sslcert", "sslkey",
                     "password-file", "out-secret", "out-password-file", "ssl-cert-file",
                     "ssl-key-file", "file"})) {
        return ValueKind::file;
    }
    return ValueKind::none;
}

OptionDoc describe(const CLI::Option* o, const std::vector<std::string>& path,
                   const CLI::App& root) {
    OptionDoc d;
    for (const auto& l : o->get_lnames())
        d.longs.push_back("--" + l);
    for (const auto& s : o->get_snames())
        d.shorts.push_back("-" + s);
    if (d.longs.empty() && d.shorts.empty()) d.positional = o->get_name(true, false);
    d.description = o->get_description();
    d.required = o->get_required();
    d.repeatable = o->get_expected_max() > 1 ||
                   o->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
    if (o->get_type_size() == 0 || o->get_expected_max() == 0) return d;  // a flag
    const std::string type = o->get_type_name();
    d.value_name = type.substr(0, type.find(':'));
    d.choices = choices_in(type);
    if (d.choices.empty()) d.choices = known_choices(o, path, root);
    d.kind = !d.choices.empty() ? ValueKind::choice : path_kind(o);
    if (d.kind == ValueKind::none) d.kind = ValueKind::text;
    return d;
}

void walk(const CLI::App& app, std::vector<std::string> path, const CLI::App& root,
          std::vector<CommandDoc>& out) {
    CommandDoc c;
    c.path = path;
    c.description = app.get_description();
    c.app = &app;
    c.runs_alone = app.get_require_subcommand_min() == 0;
    for (const CLI::Option* o : app.get_options())
        c.options.push_back(describe(o, path, root));
    const auto subs = app.get_subcommands([](const CLI::App*) { return true; });
    for (const CLI::App* s : subs)
        c.subcommands.push_back(s->get_name());
    c.examples = examples_of(join(path, " "));
    out.push_back(std::move(c));
    for (const CLI::App* s : subs) {
        auto p = path;
        p.push_back(s->get_name());
        walk(*s, p, root, out);
    }
}

/// Single-quoted for bash, zsh and fish alike: ' becomes '\''.
std::string sq(const std::string& s) {
    return shell_quote(s, true);
}

std::string one_line(std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
}

std::vector<std::string> names_of(const OptionDoc& o) {
    auto all = o.longs;
    all.insert(all.end(), o.shorts.begin(), o.shorts.end());
    return all;
}

/// What completes the value of `o`: its choices, or "@file" / "@dir".
std::string value_words(const OptionDoc& o) {
    if (o.kind == ValueKind::file) return "@file";
    if (o.kind == ValueKind::dir) return "@dir";
    return join(o.choices, " ");
}

/// The description of subcommand `sub` of `parent`.
std::string description_of(const std::vector<CommandDoc>& cmds, const CommandDoc& parent,
                           const std::string& sub) {
    for (const auto& d : cmds) {
        if (d.path.size() == parent.path.size() + 1 && d.path.back() == sub &&
            std::equal(parent.path.begin(), parent.path.end(), d.path.begin())) {
            return d.description;
        }
    }
    return {};
}

/// For the shells' value lookups: the keys ('path|--opt', 'path|#' for the
/// argument), each single-quoted, and the words that complete the value.
std::vector<std::pair<std::vector<std::string>, std::string>> value_cases(
    const std::vector<CommandDoc>& cmds) {
    std::vector<std::pair<std::vector<std::string>, std::string>> out;
    for (const auto& c : cmds) {
        for (const auto& opt : c.options) {
            const std::string words = value_words(opt);
            if (words.empty()) continue;
            std::vector<std::string> keys;
            if (!opt.positional.empty()) {
                keys.push_back(sq(join(c.path, " ") + "|#"));
            } else {
                for (const auto& n : names_of(opt))
                    keys.push_back(sq(join(c.path, " ") + "|" + n));
            }
            out.emplace_back(keys, words);
        }
    }
    return out;
}

const OptionDoc* positional_of(const CommandDoc& c) {
    for (const auto& o : c.options)
        if (!o.positional.empty()) return &o;
    return nullptr;
}

}  // namespace

std::string CommandDoc::name() const {
    return path.empty() ? "ctldb" : "ctldb " + join(path, " ");
}

std::vector<CommandDoc> commands(const CLI::App& root) {
    std::vector<CommandDoc> out;
    walk(root, {}, root, out);
    return out;
}

void decorate(CLI::App& root) {
    std::vector<std::pair<CLI::App*, std::string>> todo = {{&root, ""}};
    while (!todo.empty()) {
        auto [app, path] = todo.back();
        todo.pop_back();
        for (CLI::Option* o : app->get_options()) {
            if (o->get_type_size() == 0 || o->get_expected_max() == 0) continue;
            const ValueKind k = path_kind(o);
            if (k == ValueKind::dir) o->type_name("DIR");
            if (k == ValueKind::file) o->type_name("FILE");
        }
        std::string footer;
        for (const auto& e : examples_of(path))
            footer += "\n  # " + e.what + "\n  " + e.command + "\n";
        if (!footer.empty()) app->footer("Examples:" + footer);
        for (CLI::App* s : app->get_subcommands([](CLI::App*) { return true; }))
            todo.emplace_back(s, path.empty() ? s->get_name() : path + " " + s->get_name());
    }
}

nlohmann::json command_json(const CommandDoc& c) {
    nlohmann::json options = nlohmann::json::array();
    for (const auto& o : c.options) {
        nlohmann::json j = {{"names", names_of(o)},
                            {"description", o.description},
                            {"required", o.required},
                            {"repeatable", o.repeatable}};
        if (!o.positional.empty()) j["positional"] = o.positional;
        if (!o.value_name.empty()) j["value"] = o.value_name;
        static const char* kinds[] = {"flag", "text", "choice", "file", "dir"};
        j["kind"] = kinds[static_cast<int>(o.kind)];
        if (!o.choices.empty()) j["choices"] = o.choices;
        options.push_back(j);
    }
    nlohmann::json examples = nlohmann::json::array();
    for (const auto& e : c.examples)
        examples.push_back({{"command", e.command}, {"what", e.what}});
    return {{"command", c.name()},          {"path", c.path},
            {"description", c.description}, {"options", options},
            {"subcommands", c.subcommands}, {"runs_alone", c.runs_alone},
            {"examples", examples}};
}

// ---------------------------------------------------------------- bash

std::string bash_completion(const CLI::App& root) {
    const auto cmds = commands(root);
    std::ostringstream o;
    o << "# bash completion for ctldb " << version()
      << ", generated by `ctldb completion bash` from ctldb's own\n"
         "# command-line definition. Install: ctldb completion bash > "
         "/etc/bash_completion.d/ctldb\n"
         "# (or source <(ctldb completion bash) in ~/.bashrc).\n\n";
    o << "# The subcommands of a command path (\"\" is ctldb itself).\n"
         "_ctldb_subcommands() {\n    case $1 in\n";
    for (const auto& c : cmds)
        if (!c.subcommands.empty())
            o << "        " << sq(join(c.path, " ")) << ") REPLY=" << sq(join(c.subcommands, " "))
              << " ;;\n";
    o << "        *) REPLY='' ;;\n    esac\n}\n\n";
    o << "# The options of a command path; those that take a value end in =.\n"
         "_ctldb_options() {\n    case $1 in\n";
    for (const auto& c : cmds) {
        std::vector<std::string> words;
        for (const auto& opt : c.options) {
            if (!opt.positional.empty()) continue;
            for (const auto& n : names_of(opt))
                words.push_back(n + (opt.kind == ValueKind::none ? "" : "="));
        }
        o << "        " << sq(join(c.path, " ")) << ") REPLY=" << sq(join(words, " ")) << " ;;\n";
    }
    o << "        *) REPLY='' ;;\n    esac\n}\n\n";
    o << "# The values of an option (or # for the command's argument): words,\n"
         "# @file or @dir.\n"
         "_ctldb_values() {\n    case $1'|'$2 in\n";
    for (const auto& [keys, words] : value_cases(cmds))
        o << "        " << join(keys, " | ") << ") REPLY=" << sq(words) << " ;;\n";
    o << "        *) REPLY='' ;;\n    esac\n}\n\n";
    o << R"SH(# Whether option $2 takes a value at command path $1 (or everywhere).
_ctldb_takes_value() {
    _ctldb_options "$1"
    [[ " $REPLY " == *" $2= "* ]] && return 0
    _ctldb_options ''
    [[ " $REPLY " == *" $2= "* ]]
}

_ctldb_complete_values() {
    local cmd=$1 opt=$2 cur=$3
    _ctldb_values "$cmd" "$opt"
    [[ -z $REPLY && $opt != '#' ]] && _ctldb_values '' "$opt"
    case $REPLY in
        @file)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            ;;
        @dir)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            ;;
        *) mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur") ;;
    esac
}

_ctldb() {
    local cur=${COMP_WORDS[COMP_CWORD]} cmd='' w i skip=0 opt='' REPLY
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if ((skip)); then
            # bash splits --opt=value at the =: the value follows it.
            [[ $w == '=' ]] || skip=0
            continue
        fi
        case $w in
            -*=*) ;;
            -*)
                if _ctldb_takes_value "$cmd" "$w"; then
                    skip=1
                    opt=$w
                fi
                ;;
            '=') ;;
            *)
                _ctldb_subcommands "$cmd"
                [[ " $REPLY " == *" $w "* ]] && cmd=${cmd:+$cmd }$w
                ;;
        esac
    done
    [[ $cur == '=' ]] && cur=''
    if ((skip)); then
        _ctldb_complete_values "$cmd" "$opt" "$cur"
        return
    fi
    if [[ $cur == -* ]]; then
        _ctldb_options "$cmd"
        local words=$REPLY
        if [[ -n $cmd ]]; then
            _ctldb_options ''
            words="$words $REPLY"
        fi
        mapfile -t COMPREPLY < <(compgen -W "${words//=/}" -- "$cur")
        return
    fi
    _ctldb_subcommands "$cmd"
    if [[ -n $REPLY ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
        return
    fi
    _ctldb_complete_values "$cmd" '#' "$cur"
}

complete -F _ctldb ctldb
)SH";
    return o.str();
}

// ---------------------------------------------------------------- zsh

std::string zsh_completion(const CLI::App& root) {
    const auto cmds = commands(root);
    std::ostringstream o;
    o << "#compdef ctldb\n# zsh completion for ctldb " << version()
      << ", generated by `ctldb completion zsh` from ctldb's own\n"
         "# command-line definition. Install: ctldb completion zsh > \"${fpath[1]}/_ctldb\"\n\n";
    o << "_ctldb_subcommands() {\n    case $1 in\n";
    for (const auto& c : cmds) {
        if (c.subcommands.empty()) continue;
        o << "        (" << sq(join(c.path, " ")) << ") reply=(";
        for (const auto& s : c.subcommands)
            o << "\n            " << sq(s + ":" + one_line(description_of(cmds, c, s)));
        o << "\n        ) ;;\n";
    }
    o << "        (*) reply=() ;;\n    esac\n}\n\n";
    o << "_ctldb_options() {\n    case $1 in\n";
    for (const auto& c : cmds) {
        o << "        (" << sq(join(c.path, " ")) << ") reply=(";
        for (const auto& opt : c.options) {
            if (!opt.positional.empty()) continue;
            for (const auto& n : names_of(opt))
                o << "\n            " << sq(n + ":" + one_line(opt.description));
        }
        o << "\n        ) ;;\n";
    }
    o << "        (*) reply=() ;;\n    esac\n}\n\n";
    o << "_ctldb_value_options() {\n    case $1 in\n";
    for (const auto& c : cmds) {
        std::vector<std::string> names;
        for (const auto& opt : c.options)
            if (opt.positional.empty() && opt.kind != ValueKind::none)
                for (const auto& n : names_of(opt))
                    names.push_back(n);
        o << "        (" << sq(join(c.path, " ")) << ") reply=(" << join(names, " ") << ") ;;\n";
    }
    o << "        (*) reply=() ;;\n    esac\n}\n\n";
    o << "_ctldb_values() {\n    case $1'|'$2 in\n";
    for (const auto& [keys, words] : value_cases(cmds))
        o << "        (" << join(keys, "|") << ") reply=(" << words << ") ;;\n";
    o << "        (*) reply=() ;;\n    esac\n}\n\n";
    o << R"SH(_ctldb_complete_values() {
    local -a reply
    _ctldb_values "$1" "$2"
    if (( ! ${#reply} )) && [[ $2 != '#' ]]; then _ctldb_values '' "$2"; fi
    case ${reply[1]} in
        (@file) _files ;;
        (@dir) _files -/ ;;
        (*)
            if (( ${#reply} )); then
                compadd -a reply
            else
                _message 'value'
            fi
            ;;
    esac
}

_ctldb() {
    local cmd='' w opt='' i skip=0
    local -a reply names
    for ((i = 2; i < CURRENT; i++)); do
        w=${words[i]}
        if ((skip)); then
            skip=0
            continue
        fi
        case $w in
            (-*=*) ;;
            (-*)
                _ctldb_value_options "$cmd"
                names=($reply)
                _ctldb_value_options ''
                names+=($reply)
                if (( ${names[(Ie)$w]} )); then
                    skip=1
                    opt=$w
                fi
                ;;
            (*)
                _ctldb_subcommands "$cmd"
                names=(${reply%%:*})
                if (( ${names[(Ie)$w]} )); then cmd=${cmd:+$cmd }$w; fi
                ;;
        esac
    done
    if ((skip)); then
        _ctldb_complete_values "$cmd" "$opt"
        return
    fi
    if [[ $PREFIX == -*=* ]]; then
        opt=${PREFIX%%=*}
        compset -P '*='
        _ctldb_complete_values "$cmd" "$opt"
        return
    fi
    if [[ $PREFIX == -* ]]; then
        local -a opts
        _ctldb_options "$cmd"
        opts=($reply)
        if [[ -n $cmd ]]; then
            _ctldb_options ''
            opts+=($reply)
        fi
        _describe -t options 'option' opts
        return
    fi
    _ctldb_subcommands "$cmd"
    if (( ${#reply} )); then
        local -a subs
        subs=($reply)
        _describe -t commands 'command' subs
        return
    fi
    _ctldb_complete_values "$cmd" '#'
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _ctldb "$@"
else
    compdef _ctldb ctldb
fi
)SH";
    return o.str();
}

// ---------------------------------------------------------------- fish

namespace {

/// __ctldb_subcommands and __ctldb_takes_value: the tree's shape as fish
/// functions.
void fish_tree_functions(std::ostringstream& o, const std::vector<CommandDoc>& cmds) {
    o << "# fish completion for ctldb " << version()
      << ", generated by `ctldb completion fish` from ctldb's own\n"
         "# command-line definition. Install: ctldb completion fish > "
         "~/.config/fish/completions/ctldb.fish\n\n";
    o << "function __ctldb_subcommands\n    switch \"$argv[1]\"\n";
    for (const auto& c : cmds)
        if (!c.subcommands.empty())
            o << "        case " << sq(join(c.path, " ")) << "\n            printf '%s\\n' "
              << join(c.subcommands, " ") << "\n";
    o << "    end\nend\n\n";
    o << "function __ctldb_takes_value\n    switch \"$argv[1]|$argv[2]\"\n";
    std::vector<std::string> keys;
    for (const auto& c : cmds)
        for (const auto& opt : c.options)
            if (opt.positional.empty() && opt.kind != ValueKind::none)
                for (const auto& n : names_of(opt))
                    keys.push_back(
                        sq((c.path.empty() ? std::string("*") : join(c.path, " ")) + "|" + n));
    o << "        case " << join(keys, " ")
      << "\n            return 0\n    end\n    return 1\nend\n\n";
}

/// The completion line of one option (or positional) of `c`; "" when
/// there is nothing to complete (a free-text positional).
std::string fish_option_line(const OptionDoc& opt, const std::string& cond,
                             const std::string& root_cond) {
    std::string line = "complete -c ctldb" + (opt.positional.empty() ? cond : root_cond);
    if (opt.positional.empty()) {
        for (const auto& l : opt.longs)
            line += " -l " + l.substr(2);
        for (const auto& s : opt.shorts)
            line += " -s " + s.substr(1);
    }
    switch (opt.kind) {
        case ValueKind::none:
            break;
        case ValueKind::text:
            line += opt.positional.empty() ? " -x" : "";
            break;
        case ValueKind::choice:
            line += " -x -a " + sq(join(opt.choices, " "));
            break;
        case ValueKind::file:
            line += " -r -F";
            break;
        case ValueKind::dir:
            line += " -x -a '(__fish_complete_directories)'";
            break;
    }
    if (!opt.positional.empty() && opt.kind == ValueKind::text) return "";
    return line + " -d " + sq(one_line(opt.description));
}

}  // namespace

std::string fish_completion(const CLI::App& root) {
    const auto cmds = commands(root);
    std::ostringstream o;
    fish_tree_functions(o, cmds);
    o << R"SH(# The command path typed so far: "backup list", or "" for ctldb itself.
function __ctldb_cmd
    set -l cmd
    set -l skip 0
    for w in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case '-*=*'
            case '-*'
                if __ctldb_takes_value "$cmd" $w
                    set skip 1
                end
            case '*'
                if contains -- $w (__ctldb_subcommands "$cmd")
                    set -a cmd $w
                end
        end
    end
    echo "$cmd"
end

function __ctldb_at
    test "$(__ctldb_cmd)" = "$argv[1]"
end

complete -c ctldb -f
)SH";
    for (const auto& c : cmds) {
        const std::string cond =
            c.path.empty() ? "" : " -n " + sq("__ctldb_at " + sq(join(c.path, " ")));
        const std::string root_cond = c.path.empty() ? " -n " + sq("__ctldb_at ''") : cond;
        for (const auto& s : c.subcommands) {
            o << "complete -c ctldb" << root_cond << " -a " << sq(s) << " -d "
              << sq(one_line(description_of(cmds, c, s))) << "\n";
        }
        for (const auto& opt : c.options) {
            const std::string line = fish_option_line(opt, cond, root_cond);
            if (!line.empty()) o << line << "\n";
        }
    }
    return o.str();
}

// ---------------------------------------------------------------- man

namespace {

/// Text for roff: backslashes and dashes escaped, no line starting with a
/// control character.
std::string roff(const std::string& s) {
    std::string out;
    bool line_start = true;
    for (char ch : s) {
        if (line_start && (ch == '.' || ch == '\'')) out += "\\&";
        line_start = ch == '\n';
        if (ch == '\\') {
            out += "\\e";
        } else if (ch == '-') {
            out += "\\-";
        } else {
            out += ch;
        }
    }
    return out;
}

bool has_help_name(const OptionDoc& opt) {
    return std::find(opt.longs.begin(), opt.longs.end(), "--help") != opt.longs.end();
}

std::string option_synopsis(const OptionDoc& opt) {
    std::string s;
    if (!opt.positional.empty()) return "\\fI" + roff(opt.positional) + "\\fR";
    for (const auto& n : opt.shorts)
        s += (s.empty() ? "" : ", ") + ("\\fB" + roff(n) + "\\fR");
    for (const auto& n : opt.longs)
        s += (s.empty() ? "" : ", ") + ("\\fB" + roff(n) + "\\fR");
    if (opt.kind == ValueKind::choice) {
        s += " " + roff(join(opt.choices, "|"));
    } else if (opt.kind != ValueKind::none) {
        s += " \\fI" + roff(opt.value_name) + "\\fR";
    }
    return s;
}

}  // namespace

namespace {

void man_header(std::ostringstream& o) {
    o << ".\\\" Generated by `ctldb man` from ctldb's command-line definition.\n"
      << ".TH CTLDB 1 \"\" \"ctldb " << version() << "\" \"User Commands\"\n"
      << ".SH NAME\nctldb \\- PostgreSQL operations for the Admin Center: configuration, "
         "migrations, backups, TLS and maintenance\n"
      << ".SH SYNOPSIS\n.B ctldb\n[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR]\n"
      << ".br\n.B ctldb help\n[\\fIcommand\\fR...]\n"
      << ".SH DESCRIPTION\n.B ctldb\nturns the procedures of the Database Configuration Guide "
         "into safe commands\nwith aligned tables for people, one JSON document for scripts "
         "(\\fB\\-o json\\fR)\nand fixed exit codes. Global options may be given before or "
         "after the command.\nResults go to standard output; logs, progress and errors to "
         "standard error.\nThe password is never accepted on the command line, not even inside "
         "\\fB\\-\\-url\\fR.\n";
}

void man_commands(std::ostringstream& o, const std::vector<CommandDoc>& cmds) {
    o << ".SH GLOBAL OPTIONS\n";
    for (const auto& opt : cmds.front().options) {
        if (has_help_name(opt)) continue;
        o << ".TP\n" << option_synopsis(opt) << "\n" << roff(opt.description) << "\n";
    }
    o << ".SH COMMANDS\n";
    for (const auto& c : cmds) {
        if (c.path.empty()) continue;
        std::string usage = "\\fB" + roff(c.name()) + "\\fR";
        if (!c.subcommands.empty())
            usage += c.runs_alone ? " [\\fIsubcommand\\fR]" : " \\fIsubcommand\\fR";
        if (const OptionDoc* p = positional_of(c)) usage += " " + option_synopsis(*p);
        o << ".SS \"" << roff(c.name()) << "\"\n" << roff(c.description) << ".\n";
        if (!c.subcommands.empty())
            o << "Subcommands: " << roff(join(c.subcommands, ", ")) << ".\n";
        for (const auto& opt : c.options) {
            if (has_help_name(opt)) continue;
            o << ".TP\n" << option_synopsis(opt) << "\n" << roff(opt.description) << "\n";
        }
        if (!c.examples.empty()) {
            o << ".PP\nExamples:\n.RS\n.nf\n";
            for (const auto& e : c.examples)
                o << "# " << roff(e.what) << "\n" << roff(e.command) << "\n";
            o << ".fi\n.RE\n";
        }
    }
}

void man_environment(std::ostringstream& o) {
    o << ".SH ENVIRONMENT\n";
    for (const auto& s : config::settings()) {
        if (s.env.empty()) continue;
        o << ".TP\n.B " << roff(std::string(s.env)) << "\n" << roff(std::string(s.description));
        if (!s.default_value.empty())
            o << " (default " << roff(std::string(s.default_value)) << ")";
        if (!s.pg_env.empty())
            o << "; libpq's " << roff(std::string(s.pg_env)) << " is the fallback";
        o << ".\n";
    }
}

/// The variables ctldb reads beyond the settings table, FILES and EXIT
/// STATUS, with the backup directory's default from the table.
void man_fixed_sections(std::ostringstream& o) {
    const config::SettingSpec* b = config::find_setting("backup_dir");
    const std::string backup_dir(b != nullptr ? b->default_value : "/backups");
    o << R"SH(.TP
.B DB_PASSWORD_FILE
A file holding the password (a Kubernetes Secret mount): a regular file of at most 64 KiB.
.TP
.B DATABASE_URL
A libpq URI or key=value string; each part ranks just below the specific setting of its level.
.TP
.B CTLDB_CONFIG
The YAML config file: ctldb's own, or the guide's ConfigMap as is (same as \fB\-\-config\fR).
.TP
.B CTLDB_BACKUP_DIR
The backup directory (default )SH"
      << backup_dir << R"SH().
.TP
.B AWS_ACCESS_KEY_ID\fR, \fBAWS_SECRET_ACCESS_KEY\fR, \fBAWS_SESSION_TOKEN
S3 credentials for s3:// backup locations; each may instead be read from the file its
\fB_FILE\fR variant names (\fBAWS_ACCESS_KEY_ID_FILE\fR, \fBAWS_SECRET_ACCESS_KEY_FILE\fR,
\fBAWS_SESSION_TOKEN_FILE\fR: a mounted Secret). Without them, the shared credentials file
\fBAWS_SHARED_CREDENTIALS_FILE\fR (default ~/.aws/credentials), profile \fBAWS_PROFILE\fR
(default default). Never printed.
.TP
.B AWS_REGION\fR, \fBAWS_DEFAULT_REGION
The region signed into S3 requests when CTLDB_S3_REGION is not set (default us-east-1).
.TP
.B CTLDB_PG_BINDIR
Where pg_dump, pg_restore and psql are looked for first.
.TP
.B CTLDB_SANDBOX_DIR\fR, \fBCTLDB_SANDBOX_USER
Directory and system user of \fBctldb local\fR.
.TP
.B NODE_ENV
Names the environment when CTLDB_ENV is set nowhere; \fBproduction\fR refuses seed, migrate down
and restore \-\-clean without \-\-force.
.TP
.B NO_COLOR\fR, \fBTERM
NO_COLOR turns colour off; TERM=dumb turns progress bars off.
.TP
.B PGSERVICE\fR, \fBPGSERVICEFILE\fR, \fBPG*
libpq's variables fill what ctldb's own settings leave open.
.PP
Precedence: flag > environment > config file > default.
.SH FILES
.TP
.I /backups/backup\-YYYYmmdd\-HHMMSS.sql.gz\fR, \fI.sql.zst\fR, \fI.dump\fR, and \fI.json
Backups (in CTLDB_BACKUP_DIR) and their manifests: checksum, size, row counts.
.TP
.I /var/lib/ctldb/sandbox
The data directory, certificates and password file of \fBctldb local\fR as root
(CTLDB_SANDBOX_DIR; other users: under their home directory).
.TP
.I /var/run/secrets/...
A mounted Secret named by DB_PASSWORD_FILE, DB_SSL_ROOT_CERT, DB_SSL_CERT and DB_SSL_KEY.
.SH EXIT STATUS
.TP
.B 0
Success; for checks: all passed.
.TP
.B 1
The work ran and failed, or a check found a problem.
.TP
.B 2
Usage or configuration error, detected before any connection.
.TP
.B 3
Cannot connect: refused, DNS, timeout, TLS, authentication.
.TP
.B 4
A lock could not be acquired in time.
.TP
.B 130
Interrupted (SIGINT, SIGTERM), after cleaning up.
.PP
With \fB\-o json\fR every command prints one document with "ok" and "exit_code".
.SH EXAMPLES
.nf
)SH";
}

}  // namespace

std::string man_page(const CLI::App& root) {
    const auto cmds = commands(root);
    std::ostringstream o;
    man_header(o);
    man_commands(o, cmds);
    man_environment(o);
    man_fixed_sections(o);

    for (const auto& e : cmds.front().examples)
        o << "# " << roff(e.what) << "\n" << roff(e.command) << "\n";
    o << ".fi\n.SH SEE ALSO\npsql(1), pg_dump(1), pg_restore(1), vacuumdb(1)\n";
    return o.str();
}

}  // namespace ctldb::cli
