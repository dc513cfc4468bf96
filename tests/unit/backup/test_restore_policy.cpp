// restore_policy: what pg_dump writes for one database runs; anything that
// reaches another database, the cluster, server files or programs, or
// changes whose rights the restore has, is refused by parse tree.
#include <doctest/doctest.h>

#include <string>

#include "backup/restore_policy.hpp"

using namespace ctldb;
using namespace ctldb::backup;
using backup::restore_policy::Action;

namespace {

Action action(const std::string& sql) {
    return backup::restore_policy::check(sql).action;
}

}  // namespace

TEST_CASE("pg_dump's own statements pass") {
    for (const char* sql : {
             "SET statement_timeout = 0",
             "SET client_encoding = 'UTF8'",
             "SET standard_conforming_strings = on",
             "SET client_encoding = 'LATIN1'",
             "SELECT pg_catalog.set_config('search_path', '', false)",
             "SET default_tablespace = ''",
             "SET default_table_access_method = heap",
             "CREATE SCHEMA app",
             "CREATE TABLE public.users (id uuid DEFAULT gen_random_uuid() NOT NULL, email text)",
             "CREATE FUNCTION public.f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
             "PERFORM pg_read_file('/etc/passwd'); RETURN NEW; END $$",
             "CREATE VIEW public.v AS SELECT pg_ls_dir('.')",
             "CREATE MATERIALIZED VIEW public.m AS SELECT 1 AS x WITH NO DATA",
             "REFRESH MATERIALIZED VIEW public.m",
             "CREATE INDEX idx_users_email ON public.users USING btree (email)",
             "ALTER TABLE ONLY public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id)",
             "CREATE TRIGGER t BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION "
             "public.f()",
             "SELECT pg_catalog.setval('public.s', 42, true)",
             "SELECT pg_catalog.lo_create('16385')",
             "SELECT pg_catalog.lo_open('16385', 131072)",
             "SELECT pg_catalog.lowrite(0, '\\x0102')",
             "SELECT pg_catalog.lo_close(0)",
             "GRANT SELECT ON TABLE public.users TO readonly",
             "REVOKE ALL ON SCHEMA public FROM PUBLIC",
             "COMMENT ON TABLE public.users IS 'people'",
             "ALTER DEFAULT PRIVILEGES FOR ROLE appuser IN SCHEMA public GRANT SELECT ON TABLES "
             "TO readonly",
             "DROP TABLE IF EXISTS public.users",
             "INSERT INTO public.users VALUES ('a', 'b@c')",
             "-- a comment alone",
         }) {
        CAPTURE(sql);
        const auto v = backup::restore_policy::check(sql);
        CHECK(v.action != Action::refuse);
        CHECK(v.reason.empty());
    }
    CHECK(action("COPY public.users (id, email) FROM stdin") == Action::copy);
    CHECK(action("BEGIN") == Action::transaction);
    CHECK(action("COMMIT") == Action::transaction);
    CHECK(action("CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA public") ==
          Action::extension);
    CHECK(backup::restore_policy::check("COMMENT ON EXTENSION pg_stat_statements IS 'x'").comment);
    const auto owner =
        backup::restore_policy::check("ALTER TABLE public.users OWNER TO \"App User\"");
    CHECK(owner.action == Action::ownership);
    CHECK(owner.new_owner == "App User");
    CHECK(backup::restore_policy::check("ALTER FUNCTION public.f() OWNER TO x").new_owner == "x");
}

