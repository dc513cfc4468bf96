// Streaming compression for backups: gzip with parallel deflate (pigz's
// approach: independent blocks primed with the previous 32 KiB, one gzip
// member that any gunzip reads) and multi-threaded zstd; the file's SHA-256
// is computed as it is written. Decompression checks CRCs and completeness.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crypto/age.hpp"

namespace ctldb::backup {

enum class Compression { gzip, zstd, none };

/// Writes to a file descriptor (or hands on to a function: an object
/// storage upload), hashing (SHA-256) and counting what it writes.
class HashingFileSink {
  public:
    explicit HashingFileSink(int fd, std::string path);
    /// What is stored goes to `out` instead of a file; `name` for messages.
    HashingFileSink(std::function<void(const char*, std::size_t)> out, std::string name);
    ~HashingFileSink();
    void write(const void* data, std::size_t size);
    /// From now on what is written is encrypted to `recipients` (the age
    /// format) before it reaches the file: the checksum and the byte count
    /// are of the file as stored. Call before the first write.
    void encrypt_to(const std::vector<crypto::Recipient>& recipients);
    /// Hex SHA-256 of everything written (the encryption's last chunk
    /// first); call once, at the end.
    std::string finish_sha256();
    std::uint64_t bytes() const { return bytes_; }
    HashingFileSink(const HashingFileSink&) = delete;
    HashingFileSink& operator=(const HashingFileSink&) = delete;

  private:
    void write_stored(const void* data, std::size_t size);
    int fd_ = -1;
    std::function<void(const char*, std::size_t)> out_;
    std::string path_;
    std::unique_ptr<crypto::Encryptor> encryptor_;
    struct Digest;
    std::unique_ptr<Digest> digest_;
    std::uint64_t bytes_ = 0;
};

class Compressor {
  public:
    virtual ~Compressor() = default;
    virtual void write(const char* data, std::size_t size) = 0;
    /// Flush everything and write the trailer.
    virtual void finish() = 0;
};

/// gzip at `level` (1-9) over `threads` threads into `sink`.
std::unique_ptr<Compressor> make_gzip_compressor(HashingFileSink& sink, int level, int threads);
/// zstd at `level` (1-19) over `threads` workers, with content checksums.
std::unique_ptr<Compressor> make_zstd_compressor(HashingFileSink& sink, int level, int threads);

/// Read `path` once: its SHA-256 and, unless `compression` is none, the
/// decompressed stream passed to `out` in chunks. Throws Error(failure) for
/// a truncated or corrupt stream (CRC, size, zstd checksum).
struct ReadResult {
    std::string sha256;
    std::uint64_t file_bytes = 0;
    std::uint64_t content_bytes = 0;
    std::string tail;  ///< last 512 bytes of the decompressed content
};
ReadResult read_compressed(const std::string& path, Compression compression,
                           const std::function<void(const char*, std::size_t)>& out);
/// The same from an open file, read from its current offset to its end
/// (`path` names it in messages): what is checked is what is read.
/// `decrypt_with`: the file is age-encrypted and these identities open it
/// (Error(usage) when none does); the checksum is of the stored bytes.
ReadResult read_compressed_fd(int fd, const std::string& path, Compression compression,
                              const std::function<void(const char*, std::size_t)>& out,
                              const std::vector<crypto::Identity>* decrypt_with = nullptr);
/// The same with the reading, checksumming and decompressing on a thread of
/// its own, one to four 1 MiB chunks ahead of `out` (which runs on the
/// calling thread): a restore's parsing and sending overlap the
/// decompression. Damage found by the reader is thrown here, after `out`
/// has had every byte before it; an exception from `out` stops the reader.
ReadResult read_compressed_fd_ahead(int fd, const std::string& path, Compression compression,
                                    const std::function<void(const char*, std::size_t)>& out,
                                    const std::vector<crypto::Identity>* decrypt_with = nullptr);

/// Up to `max` bytes from the start of `path`, decompressed with
/// `compression`: enough to tell what a file holds without reading it all.
/// A damaged or short stream gives what could be read (maybe nothing).
std::string decompressed_head(const std::string& path, Compression compression, std::size_t max);

}  // namespace ctldb::backup
