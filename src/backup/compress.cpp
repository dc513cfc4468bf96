#include "backup/compress.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <openssl/evp.h>
#include <zlib.h>
#include <zstd.h>

#include "base/error.hpp"
#include "base/signals.hpp"
#include "base/text.hpp"

namespace ctldb::backup {

struct HashingFileSink::Digest {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Digest() { EVP_MD_CTX_free(ctx); }
};

HashingFileSink::HashingFileSink(int fd, std::string path)
    : fd_(fd), path_(std::move(path)), digest_(std::make_unique<Digest>()) {
    EVP_DigestInit_ex(digest_->ctx, EVP_sha256(), nullptr);
}

HashingFileSink::HashingFileSink(std::function<void(const char*, std::size_t)> out,
                                 std::string name)
    : out_(std::move(out)), path_(std::move(name)), digest_(std::make_unique<Digest>()) {
    EVP_DigestInit_ex(digest_->ctx, EVP_sha256(), nullptr);
}

HashingFileSink::~HashingFileSink() = default;

void HashingFileSink::encrypt_to(const std::vector<crypto::Recipient>& recipients) {
    encryptor_ = std::make_unique<crypto::Encryptor>(
        recipients, [this](const char* p, std::size_t n) { write_stored(p, n); });
}

void HashingFileSink::write(const void* data, std::size_t size) {
    if (encryptor_) {
        encryptor_->write(static_cast<const char*>(data), size);
    } else {
        write_stored(data, size);
    }
}

void HashingFileSink::write_stored(const void* data, std::size_t size) {
    EVP_DigestUpdate(digest_->ctx, data, size);
    const char* p = static_cast<const char*>(data);
    if (out_) {
        out_(p, size);
        bytes_ += size;
        return;
    }
    while (size > 0) {
        ssize_t n = ::write(fd_, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            throw Error(ExitCode::failure, "cannot write " + path_ + ": " + std::strerror(errno),
                        errno == ENOSPC ? "the backup volume is full" : "");
        }
        p += n;
        size -= static_cast<std::size_t>(n);
        bytes_ += static_cast<std::uint64_t>(n);
    }
}

std::string HashingFileSink::finish_sha256() {
    if (encryptor_) encryptor_->finish();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(digest_->ctx, md, &len);
    return hex_lower(md, len);
}

namespace {

constexpr std::size_t kBlock = 128 * 1024;
constexpr std::size_t kWindow = 32 * 1024;

/// One block of input and, once a worker is done, its deflate output.
struct GzipJob {
    std::string input;
    std::string dictionary;  // last 32 KiB of the previous block
    bool last = false;
    std::string output;
    uLong crc = 0;
    bool done = false;
    std::string error;
};

class ParallelGzip : public Compressor {
  public:
    ParallelGzip(HashingFileSink& sink, int level, int threads)
        : sink_(sink), level_(level), max_in_flight_(static_cast<std::size_t>(threads) * 3) {
        // Header: magic, deflate, no flags, no mtime (reproducible), unix.
        const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
        sink_.write(header, sizeof header);
        for (int i = 0; i < threads; ++i)
            workers_.emplace_back([this] { work(); });
        current_.reserve(kBlock);
    }

    ~ParallelGzip() override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stopping_ = true;
        }
        cv_work_.notify_all();
        for (auto& t : workers_)
            t.join();
    }

    void write(const char* data, std::size_t size) override {
        while (size > 0) {
            const std::size_t n = std::min(size, kBlock - current_.size());
            current_.append(data, n);
            data += n;
            size -= n;
            if (current_.size() == kBlock) submit(false);
        }
    }

    void finish() override {
        submit(true);
        while (!in_flight_.empty())
            write_oldest();
        unsigned char trailer[8];
        for (int i = 0; i < 4; ++i)
            trailer[i] = static_cast<unsigned char>(crc_ >> (8 * i));
        for (int i = 0; i < 4; ++i)
            trailer[4 + i] = static_cast<unsigned char>(total_ >> (8 * i));
        sink_.write(trailer, sizeof trailer);
    }

