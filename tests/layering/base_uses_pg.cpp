// Must not compile: base is the lowest layer, and pg is above it. The suite
// builds this file (target layering_probe_forbidden) and expects the
// compiler to say that pg's header does not exist for base.
#include "base/text.hpp"
#include "pg/connection.hpp"

int layering_probe_forbidden() {
    return 0;
}
