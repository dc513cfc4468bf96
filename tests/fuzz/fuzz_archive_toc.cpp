// libFuzzer target over the custom archive reader and the restore policy:
// a crafted table of contents must be read within its bounds or refused
// with an Error, never crash, overread or allocate without limit.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "backup/archive_toc.hpp"
#include "base/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int fd = ::memfd_create("archive", 0);
    if (fd < 0) return 0;
    if (::write(fd, data, size) != static_cast<ssize_t>(size)) {
        ::close(fd);
        return 0;
    }
    try {
        const ctldb::backup::ArchiveToc toc = ctldb::backup::read_archive_toc(fd, "fuzz");
        (void)ctldb::backup::check_archive_toc(toc, "fuzz");
        for (const auto& e : toc.entries)
            (void)ctldb::backup::never_run_by_restore(e);
    } catch (const ctldb::Error&) {
        // Refused input is fine; crashes and sanitizer reports are not.
    }
    ::close(fd);
    return 0;
}