  private:
    void submit(bool last) {
        auto job = std::make_shared<GzipJob>();
        job->input.swap(current_);
        job->dictionary = previous_tail_;
        job->last = last;
        const std::string& in = job->input;
        if (in.size() >= kWindow) {
            previous_tail_.assign(in, in.size() - kWindow, kWindow);
        } else {
            previous_tail_ += in;
            if (previous_tail_.size() > kWindow) {
                previous_tail_.erase(0, previous_tail_.size() - kWindow);
            }
        }
        current_.clear();
        current_.reserve(kBlock);
        {
            std::lock_guard<std::mutex> lock(mu_);
            queue_.push_back(job);
        }
        cv_work_.notify_one();
        in_flight_.push_back(job);
        while (in_flight_.size() >= max_in_flight_)
            write_oldest();
    }

    void write_oldest() {
        auto job = in_flight_.front();
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_done_.wait(lock, [&] { return job->done; });
        }
        in_flight_.pop_front();
        if (!job->error.empty()) throw Error(ExitCode::failure, "gzip: " + job->error);
        sink_.write(job->output.data(), job->output.size());
        crc_ = crc32_combine(crc_, job->crc, static_cast<z_off_t>(job->input.size()));
        total_ += job->input.size();
        throw_if_interrupted();
    }

    void work() {
        for (;;) {
            std::shared_ptr<GzipJob> job;
            {
                std::unique_lock<std::mutex> lock(mu_);
                cv_work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) return;
                job = queue_.front();
                queue_.pop_front();
            }
            compress(*job);
            {
                std::lock_guard<std::mutex> lock(mu_);
                job->done = true;
            }
            cv_done_.notify_all();
        }
    }

    void compress(GzipJob& job) const {
        job.crc = crc32(0L, reinterpret_cast<const Bytef*>(job.input.data()),
                        static_cast<uInt>(job.input.size()));
        z_stream zs{};
        if (deflateInit2(&zs, level_, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            job.error = "deflateInit2 failed";
            return;
        }
        if (!job.dictionary.empty()) {
            deflateSetDictionary(&zs, reinterpret_cast<const Bytef*>(job.dictionary.data()),
                                 static_cast<uInt>(job.dictionary.size()));
        }
        job.output.resize(deflateBound(&zs, job.input.size()) + 16);
        zs.next_in = reinterpret_cast<Bytef*>(job.input.data());
        zs.avail_in = static_cast<uInt>(job.input.size());
        zs.next_out = reinterpret_cast<Bytef*>(job.output.data());
        zs.avail_out = static_cast<uInt>(job.output.size());
        // Middle blocks end on a byte boundary (sync flush) so they can be
        // concatenated; only the last one is final.
        const int rc = deflate(&zs, job.last ? Z_FINISH : Z_SYNC_FLUSH);
        if (rc != (job.last ? Z_STREAM_END : Z_OK)) job.error = "deflate failed";
        job.output.resize(job.output.size() - zs.avail_out);
        deflateEnd(&zs);
    }

    HashingFileSink& sink_;
    int level_;
    std::size_t max_in_flight_;
    std::string current_;
    std::string previous_tail_;
    std::deque<std::shared_ptr<GzipJob>> in_flight_;
    uLong crc_ = crc32(0L, Z_NULL, 0);
    std::uint64_t total_ = 0;

    std::mutex mu_;
    std::condition_variable cv_work_, cv_done_;
    std::deque<std::shared_ptr<GzipJob>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

class ZstdStream : public Compressor {
  public:
    ZstdStream(HashingFileSink& sink, int level, int threads)
        : sink_(sink), cctx_(ZSTD_createCCtx()) {
        ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
        if (threads > 1) ZSTD_CCtx_setParameter(cctx_, ZSTD_c_nbWorkers, threads);
        out_.resize(ZSTD_CStreamOutSize());
    }
    ~ZstdStream() override { ZSTD_freeCCtx(cctx_); }

    void write(const char* data, std::size_t size) override { run(data, size, ZSTD_e_continue); }
    void finish() override { run(nullptr, 0, ZSTD_e_end); }

  private:
    void run(const char* data, std::size_t size, ZSTD_EndDirective mode) {
        ZSTD_inBuffer in{data, size, 0};
        for (;;) {
            ZSTD_outBuffer out{out_.data(), out_.size(), 0};
            const std::size_t left = ZSTD_compressStream2(cctx_, &out, &in, mode);
            if (ZSTD_isError(left)) {
                throw Error(ExitCode::failure, std::string("zstd: ") + ZSTD_getErrorName(left));
            }
            sink_.write(out_.data(), out.pos);
            const bool done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
            if (done) break;
        }
    }

    HashingFileSink& sink_;
    ZSTD_CCtx* cctx_;
    std::string out_;
};

}  // namespace

