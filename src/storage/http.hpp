// A small HTTP/1.1 client for object storage: one keep-alive connection,
// plain TCP or TLS (OpenSSL, the peer verified against the system's CAs or
// a given CA file, its name checked), bodies sent from memory and received
// into memory or handed on piece by piece. Every wait is bounded and gives
// way to SIGINT/SIGTERM. Nothing here knows about S3.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ctldb::storage {

/// scheme://host[:port] of a service.
struct Endpoint {
    bool tls = true;
    std::string host;
    int port = 443;
    /// "https://host" (the port only when not the scheme's own).
    std::string url() const;
    /// Host header value: host, and :port when not the scheme's own.
    std::string host_header() const;
};

/// Parses "https://host[:port]" or "http://..." (a trailing "/" allowed,
/// no path). Throws Error(usage) naming `what` otherwise.
Endpoint parse_endpoint(const std::string& url, const std::string& what);

struct HttpRequest {
    std::string method;  ///< GET, PUT, POST, HEAD, DELETE
    std::string target;  ///< "/path?query", already encoded
    std::vector<std::pair<std::string, std::string>> headers;
    const char* body = nullptr;
    std::size_t body_size = 0;
};

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  ///< names in lower case
    std::string body;                            ///< unless handed on
    std::string header(const std::string& lower_name) const;
};

/// Why a request did not get a response: the connection failed, timed
/// out or broke. Worth retrying; `what()` says which.
class TransportError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct HttpOptions {
    std::string ca_file;  ///< empty: the system's CAs
    int timeout_ms = 30000;
    /// Cleanup after a signal (aborting an upload) must still be sent:
    /// waits then do not stop for SIGINT/SIGTERM.
    bool ignore_signals = false;
};

class HttpClient {
  public:
    HttpClient(Endpoint endpoint, HttpOptions options);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    /// Sends `req` and reads the response. A 2xx body goes to `on_body` when
    /// given (in pieces; the response's body stays empty), else into the
    /// response (at most `max_body` bytes). Throws TransportError when no
    /// complete response came, Error(interrupted) on a signal.
    HttpResponse send(const HttpRequest& req,
                      const std::function<void(const char*, std::size_t)>& on_body = nullptr,
                      std::size_t max_body = 64u << 20);
    /// Drops the connection (the next request opens a new one).
    void disconnect();
    const Endpoint& endpoint() const { return endpoint_; }

  private:
    struct Conn;
    void connect();
    void start_tls(Conn& c);
    HttpResponse read_response(Conn& c, const HttpRequest& req,
                               const std::function<void(const char*, std::size_t)>& on_body,
                               std::size_t max_body, bool& got_status, bool& reusable);
    Endpoint endpoint_;
    HttpOptions options_;
    std::unique_ptr<Conn> conn_;
};

}  // namespace ctldb::storage
