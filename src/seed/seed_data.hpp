// seed generate's data: realistic, deterministic rows for the Admin
// Center's tables (a seed and a user's index give the same rows on every
// machine), in PostgreSQL's binary COPY format, and the COPY that loads them.
#pragma once

#include <cstdint>
#include <string>

#include "pg/connection.hpp"

namespace ctldb::seed {

/// Rows waiting to be copied, one binary COPY body per table.
struct Buffers {
    std::string users, subscriptions, methods, transactions, refunds, roles, audit;
    std::uint64_t rows = 0;
};

/// The id of the k-th generated admin of `seed`, as uuid text.
std::string admin_id_text(std::uint64_t seed, int k);

/// The admins (users with admin roles) every generated data set has.
void generate_admins(std::uint64_t seed, Buffers& b);

/// User `i` of `seed` with its subscription, payment methods, transactions,
/// refunds and audit entries.
void generate_user(std::uint64_t seed, std::uint64_t i, Buffers& b);

/// COPY every buffer into its table and empty it; returns the bytes sent.
std::uint64_t flush(pg::Connection& conn, Buffers& b);

}  // namespace ctldb::seed