std::unique_ptr<Compressor> make_gzip_compressor(HashingFileSink& sink, int level, int threads) {
    return std::make_unique<ParallelGzip>(sink, level, std::max(1, threads));
}

std::unique_ptr<Compressor> make_zstd_compressor(HashingFileSink& sink, int level, int threads) {
    return std::make_unique<ZstdStream>(sink, level, threads);
}

ReadResult read_compressed(const std::string& path, Compression compression,
                           const std::function<void(const char*, std::size_t)>& out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(ExitCode::failure, "cannot read " + path + ": " + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    return read_compressed_fd(fd, path, compression, out);
}

namespace {

/// Decompresses what a file holds, as it is read, into `out`; keeps the
/// count and the last 512 bytes of the content. Damage is an Error naming
/// `path`.
class Decompressor {
  public:
    Decompressor(const std::string& path, Compression compression,
                 const std::function<void(const char*, std::size_t)>& out, ReadResult& result)
        : path_(path), compression_(compression), out_(out), result_(result), buf_(1 << 20) {
        if (compression == Compression::gzip) {
            if (inflateInit2(&zs_, 16 + 15) != Z_OK) throw corrupt("inflateInit2 failed");
            gz_ready_ = true;
        } else if (compression == Compression::zstd) {
            dctx_ = ZSTD_createDCtx();
        }
    }
    ~Decompressor() {
        if (gz_ready_) inflateEnd(&zs_);
        if (dctx_ != nullptr) ZSTD_freeDCtx(dctx_);
    }
    Decompressor(const Decompressor&) = delete;
    Decompressor& operator=(const Decompressor&) = delete;

    void feed(char* data, std::size_t n) {
        if (compression_ == Compression::none) {
            emit(data, n);
        } else if (compression_ == Compression::gzip) {
            feed_gzip(data, n);
        } else {
            feed_zstd(data, n);
        }
    }

    /// The end of the file: what zlib still holds, and a truncated or empty
    /// stream refused.
    void finish() {
        if (compression_ == Compression::gzip) {
            drain_gzip();
            if (stream_open_) throw corrupt("the gzip stream is truncated");
            if (result_.file_bytes == 0) throw corrupt("the file is empty");
        } else if (compression_ == Compression::zstd) {
            if (result_.file_bytes == 0) throw corrupt("the file is empty");
            if (zstd_left_ != 0) throw corrupt("the zstd stream is truncated");
        }
    }

  private:
    Error corrupt(const std::string& why) const {
        return Error(ExitCode::failure, path_ + " is damaged: " + why,
                     "the backup cannot be trusted; use another one");
    }

    void emit(const char* data, std::size_t n) {
        if (n == 0) return;
        result_.content_bytes += n;
        if (n >= 512) {
            result_.tail.assign(data + n - 512, 512);
        } else {
            result_.tail.append(data, n);
            if (result_.tail.size() > 512) result_.tail.erase(0, result_.tail.size() - 512);
        }
        if (out_) out_(data, n);
    }

    void feed_gzip(char* data, std::size_t n) {
        zs_.next_in = reinterpret_cast<Bytef*>(data);
        zs_.avail_in = static_cast<uInt>(n);
        while (zs_.avail_in > 0) {
            zs_.next_out = reinterpret_cast<Bytef*>(buf_.data());
            zs_.avail_out = static_cast<uInt>(buf_.size());
            stream_open_ = true;
            const int rc = inflate(&zs_, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END) {
                throw corrupt(zs_.msg ? zs_.msg : "invalid gzip data");
            }
            emit(buf_.data(), buf_.size() - zs_.avail_out);
            if (rc == Z_STREAM_END) {
                stream_open_ = false;
                inflateReset(&zs_);  // a further gzip member may follow
            }
        }
    }

    void drain_gzip() {
        while (stream_open_) {
            zs_.next_out = reinterpret_cast<Bytef*>(buf_.data());
            zs_.avail_out = static_cast<uInt>(buf_.size());
            const int rc = inflate(&zs_, Z_NO_FLUSH);
            emit(buf_.data(), buf_.size() - zs_.avail_out);
            if (rc == Z_STREAM_END) {
                stream_open_ = false;
            } else if (rc == Z_BUF_ERROR || zs_.avail_out != 0) {
                break;
            } else if (rc != Z_OK) {
                throw corrupt(zs_.msg ? zs_.msg : "invalid gzip data");
            }
        }
    }

    void feed_zstd(char* data, std::size_t n) {
        ZSTD_inBuffer zin{data, n, 0};
        while (zin.pos < zin.size) {
            ZSTD_outBuffer zout{buf_.data(), buf_.size(), 0};
            zstd_left_ = ZSTD_decompressStream(dctx_, &zout, &zin);
            if (ZSTD_isError(zstd_left_)) throw corrupt(ZSTD_getErrorName(zstd_left_));
            emit(buf_.data(), zout.pos);
        }
    }

    const std::string& path_;
    Compression compression_;
    const std::function<void(const char*, std::size_t)>& out_;
    ReadResult& result_;
    std::vector<char> buf_;
    z_stream zs_{};
    bool gz_ready_ = false;
    ZSTD_DCtx* dctx_ = nullptr;
    bool stream_open_ = false;  // inside a gzip member
    std::size_t zstd_left_ = 0;
};

/// SHA-256 of what passes through.
class Sha256 {
  public:
    Sha256() : md_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(md_, EVP_sha256(), nullptr); }
    ~Sha256() { EVP_MD_CTX_free(md_); }
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const char* data, std::size_t n) { EVP_DigestUpdate(md_, data, n); }
    std::string hex() {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        EVP_DigestFinal_ex(md_, digest, &len);
        return hex_lower(digest, len);
    }

  private:
    EVP_MD_CTX* md_;
};

}  // namespace

