#include "ctldb/settings.hpp"

namespace ctldb {

const std::vector<SettingSpec>& settings() {
    static const std::vector<SettingSpec> table = {
        {"type", "DB_TYPE", "", "", "database.type", SettingKind::choice, "postgresql",
         {"postgresql"}, 0, 0, false, "database type; only PostgreSQL is supported"},
        {"host", "DB_HOST", "PGHOST", "host", "database.host", SettingKind::text, "", {}, 0, 0,
         true, "server host name, IP address or Unix socket directory"},
        {"hostaddr", "DB_HOSTADDR", "PGHOSTADDR", "hostaddr", "database.hostaddr",
         SettingKind::text, "", {}, 0, 0, false,
         "numeric address to connect to, skipping DNS; TLS still verifies `host`"},
        {"port", "DB_PORT", "PGPORT", "port", "database.port", SettingKind::integer, "5432", {},
         1, 65535, false, "server port"},
        {"dbname", "DB_NAME", "PGDATABASE", "dbname", "database.name", SettingKind::text, "", {},
         0, 0, true, "database name"},
        {"user", "DB_USER", "PGUSER", "user", "database.user", SettingKind::text, "", {}, 0, 0,
         true, "database role"},
        {"password", "DB_PASSWORD", "PGPASSWORD", "", "database.password", SettingKind::secret,
         "", {}, 0, 0, false, "password; never accepted on the command line"},
        {"password_file", "DB_PASSWORD_FILE", "", "", "database.password_file",
         SettingKind::path, "", {}, 0, 0, false,
         "file holding the password (a mounted Kubernetes secret)"},
        {"sslmode", "DB_SSL_MODE", "PGSSLMODE", "sslmode", "database.ssl.mode",
         SettingKind::choice, "require",
         {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}, 0, 0, false,
         "libpq sslmode, passed through exactly"},
        {"sslrootcert", "DB_SSL_ROOT_CERT", "PGSSLROOTCERT", "sslrootcert",
         "database.ssl.root_cert", SettingKind::path, "", {}, 0, 0, false,
         "CA certificate(s) that signed the server certificate"},
        {"sslcert", "DB_SSL_CERT", "PGSSLCERT", "sslcert", "database.ssl.cert", SettingKind::path,
         "", {}, 0, 0, false, "client certificate"},
        {"sslkey", "DB_SSL_KEY", "PGSSLKEY", "sslkey", "database.ssl.key", SettingKind::path, "",
         {}, 0, 0, false, "client private key"},
        {"pool_max", "DB_POOL_MAX", "", "", "pool.max", SettingKind::integer, "50", {}, 1, 10000,
         false, "maximum connections per application pod"},
        {"pool_idle_timeout_ms", "DB_POOL_IDLE_TIMEOUT", "", "", "pool.idle_timeout_ms",
         SettingKind::integer, "600000", {}, 0, 86400000, false,
         "idle connection timeout of the application pool, ms (0: never)"},
        {"connect_timeout_ms", "DB_POOL_CONNECTION_TIMEOUT", "", "connect-timeout-ms",
         "pool.connection_timeout_ms", SettingKind::integer, "30000", {}, 0, 3600000, false,
         "how long to wait for a connection, ms (0: wait forever)"},
        {"env", "CTLDB_ENV", "", "env", "environment", SettingKind::choice, "development",
         {"development", "test", "staging", "production"}, 0, 0, false,
         "deployment environment; `production` guards destructive commands"},
        {"backup_dir", "CTLDB_BACKUP_DIR", "", "", "backup.dir", SettingKind::text, "/backups",
         {}, 0, 0, false, "directory for backups"},
    };
    return table;
}

const SettingSpec* find_setting(std::string_view key) {
    for (const auto& s : settings()) {
        if (s.key == key) return &s;
    }
    return nullptr;
}

}  // namespace ctldb
