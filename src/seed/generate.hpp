// seed generate: realistic Admin Center data for the guide's tables,
// loaded in one transaction with COPY, constraints and indexes taken off
// for the load and rebuilt once over all rows (as pg_restore does).
#pragma once

#include <cstdint>
#include <string>

#include "pg/connection.hpp"

namespace ctldb::seed {

struct GenerateOptions {
    std::uint64_t seed = 0;     ///< --random-seed: the same seed, the same rows
    std::int64_t users = 0;     ///< users to generate, each with their rows
    std::int64_t batch = 5000;  ///< users per COPY batch
    bool keep_indexes = false;  ///< load with constraints and indexes in place
    std::string lock_timeout;   ///< how long to wait for the tables' locks
};

struct Generated {
    std::uint64_t rows = 0, bytes = 0;  ///< rows and COPY bytes loaded
    double seconds = 0;                 ///< all of it
    double rebuild_seconds = 0;         ///< putting constraints and indexes back
};

/// Throws when the Admin Center's tables are not all there.
void require_schema(pg::Connection& conn);

/// Generate and load `o.users` users; refused when data of the same seed is
/// there already, or the tables stay locked beyond `o.lock_timeout`.
Generated generate(pg::Connection& conn, const GenerateOptions& o);

}  // namespace ctldb::seed