ReadResult read_compressed_fd(int fd, const std::string& path, Compression compression,
                              const std::function<void(const char*, std::size_t)>& out,
                              const std::vector<crypto::Identity>* decrypt_with) {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    ReadResult result;
    Sha256 sha;
    Decompressor d(path, compression, out, result);
    std::unique_ptr<crypto::Decryptor> age;
    if (decrypt_with != nullptr) {
        // zlib and zstd only read their input: the const goes for their API.
        age = std::make_unique<crypto::Decryptor>(
            *decrypt_with, [&d](const char* p, std::size_t n) { d.feed(const_cast<char*>(p), n); },
            path);
    }
    std::vector<char> in(1 << 20);
    for (;;) {
        throw_if_interrupted();
        ssize_t n = ::read(fd, in.data(), in.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            throw Error(ExitCode::failure, "cannot read " + path + ": " + std::strerror(errno));
        if (n == 0) break;
        sha.update(in.data(), static_cast<std::size_t>(n));
        result.file_bytes += static_cast<std::uint64_t>(n);
        if (age) {
            age->feed(in.data(), static_cast<std::size_t>(n));
        } else {
            d.feed(in.data(), static_cast<std::size_t>(n));
        }
    }
    if (age) age->finish();
    d.finish();
    result.sha256 = sha.hex();
    return result;
}

namespace {

/// Chunks of content handed from the reading thread to the consuming one:
/// at most `depth` of them in flight, so memory stays bounded whatever the
/// file's size; a chunk is filled to `size` before it is handed over.
class ChunkQueue {
  public:
    ChunkQueue(std::size_t depth, std::size_t size) : size_(size) {
        for (std::size_t i = 0; i < depth; ++i)
            free_.emplace_back().reserve(size);
    }

    /// Producer: append `n` bytes; blocks while every chunk is in flight.
    /// False once the consumer has given up.
    bool write(const char* data, std::size_t n) {
        while (n > 0) {
            if (!filling_ && !take_free()) return false;
            const std::size_t take = std::min(n, size_ - filling_->size());
            filling_->insert(filling_->end(), data, data + take);
            data += take;
            n -= take;
            if (filling_->size() == size_) hand_over();
        }
        return true;
    }

    /// Producer: no more content (after an error too).
    void close() {
        if (filling_ && !filling_->empty()) hand_over();
        std::lock_guard<std::mutex> lock(mutex_);
        closed_ = true;
        changed_.notify_all();
    }

    /// Consumer: the next chunk, or false at the end.
    bool next(std::vector<char>& chunk) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return !full_.empty() || closed_; });
        if (full_.empty()) return false;
        chunk.swap(full_.front());
        full_.pop_front();
        return true;
    }

    /// Consumer: a chunk it has used, back to the producer.
    void give_back(std::vector<char>& chunk) {
        chunk.clear();
        std::lock_guard<std::mutex> lock(mutex_);
        free_.push_back(std::move(chunk));
        chunk = std::vector<char>();
        changed_.notify_all();
    }

    /// Consumer: stop; the producer's next write returns false.
    void cancel() {
        std::lock_guard<std::mutex> lock(mutex_);
        cancelled_ = true;
        changed_.notify_all();
    }

  private:
    bool take_free() {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return !free_.empty() || cancelled_; });
        if (cancelled_) return false;
        filling_ = std::move(free_.front());
        free_.pop_front();
        return true;
    }

    void hand_over() {
        std::lock_guard<std::mutex> lock(mutex_);
        full_.push_back(std::move(*filling_));
        filling_.reset();
        changed_.notify_all();
    }

    const std::size_t size_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::vector<char>> free_, full_;
    std::optional<std::vector<char>> filling_;  // the producer's own
    bool closed_ = false;
    bool cancelled_ = false;
};

