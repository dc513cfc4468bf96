#include "storage/transfer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <vector>

#include "base/error.hpp"
#include "base/log.hpp"
#include "base/signals.hpp"

namespace ctldb::storage {

namespace {

/// Parts grow with the upload so that S3's 10,000 parts reach far: 8 MiB
/// for the first 2,000 (16 GiB), then twice as large every 2,000.
std::size_t part_size_for(std::size_t base, std::size_t parts_done) {
    return base << std::min<std::size_t>(parts_done / 2000, 4);
}

}  // namespace

S3Settings for_cleanup(S3Settings s) {
    s.http.ignore_signals = true;
    s.http.timeout_ms = 5000;
    s.attempts = 2;
    return s;
}

struct ObjectUpload::Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::string pending;
    bool has_pending = false;
    bool stop = false;
    std::exception_ptr error;
    std::vector<std::string> etags;
};

ObjectUpload::ObjectUpload(const S3Settings& settings, std::string bucket, std::string key,
                           std::size_t part_size)
    : settings_(settings),
      bucket_(std::move(bucket)),
      key_(std::move(key)),
      part_size_(part_size),
      shared_(std::make_unique<Shared>()) {
    // Started even while a signal arrives (a request answered but not read
    // would leave an upload nobody knows of), then given up at once.
    S3Settings quiet = settings_;
    quiet.http.ignore_signals = true;
    upload_id_ = S3Client(quiet, bucket_).create_multipart(key_);
    if (interrupted()) {
        abort();
        throw interruption_error();
    }
    filling_.reserve(part_size_);
    sender_ = std::thread([this] {
        S3Client sender(settings_, bucket_);
        Shared& s = *shared_;
        for (;;) {
            std::unique_lock<std::mutex> lk(s.mu);
            s.cv.wait(lk, [&] { return s.has_pending || s.stop; });
            if (!s.has_pending) return;
            const std::string part = std::move(s.pending);
            const int number = static_cast<int>(s.etags.size()) + 1;
            lk.unlock();
            try {
                std::string etag =
                    sender.upload_part(key_, upload_id_, number, part.data(), part.size());
                lk.lock();
                s.etags.push_back(std::move(etag));
            } catch (...) {
                lk.lock();
                s.error = std::current_exception();
                s.has_pending = false;
                s.cv.notify_all();
                return;
            }
            s.has_pending = false;
            s.cv.notify_all();
        }
    });
}

ObjectUpload::~ObjectUpload() {
    if (!finished_) abort();
}

void ObjectUpload::wait_until_sent(std::unique_lock<std::mutex>& lk) {
    Shared& s = *shared_;
    while (s.has_pending && !s.error)
        s.cv.wait_for(lk, std::chrono::milliseconds(200));
}

void ObjectUpload::hand_over() {
    Shared& s = *shared_;
    std::unique_lock<std::mutex> lk(s.mu);
    wait_until_sent(lk);
    if (s.error) std::rethrow_exception(s.error);
    s.pending = std::move(filling_);
    s.has_pending = true;
    s.cv.notify_all();
    lk.unlock();
    ++parts_handed_;
    filling_ = std::string();
    filling_.reserve(part_size_for(part_size_, parts_handed_));
}

void ObjectUpload::write(const char* data, std::size_t size) {
    while (size > 0) {
        const std::size_t target = part_size_for(part_size_, parts_handed_);
        const std::size_t room = target > filling_.size() ? target - filling_.size() : 0;
        const std::size_t take = std::min(room, size);
        filling_.append(data, take);
        data += take;
        size -= take;
        bytes_ += take;
        if (filling_.size() >= target) hand_over();
    }
}

std::uint64_t ObjectUpload::send_rest() {
    if (!filling_.empty() || parts_handed_ == 0) hand_over();
    Shared& s = *shared_;
    {
        std::unique_lock<std::mutex> lk(s.mu);
        wait_until_sent(lk);
        s.stop = true;
        s.cv.notify_all();
    }
    sender_.join();
    if (s.error) std::rethrow_exception(s.error);
    throw_if_interrupted();
    return bytes_;
}

