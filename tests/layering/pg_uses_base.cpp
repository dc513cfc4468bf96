// Must compile: the control for base_uses_pg.cpp, the same kind of include
// in the allowed direction (pg is above base and config).
#include "base/text.hpp"
#include "config/config.hpp"
#include "pg/connection.hpp"

int layering_probe_allowed() {
    return 0;
}