/// Thrown in the reading thread when the consumer has stopped.
struct ConsumerStopped {};

}  // namespace

ReadResult read_compressed_fd_ahead(int fd, const std::string& path, Compression compression,
                                    const std::function<void(const char*, std::size_t)>& out,
                                    const std::vector<crypto::Identity>* decrypt_with) {
    ChunkQueue queue(4, 1 << 20);
    ReadResult result;
    std::exception_ptr failed;
    std::thread reader([&] {
        try {
            result = read_compressed_fd(
                fd, path, compression,
                [&](const char* d, std::size_t n) {
                    if (!queue.write(d, n)) throw ConsumerStopped{};
                },
                decrypt_with);
        } catch (const ConsumerStopped&) {
            // the consumer's own error is the one to report
        } catch (...) {
            failed = std::current_exception();
        }
        queue.close();
    });
    try {
        std::vector<char> chunk;
        while (queue.next(chunk)) {
            out(chunk.data(), chunk.size());
            queue.give_back(chunk);
        }
    } catch (...) {
        queue.cancel();
        reader.join();
        throw;
    }
    reader.join();
    if (failed) std::rethrow_exception(failed);
    return result;
}

std::string decompressed_head(const std::string& path, Compression compression, std::size_t max) {
    std::string out;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    std::vector<char> in(64 * 1024);
    std::vector<char> buf(64 * 1024);
    z_stream zs{};
    ZSTD_DCtx* dctx = nullptr;
    bool ok = true;
    if (compression == Compression::gzip) ok = inflateInit2(&zs, 16 + 15) == Z_OK;
    if (compression == Compression::zstd) ok = (dctx = ZSTD_createDCtx()) != nullptr;
    while (ok && out.size() < max) {
        const ssize_t n = ::read(fd, in.data(), in.size());
        if (n <= 0) break;
        const auto got = static_cast<std::size_t>(n);
        if (compression == Compression::none) {
            out.append(in.data(), got);
            continue;
        }
        if (compression == Compression::gzip) {
            zs.next_in = reinterpret_cast<Bytef*>(in.data());
            zs.avail_in = static_cast<uInt>(got);
            while (zs.avail_in > 0 && out.size() < max) {
                zs.next_out = reinterpret_cast<Bytef*>(buf.data());
                zs.avail_out = static_cast<uInt>(buf.size());
                const int r = inflate(&zs, Z_NO_FLUSH);
                out.append(buf.data(), buf.size() - zs.avail_out);
                if (r != Z_OK) {
                    ok = false;  // the end, or damage: what was read stays
                    break;
                }
            }
        } else {
            ZSTD_inBuffer zin{in.data(), got, 0};
            while (zin.pos < zin.size && out.size() < max) {
                ZSTD_outBuffer zout{buf.data(), buf.size(), 0};
                const std::size_t r = ZSTD_decompressStream(dctx, &zout, &zin);
                out.append(buf.data(), zout.pos);
                if (ZSTD_isError(r)) {
                    ok = false;
                    break;
                }
            }
        }
    }
    if (compression == Compression::gzip) inflateEnd(&zs);
    if (dctx != nullptr) ZSTD_freeDCtx(dctx);
    ::close(fd);
    if (out.size() > max) out.resize(max);
    return out;
}

}  // namespace ctldb::backup
