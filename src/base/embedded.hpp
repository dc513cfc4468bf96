// SQL files compiled into the binary (migrations/ and seeds/), so a copied
// binary needs no other files.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace ctldb {

struct EmbeddedFile {
    const char* name;
    const unsigned char* data;
    std::size_t size;
    std::string text() const { return std::string(reinterpret_cast<const char*>(data), size); }
};

const std::vector<EmbeddedFile>& embedded_migrations();
const std::vector<EmbeddedFile>& embedded_seeds();

}  // namespace ctldb