void ObjectUpload::complete() {
    S3Client client(settings_, bucket_);
    client.complete_multipart(key_, upload_id_, shared_->etags);
    finished_ = true;  // from here on the object exists: no abort
    // The completed object, as S3 now holds it (radosgw's answer to the
    // completion carries no ETag; its HEAD does).
    const auto info = client.head(key_);
    if (!info || info->size != bytes_) {
        throw failure("s3://" + bucket_ + "/" + key_ + " is " +
                      (info ? std::to_string(info->size) + " bytes" : std::string("missing")) +
                      " after its upload of " + std::to_string(bytes_) + " bytes");
    }
}

void ObjectUpload::abort() noexcept {
    if (finished_) return;
    finished_ = true;
    {
        std::lock_guard<std::mutex> lk(shared_->mu);
        shared_->stop = true;
        shared_->has_pending = false;
        shared_->cv.notify_all();
    }
    if (sender_.joinable()) sender_.join();
    if (upload_id_.empty()) return;
    try {
        S3Client client(for_cleanup(settings_), bucket_);
        client.abort_multipart(key_, upload_id_);
        log::detail("aborted the upload of s3://" + bucket_ + "/" + key_);
    } catch (const std::exception& e) {
        log::warn("could not abort the upload of s3://" + bucket_ + "/" + key_ + " (" + e.what() +
                  "); the next backup or prune aborts it");
    }
}

// --- download -----------------------------------------------------------------

namespace {
struct ReaderGone {};
}  // namespace

ObjectDownload::ObjectDownload(const S3Settings& settings, std::string bucket, std::string key,
                               std::uint64_t size, std::string etag)
    : settings_(settings),
      bucket_(std::move(bucket)),
      key_(std::move(key)),
      etag_(std::move(etag)),
      size_(size) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw failure(std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    read_fd_ = fds[0];
    write_fd_ = fds[1];
    ::fcntl(write_fd_, F_SETPIPE_SZ, 1 << 20);  // fewer wake-ups; best effort
    reader_ = std::thread([this] { run(); });
}

ObjectDownload::~ObjectDownload() {
    if (read_fd_ >= 0) ::close(read_fd_);  // a writer blocked on a full pipe gets EPIPE
    if (reader_.joinable()) reader_.join();
    if (write_fd_ >= 0) ::close(write_fd_);
}

void ObjectDownload::run() {
    S3Client client(settings_, bucket_);
    std::uint64_t at = 0;
    int failures = 0;
    int wait_ms = settings_.backoff_ms;
    const auto to_pipe = [&](const char* p, std::size_t n) {
        while (n > 0) {
            const ssize_t w = ::write(write_fd_, p, n);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) throw ReaderGone{};
            p += w;
            n -= static_cast<std::size_t>(w);
            at += static_cast<std::uint64_t>(w);
        }
    };
    try {
        while (at < size_) {
            const std::uint64_t before = at;
            try {
                if (client.get_range(key_, at, 0, to_pipe, etag_) == 0 && at == before) {
                    throw failure("s3://" + bucket_ + "/" + key_ + " ended at byte " +
                                  std::to_string(at) + " of " + std::to_string(size_));
                }
            } catch (const TransportError& e) {
                if (at > before) failures = 0, wait_ms = settings_.backoff_ms;
                if (++failures >= settings_.attempts) {
                    throw Error(ExitCode::connect, "reading s3://" + bucket_ + "/" + key_ +
                                                       " failed at byte " + std::to_string(at) +
                                                       " after " + std::to_string(failures) +
                                                       " attempts: " + e.what());
                }
                log::detail("reading s3://" + bucket_ + "/" + key_ + ": " + e.what() +
                            "; resuming at byte " + std::to_string(at));
                wait_before_retry(wait_ms, false);
            }
        }
    } catch (const ReaderGone&) {
        // The reader stopped early (it failed, or read what it needed).
    } catch (...) {
        error_ = std::current_exception();
    }
    ::close(write_fd_);
    write_fd_ = -1;
}

void ObjectDownload::rethrow_error() {
    // Reading is over: closing our end first means the thread cannot be
    // waiting on a full pipe while it is joined.
    if (read_fd_ >= 0) ::close(read_fd_);
    read_fd_ = -1;
    if (reader_.joinable()) reader_.join();
    if (error_) std::rethrow_exception(error_);
}

}  // namespace ctldb::storage
