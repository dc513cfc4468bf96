// The SQLSTATE codes ctldb acts on, by PostgreSQL's names (Appendix A,
// "PostgreSQL Error Codes"), so that no code compares against a literal.
#pragma once

namespace ctldb::pg::sqlstate {

constexpr const char* insufficient_privilege = "42501";
constexpr const char* undefined_object = "42704";
constexpr const char* lock_not_available = "55P03";
constexpr const char* object_not_in_prerequisite_state = "55000";
constexpr const char* query_canceled = "57014";  ///< statement_timeout or a cancel

}  // namespace ctldb::pg::sqlstate
