// Streaming an object in and out of S3 with bounded memory: an upload in
// multipart parts sent by a thread of its own while the next part fills,
// and a download read with ranged GETs that resume where a broken transfer
// stopped, handed on through a pipe so that readers of files read it.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "storage/s3.hpp"

namespace ctldb::storage {

/// `s` for cleaning up after a failure or a signal (aborting an upload,
/// deleting an object): short timeouts, two attempts, and sent even while
/// the process is being stopped.
S3Settings for_cleanup(S3Settings s);

/// One object written as a multipart upload. At most two parts are in
/// memory (one filling, one being sent). Nothing is visible under `key`
/// before complete(); destroyed unfinished (an error, a signal), the
/// upload is aborted.
class ObjectUpload {
  public:
    ObjectUpload(const S3Settings& settings, std::string bucket, std::string key,
                 std::size_t part_size = 8u << 20);
    ~ObjectUpload();
    ObjectUpload(const ObjectUpload&) = delete;
    ObjectUpload& operator=(const ObjectUpload&) = delete;

    void write(const char* data, std::size_t size);
    /// Sends the last part and waits until every part is confirmed; the
    /// object's size. Nothing is visible yet.
    std::uint64_t send_rest();
    /// Completes the upload: the object appears under its key, whole.
    /// Throws when S3 then holds another size.
    void complete();
    /// Aborts the upload (also on destruction when not finished).
    void abort() noexcept;
    const std::string& upload_id() const { return upload_id_; }

  private:
    struct Shared;
    /// Waits (holding `lk`, of Shared's mutex) until the part handed over
    /// last is sent or the sender failed.
    void wait_until_sent(std::unique_lock<std::mutex>& lk);
    void hand_over();
    S3Settings settings_;
    std::string bucket_, key_, upload_id_;
    std::size_t part_size_;
    std::string filling_;
    std::uint64_t bytes_ = 0;
    std::size_t parts_handed_ = 0;  ///< to the sender (this thread's count)
    std::unique_ptr<Shared> shared_;
    std::thread sender_;
    bool finished_ = false;
};

/// An object read once from its start, by a thread that writes it into a
/// pipe: fd() is the pipe's reading end. Each GET asks for the rest of the
/// object from where the previous one broke off, with the object's ETag
/// (If-Match), so a replaced object is an error, never a mixture.
class ObjectDownload {
  public:
    ObjectDownload(const S3Settings& settings, std::string bucket, std::string key,
                   std::uint64_t size, std::string etag);
    ~ObjectDownload();
    ObjectDownload(const ObjectDownload&) = delete;
    ObjectDownload& operator=(const ObjectDownload&) = delete;
    int fd() const { return read_fd_; }
    /// After reading (to the end, or failing to): closes fd() and throws
    /// the download's own error, if it had one (it explains a short read).
    void rethrow_error();

  private:
    void run();
    S3Settings settings_;
    std::string bucket_, key_, etag_;
    std::uint64_t size_;
    int read_fd_ = -1, write_fd_ = -1;
    std::exception_ptr error_;
    std::thread reader_;
};

}  // namespace ctldb::storage