TEST_CASE("what reaches past the target database is refused") {
    for (const char* sql : {
             "DROP DATABASE victimdb",
             "CREATE DATABASE other",
             "ALTER DATABASE victimdb RENAME TO gone",
             "ALTER DATABASE victimdb CONNECTION LIMIT 0",
             "ALTER DATABASE victimdb SET search_path = x",
             "ALTER DATABASE victimdb OWNER TO x",
             "GRANT ALL ON DATABASE victimdb TO x",
             "COMMENT ON DATABASE victimdb IS 'x'",
             "ALTER SYSTEM SET fsync = off",
             "CREATE ROLE evil SUPERUSER",
             "ALTER ROLE appuser SUPERUSER",
             "DROP ROLE appuser",
             "GRANT pg_execute_server_program TO appuser",
             "CREATE TABLESPACE t LOCATION '/tmp'",
             "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p",
             "DO $$ BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''id'''; END $$",
             "CALL public.p()",
             "LOAD 'plpgsql'",
             "COPY (SELECT 1) TO PROGRAM 'id'",
             "COPY public.users FROM PROGRAM 'id'",
             "COPY public.users FROM '/etc/passwd'",
             "COPY public.users TO STDOUT",
             "SELECT lo_export(16385, '/tmp/x')",
             "SELECT lo_import('/etc/passwd')",
             "SELECT pg_read_file('/etc/passwd')",
             "SELECT pg_catalog.set_config('role', 'postgres', false)",
             "SELECT pg_catalog.setval((SELECT 'x'), 1)",
             "SELECT public.f()",
             "SELECT 1",
             "SET ROLE postgres",
             "SET SESSION AUTHORIZATION postgres",
             "RESET ROLE",
             "SET session_replication_role = replica",
             "ROLLBACK",
             "SAVEPOINT s",
             "PREPARE TRANSACTION 'x'",
             "CREATE TABLE public.t AS SELECT lo_export(1, '/tmp/x')",
             "CREATE TABLE public.t (x int CHECK (lo_export(1, '/tmp/x') > 0))",
             "ALTER TABLE public.users ADD CONSTRAINT c CHECK (pg_read_file('/x') IS NOT NULL)",
             "INSERT INTO public.users SELECT * FROM pg_authid",
             "INSERT INTO public.users VALUES ((SELECT pg_read_file('/etc/passwd')), 'x')",
             "UPDATE public.users SET email = ''",
             "DELETE FROM public.users",
             "TRUNCATE public.users",
             "VACUUM",
             "NOTIFY x",
             "SET standard_conforming_strings = off",
             "SET standard_conforming_strings = false",
             "SET client_encoding = 'SJIS'",
             "SET client_encoding = 'big5'",
             "CREATE TABLE broken (",
             "SELECT 1; SELECT 2",
         }) {
        CAPTURE(sql);
        const auto v = backup::restore_policy::check(sql);
        CHECK(v.action == Action::refuse);
        CHECK_FALSE(v.reason.empty());
    }
}

TEST_CASE("dangerous functions by any spelling") {
    CHECK(backup::restore_policy::dangerous_function("pg_catalog.LO_EXPORT"));
    CHECK(backup::restore_policy::dangerous_function("dblink_exec"));
    CHECK(backup::restore_policy::dangerous_function("binary_upgrade_set_next_pg_type_oid"));
    CHECK_FALSE(backup::restore_policy::dangerous_function("lowrite"));
    CHECK_FALSE(backup::restore_policy::dangerous_function("nextval"));
}

TEST_CASE("what a rollback would not undo, for rehearsing down files") {
    using backup::restore_policy::not_undone_by_rollback;
    CHECK(not_undone_by_rollback("DROP TABLE payments; DROP FUNCTION f() CASCADE;").empty());
    CHECK(not_undone_by_rollback("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ SELECT "
                                 "nextval('s') $$")
              .empty());  // a body only runs when called
    CHECK(not_undone_by_rollback("SELECT setval('users_id_seq', 1)") == "a call of setval()");
    CHECK(not_undone_by_rollback("ALTER TABLE t ALTER COLUMN id SET DEFAULT 1; INSERT INTO t "
                                 "VALUES (nextval('s'))") == "a call of nextval()");
    CHECK(not_undone_by_rollback("DO $$ BEGIN PERFORM 1; END $$") ==
          "a DO block (its code is not read)");
    CHECK(not_undone_by_rollback("CALL p()") == "a CALL (the procedure is not read)");
    CHECK(not_undone_by_rollback("COPY t TO '/tmp/x'") == "COPY to or from a file or program");
    CHECK(not_undone_by_rollback("SELECT pg_terminate_backend(1)") ==
          "a call of pg_terminate_backend()");
    CHECK(!not_undone_by_rollback("DROP TABLE (").empty());
}
