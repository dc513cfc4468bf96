#include "backup/restore_policy.hpp"

#include <pg_query.h>

#include <algorithm>
#include <array>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "base/text.hpp"

namespace ctldb::backup::restore_policy {

using nlohmann::json;

namespace {

std::string str(const json& obj, const char* key) {
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// Statement kinds pg_dump writes for the objects of one database. The
/// server still checks every one against the restoring role's rights.
const std::set<std::string, std::less<>>& object_statements() {
    static const std::set<std::string, std::less<>> kinds = {
        "CreateSchemaStmt",
        "CreateStmt",
        "CreateSeqStmt",
        "AlterSeqStmt",
        "ViewStmt",
        "RefreshMatViewStmt",
        "IndexStmt",
        "CreateFunctionStmt",
        "AlterFunctionStmt",
        "CreateTrigStmt",
        "CreateEventTrigStmt",
        "AlterEventTrigStmt",
        "RuleStmt",
        "CreatePolicyStmt",
        "DefineStmt",
        "CompositeTypeStmt",
        "CreateEnumStmt",
        "AlterEnumStmt",
        "CreateRangeStmt",
        "CreateDomainStmt",
        "AlterDomainStmt",
        "CreateCastStmt",
        "CreateConversionStmt",
        "CreateOpClassStmt",
        "CreateOpFamilyStmt",
        "AlterOpFamilyStmt",
        "CreatePLangStmt",
        "CreateFdwStmt",
        "CreateForeignServerStmt",
        "CreateUserMappingStmt",
        "CreateForeignTableStmt",
        "CreateTransformStmt",
        "CreateAmStmt",
        "CreateStatsStmt",
        "AlterStatsStmt",
        "CreatePublicationStmt",
        "AlterPublicationStmt",
        "AlterTableStmt",
        "AlterDefaultPrivilegesStmt",
        "AlterObjectDependsStmt",
        "AlterTSConfigurationStmt",
        "AlterTSDictionaryStmt",
        "DropStmt",
        "InsertStmt",
        "AlterCollationStmt",
    };
    return kinds;
}

/// Kinds that act on the cluster or on other databases, named for the
/// operator; anything else not allowed is refused as "not written by pg_dump".
std::string cluster_wide(std::string_view kind) {
    if (kind == "CreatedbStmt" || kind == "DropdbStmt" || kind == "AlterDatabaseStmt" ||
        kind == "AlterDatabaseSetStmt" || kind == "AlterDatabaseRefreshCollStmt")
        return "it acts on a database, not on objects inside the target";
    if (kind == "CreateRoleStmt" || kind == "AlterRoleStmt" || kind == "AlterRoleSetStmt" ||
        kind == "DropRoleStmt" || kind == "GrantRoleStmt" || kind == "DropOwnedStmt" ||
        kind == "ReassignOwnedStmt")
        return "it changes roles, which belong to the whole cluster";
    if (kind == "CreateTableSpaceStmt" || kind == "DropTableSpaceStmt" ||
        kind == "AlterTableSpaceOptionsStmt" || kind == "AlterTableMoveAllStmt")
        return "it changes tablespaces, which belong to the whole cluster";
    if (kind == "AlterSystemStmt") return "ALTER SYSTEM changes the server's configuration";
    if (kind == "CreateSubscriptionStmt" || kind == "AlterSubscriptionStmt" ||
        kind == "DropSubscriptionStmt")
        return "a subscription connects to another server";
    if (kind == "DoStmt") return "a DO block runs code of the file's own choosing";
    if (kind == "CallStmt") return "CALL runs a procedure";
    if (kind == "LoadStmt") return "LOAD loads a shared library into the server";
    return {};
}

/// pg_dump's SETs (_doSetFixedOutputState, the dump header, tablespace and
/// access method switches); SET ROLE and SESSION AUTHORIZATION are not
/// among them, since they would change whose rights the restore runs with.
bool allowed_setting(const std::string& name) {
    static const std::set<std::string> names = {
        "statement_timeout",     "lock_timeout",       "idle_in_transaction_session_timeout",
        "transaction_timeout",   "client_encoding",    "standard_conforming_strings",
        "check_function_bodies", "xmloption",          "client_min_messages",
        "row_security",          "default_tablespace", "default_table_access_method",
        "default_with_oids",     "search_path",        "escape_string_warning",
    };
    return names.count(name) > 0;
}

/// The value of SET name = value, as text ("" when not one constant).
std::string set_value(const json& body) {
    const json args = body.value("args", json::array());
    if (args.size() != 1 || !args[0].contains("A_Const")) return {};
    const json& c = args[0]["A_Const"];
    if (c.contains("sval")) return str(c["sval"], "sval");
    if (c.contains("ival")) return std::to_string(c["ival"].value("ival", 0));
    if (c.contains("boolval")) return c["boolval"].value("boolval", false) ? "true" : "false";
    return {};
}

/// Encodings only a client may use: a byte of a multibyte character can be
/// a quote or a backslash.
bool client_only_encoding(std::string e) {
    e.erase(std::remove(e.begin(), e.end(), '_'), e.end());
    e.erase(std::remove(e.begin(), e.end(), '-'), e.end());
    for (const char* x :
         {"sjis",  "shiftjis",   "shiftjis2004", "big5",       "gbk",        "uhc",     "gb18030",
          "johab", "windows932", "windows936",   "windows949", "windows950", "mskanji", "cp932",
          "cp936", "cp949",      "cp950",        "tcvn",       "tcvn5712",   "vscii",   "abc"}) {
        if (e == x) return true;
    }
    return false;
}

/// Object types of GRANT, COMMENT, SECURITY LABEL and ALTER ... OWNER that
/// name something outside the target database.
bool outside_object(const std::string& objtype) {
    return objtype == "OBJECT_DATABASE" || objtype == "OBJECT_ROLE" ||
           objtype == "OBJECT_TABLESPACE" || objtype == "OBJECT_PARAMETER_ACL" ||
           objtype == "OBJECT_SUBSCRIPTION";
}

/// The function's last name component, lower case: {"funcname": [...]}.
std::string function_name(const json& call) {
    auto it = call.find("funcname");
    if (it == call.end() || !it->is_array() || it->empty()) return {};
    const json& last = it->back();
    if (last.contains("String")) return ascii_lower(str(last["String"], "sval"));
    return {};
}

/// Subtrees that define code without running it during the restore
/// (function bodies, views, rules, policies, a materialized view created
/// WITH NO DATA, trigger conditions): their calls run later, with the
/// rights of whoever then uses them.
bool deferred_key(const std::string& parent_kind, const std::string& key) {
    if (parent_kind == "CreateFunctionStmt") return key == "sql_body" || key == "options";
    if (parent_kind == "ViewStmt") return key == "query";
    if (parent_kind == "RuleStmt") return key == "actions" || key == "whereClause";
    if (parent_kind == "CreatePolicyStmt") return key == "qual" || key == "with_check";
    if (parent_kind == "CreateTrigStmt") return key == "whenClause";
    if (parent_kind == "CreateTableAsStmt") return key == "query";
    return false;
}

/// The first call in `node`, outside deferred subtrees, of a function
/// `wanted` names.
std::string find_call(const json& node, const std::string& parent_kind,
                      const std::function<bool(const std::string&)>& wanted) {
    if (node.is_object()) {
        for (auto it = node.begin(); it != node.end(); ++it) {
            if (deferred_key(parent_kind, it.key())) continue;
            if (it.key() == "FuncCall" && it.value().is_object()) {
                const std::string name = function_name(it.value());
                if (wanted(name)) return name;
            }
            const std::string kind = it.value().is_object() ? it.key() : parent_kind;
            std::string found = find_call(it.value(), kind, wanted);
            if (!found.empty()) return found;
        }
    } else if (node.is_array()) {
        for (const auto& item : node) {
            std::string found = find_call(item, parent_kind, wanted);
            if (!found.empty()) return found;
        }
    }
    return {};
}

/// The first dangerous call in `node` outside deferred subtrees.
std::string find_dangerous_call(const json& node, const std::string& parent_kind) {
    return find_call(node, parent_kind,
                     [](const std::string& name) { return dangerous_function(name); });
}

/// Whether `node` is a constant: a literal, possibly cast ('1'::oid).
bool constant(const json& node) {
    if (node.contains("A_Const")) return true;
    if (node.contains("TypeCast")) return constant(node["TypeCast"].value("arg", json::object()));
    return false;
}

Verdict refuse(std::string reason) {
    Verdict v;
    v.action = Action::refuse;
    v.reason = std::move(reason);
    return v;
}

/// pg_dump's SELECTs: one function call with constant arguments and no
/// FROM, except lo_unlink over pg_largeobject_metadata (--clean).
Verdict check_select(const json& s) {
    static const std::set<std::string> calls = {"set_config", "setval",   "lo_create", "lo_open",
                                                "lowrite",    "lo_close", "lo_unlink"};
    const json* targets = s.contains("targetList") ? &s["targetList"] : nullptr;
    for (const char* k : {"withClause", "groupClause", "havingClause", "valuesLists", "sortClause",
                          "lockingClause", "larg", "rarg", "intoClause"}) {
        if (s.contains(k)) return refuse("a SELECT that pg_dump never writes");
    }
    if (targets == nullptr || !targets->is_array() || targets->size() != 1)
        return refuse("a SELECT that pg_dump never writes");
    const json& val = (*targets)[0].value("ResTarget", json::object()).value("val", json::object());
    if (!val.contains("FuncCall")) return refuse("a SELECT that pg_dump never writes");
    const json& call = val["FuncCall"];
    const std::string name = function_name(call);
    if (calls.count(name) == 0) {
        return refuse("a call of " + (name.empty() ? std::string("a function") : name + "()") +
                      ", not one of pg_dump's own (set_config, setval, lo_create, lo_open, "
                      "lowrite, lo_close)");
    }
    const json args = call.value("args", json::array());
    for (const auto& a : args) {
        if (!constant(a)) return refuse(name + "() with an argument that is not a constant");
    }
    if (name == "set_config") {
        const std::string first =
            args.empty()
                ? ""
                : str(args[0].value("A_Const", json::object()).value("sval", json::object()),
                      "sval");
        if (first != "search_path")
            return refuse("set_config of " + (first.empty() ? "a setting" : first) +
                          ": pg_dump sets only search_path");
    }
    const bool from = s.contains("fromClause") || s.contains("whereClause");
    if (from) {
        if (name != "lo_unlink") return refuse("a SELECT with FROM that pg_dump never writes");
        const std::string text = s.dump();
        if (text.find("\"pg_largeobject_metadata\"") == std::string::npos ||
            !find_dangerous_call(s, "SelectStmt").empty())
            return refuse("a SELECT with FROM that pg_dump never writes");
        // Its argument is the column oid, checked by the FROM above.
        return Verdict{};
    }
    return Verdict{};
}

Verdict check_copy(const json& c) {
    if (!c.value("is_from", false) || c.value("is_program", false) || c.contains("filename"))
        return refuse("COPY to or from a server file or program");
    if (c.contains("query") || c.contains("whereClause"))
        return refuse("a COPY that pg_dump never writes");
    Verdict v;
    v.action = Action::copy;
    return v;
}

std::string owner_of(const json& body) {
    return str(body.value("newowner", json::object()), "rolename");
}

/// ALTER TABLE with OWNER TO among its commands: the new owner, else "".
std::string table_owner_change(const json& body, bool& only_owner) {
    std::string owner;
    only_owner = true;
    for (const auto& cmd : body.value("cmds", json::array())) {
        const json& c = cmd.value("AlterTableCmd", json::object());
        if (str(c, "subtype") == "AT_ChangeOwner") {
            owner = owner_of(c);
        } else {
            only_owner = false;
        }
    }
    return owner;
}

Verdict check_transaction(const json& body) {
    const std::string k = str(body, "kind");
    if (k == "TRANS_STMT_BEGIN" || k == "TRANS_STMT_START" || k == "TRANS_STMT_COMMIT") {
        Verdict v;
        v.action = Action::transaction;
        return v;
    }
    return refuse("transaction control that pg_dump never writes");
}

Verdict check_set(const json& body) {
    const std::string name = ascii_lower(str(body, "name"));
    const std::string k = str(body, "kind");
    if (name == "role" || name == "session_authorization")
        return refuse("it changes the role the restore runs as");
    if (k != "VAR_SET_VALUE" && k != "VAR_SET_DEFAULT")
        return refuse("a SET that pg_dump never writes");
    if (!allowed_setting(name)) return refuse("SET " + name + ", which pg_dump never writes");
    // The policy reads statements as PostgreSQL's parser does with
    // standard_conforming_strings on and an ASCII-safe encoding: a session
    // lexing strings otherwise could see statements the check did not (a
    // backslash before a quote, a quote byte inside a multibyte character).
    // pg_dump of 9.1 and later always writes on, and the database's
    // (server) encoding.
    const std::string value = ascii_lower(set_value(body));
    if (name == "standard_conforming_strings" && value != "on" && value != "true" && value != "1" &&
        k != "VAR_SET_DEFAULT")
        return refuse(
            "standard_conforming_strings off, which no dump of PostgreSQL 9.1 or "
            "later sets and which ctldb's check cannot read");
    if (name == "client_encoding" && client_only_encoding(value))
        return refuse("client_encoding " + value +
                      ", an encoding no database has (a quote byte may hide inside a "
                      "character)");
    return Verdict{};
}

Verdict check_comment(const std::string& kind, const json& body) {
    const std::string objtype = str(body, "objtype");
    if (outside_object(objtype))
        return refuse("a comment or label on a database, role or tablespace");
    if (kind == "CommentStmt" && objtype == "OBJECT_EXTENSION") {
        Verdict v;
        v.action = Action::extension;
        v.comment = true;
        return v;
    }
    return Verdict{};
}

Verdict check_alter_owner(const json& body) {
    if (outside_object(str(body, "objectType")))
        return refuse("it changes the owner of a database or tablespace");
    Verdict v;
    v.action = Action::ownership;
    v.new_owner = owner_of(body);
    return v;
}

Verdict check_create_table_as(const json& body) {
    if (str(body, "objtype") != "OBJECT_MATVIEW" ||
        !body.value("into", json::object()).value("skipData", false))
        return refuse(
            "CREATE TABLE AS runs a query; pg_dump writes only materialized views "
            "WITH NO DATA");
    return Verdict{};
}

/// pg_dump --inserts: VALUES of constants, nothing that runs a query. An
/// empty verdict (no reason) when the INSERT may run.
Verdict check_insert(const json& body) {
    const json& sel = body.value("selectStmt", json::object());
    const bool values_only = sel.contains("SelectStmt") &&
                             sel["SelectStmt"].contains("valuesLists") &&
                             !sel["SelectStmt"].contains("fromClause");
    if (!values_only || body.contains("withClause") || body.contains("returningList"))
        return refuse("an INSERT that pg_dump never writes (it inserts VALUES only)");
    if (body.dump().find("\"SubLink\"") != std::string::npos)
        return refuse("an INSERT with a subquery");
    return Verdict{};
}

/// ALTER TABLE ... OWNER TO alone is an ownership change; combined with
/// other changes it is refused; otherwise an object statement.
Verdict check_alter_table(const json& body) {
    bool only_owner = false;
    std::string owner = table_owner_change(body, only_owner);
    if (owner.empty()) return Verdict{};
    if (!only_owner) return refuse("OWNER TO combined with other changes");
    Verdict v;
    v.action = Action::ownership;
    v.new_owner = owner;
    return v;
}

Verdict check_tree(const std::string& kind, const json& body) {
    if (std::string why = cluster_wide(kind); !why.empty()) return refuse(why);
    if (kind == "TransactionStmt") return check_transaction(body);
    if (kind == "VariableSetStmt") return check_set(body);
    if (kind == "SelectStmt") return check_select(body);
    if (kind == "CopyStmt") return check_copy(body);
    if (kind == "CreateExtensionStmt") {
        Verdict v;
        v.action = Action::extension;
        return v;
    }
    if (kind == "CommentStmt" || kind == "SecLabelStmt") return check_comment(kind, body);
    if (kind == "GrantStmt") {
        if (outside_object(str(body, "objtype")))
            return refuse("privileges on a database, role, tablespace or server parameter");
        return Verdict{};
    }
    if (kind == "AlterOwnerStmt") return check_alter_owner(body);
    if (kind == "CreateTableAsStmt") return check_create_table_as(body);
    if (kind == "InsertStmt") {
        const Verdict v = check_insert(body);
        if (v.action == Action::refuse) return v;
    }
    if (object_statements().count(kind) == 0) {
        return refuse("a statement pg_dump never writes for one database (" + kind + ")");
    }
    // A CreateStmt naming a tablespace only places the table; the server
    // checks CREATE on it. Allowed, as pg_dump does.
    if (kind == "AlterTableStmt") return check_alter_table(body);
    return Verdict{};
}

}  // namespace

bool dangerous_function(std::string_view name_in) {
    std::string name = ascii_lower(name_in);
    if (auto dot = name.rfind('.'); dot != std::string::npos) name = name.substr(dot + 1);
    static const std::set<std::string, std::less<>> names = {
        // server files and programs
        "pg_read_file", "pg_read_binary_file", "pg_stat_file", "pg_ls_dir", "pg_ls_logdir",
        "pg_ls_waldir", "pg_ls_tmpdir", "pg_ls_archive_statusdir", "pg_ls_logicalsnapdir",
        "pg_ls_logicalmapdir", "pg_ls_replslotdir", "lo_import", "lo_export", "pg_file_write",
        "pg_file_sync", "pg_file_rename", "pg_file_unlink", "pg_logdir_ls",
        // other servers, other sessions, SQL given as text
        "dblink", "dblink_exec", "dblink_connect", "dblink_connect_u", "dblink_send_query",
        "dblink_open", "pg_terminate_backend", "pg_cancel_backend", "query_to_xml",
        "query_to_xml_and_xmlschema", "query_to_xmlschema", "cursor_to_xml",
        // the server's configuration and state
        "set_config", "pg_reload_conf", "pg_rotate_logfile", "pg_promote", "pg_switch_wal",
        "pg_create_restore_point", "pg_backup_start", "pg_backup_stop", "pg_start_backup",
        "pg_stop_backup", "pg_create_physical_replication_slot",
        "pg_create_logical_replication_slot", "pg_drop_replication_slot",
        "pg_copy_physical_replication_slot", "pg_copy_logical_replication_slot",
        "pg_replication_origin_create", "pg_replication_origin_drop", "pg_stat_reset",
        "pg_stat_reset_shared", "pg_stat_reset_slru", "pg_stat_reset_replication_slot",
        "pg_import_system_collations", "binary_upgrade_create_empty_extension"};
    if (name.rfind("binary_upgrade_", 0) == 0) return true;
    return names.count(name) > 0;
}

Verdict check(std::string_view sql) {
    const std::string text(sql);
    PgQueryParseResult r = pg_query_parse(text.c_str());
    if (r.error != nullptr) {
        std::string msg = r.error->message ? r.error->message : "syntax error";
        pg_query_free_parse_result(r);
        return refuse("PostgreSQL 15's parser cannot read it (" + msg + ")");
    }
    json tree = json::parse(r.parse_tree, nullptr, false);
    pg_query_free_parse_result(r);
    if (tree.is_discarded()) return refuse("it could not be parsed");
    const json stmts = tree.value("stmts", json::array());
    if (stmts.empty()) return Verdict{};  // comments only
    if (stmts.size() != 1) return refuse("several statements where one was expected");
    const json& stmt = stmts[0].value("stmt", json::object());
    if (!stmt.is_object() || stmt.size() != 1) return refuse("it could not be parsed");
    const std::string kind = stmt.begin().key();
    const json& body = stmt.begin().value();
    Verdict v = check_tree(kind, body);
    if (v.action == Action::refuse) return v;
    if (kind != "SelectStmt") {
        if (std::string f = find_dangerous_call(body, kind); !f.empty())
            return refuse("it calls " + f + "(), which reaches outside the database");
    }
    return v;
}

std::string not_undone_by_rollback(std::string_view sql) {
    const std::string text(sql);
    PgQueryParseResult r = pg_query_parse(text.c_str());
    if (r.error != nullptr) {
        pg_query_free_parse_result(r);
        return "a statement PostgreSQL 15's parser cannot read";
    }
    json tree = json::parse(r.parse_tree, nullptr, false);
    pg_query_free_parse_result(r);
    if (tree.is_discarded()) return "a statement that could not be parsed";
    for (const auto& entry : tree.value("stmts", json::array())) {
        const json& stmt = entry.value("stmt", json::object());
        if (!stmt.is_object() || stmt.size() != 1) return "a statement that could not be parsed";
        const std::string kind = stmt.begin().key();
        const json& body = stmt.begin().value();
        if (kind == "DoStmt") return "a DO block (its code is not read)";
        if (kind == "CallStmt") return "a CALL (the procedure is not read)";
        if (kind == "CopyStmt" && (body.contains("filename") || body.value("is_program", false)))
            return "COPY to or from a file or program";
        // Sequences move outside transactions; the rest reach outside the
        // database.
        const std::string f = find_call(body, kind, [](const std::string& name) {
            return name == "nextval" || name == "setval" || dangerous_function(name);
        });
        if (!f.empty()) return "a call of " + f + "()";
    }
    return {};
}

}  // namespace ctldb::backup::restore_policy
