#include "storage/http.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"
#include "base/text.hpp"

namespace ctldb::storage {

namespace {

using Clock = std::chrono::steady_clock;

std::string openssl_error() {
    const unsigned long e = ::ERR_get_error();
    ::ERR_clear_error();
    if (e == 0) return errno != 0 ? std::strerror(errno) : "connection closed";
    char buf[256];
    ::ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

}  // namespace

std::string Endpoint::url() const {
    return std::string(tls ? "https://" : "http://") + host_header();
}

std::string Endpoint::host_header() const {
    const bool bracket = host.find(':') != std::string::npos;
    std::string h = bracket ? "[" + host + "]" : host;
    if (port != (tls ? 443 : 80)) h += ":" + std::to_string(port);
    return h;
}

Endpoint parse_endpoint(const std::string& url, const std::string& what) {
    Endpoint e;
    std::string rest;
    const std::string shown = printable(hide_url_credentials(url));  // never a password
    if (starts_with(url, "https://")) {
        rest = url.substr(8);
    } else if (starts_with(url, "http://")) {
        e.tls = false;
        e.port = 80;
        rest = url.substr(7);
    } else {
        throw usage_error(what + " must start with https:// or http://: " + shown);
    }
    while (!rest.empty() && rest.back() == '/')
        rest.pop_back();
    if (rest.substr(0, rest.find_first_of("/?#")).find('@') != std::string::npos) {
        throw usage_error(what + " holds user information (user:password@): " + shown,
                          "give the keys as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
                          "their _FILE variants), never in the endpoint");
    }
    if (rest.empty() || rest.find_first_of("/?#@ \t\r\n") != std::string::npos) {
        throw usage_error(what + " must be scheme://host[:port], without a path: " + shown);
    }
    std::string port;
    if (rest.front() == '[') {  // [v6]:port
        const auto close = rest.find(']');
        if (close == std::string::npos) throw usage_error(what + ": unclosed [ in " + shown);
        e.host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':') throw usage_error(what + ": bad port in " + shown);
            port = rest.substr(close + 2);
        }
    } else {
        const auto colon = rest.rfind(':');
        e.host = rest.substr(0, colon);
        if (colon != std::string::npos) port = rest.substr(colon + 1);
    }
    if (!port.empty()) {
        char* end = nullptr;
        const long p = std::strtol(port.c_str(), &end, 10);
        if (*end != '\0' || p < 1 || p > 65535) {
            throw usage_error(what + ": the port must be 1 to 65535: " + shown);
        }
        e.port = static_cast<int>(p);
    }
    if (e.host.empty()) throw usage_error(what + " names no host: " + shown);
    return e;
}

std::string HttpResponse::header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
}

struct HttpClient::Conn {
    int fd = -1;
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    std::string in;  // received, not yet consumed
    std::size_t pos = 0;
    int timeout_ms = 30000;
    bool ignore_signals = false;
    bool used = false;  // a response was read on it (keep-alive)

    ~Conn() {
        if (ssl != nullptr) ::SSL_free(ssl);
        if (ctx != nullptr) ::SSL_CTX_free(ctx);
        if (fd >= 0) ::close(fd);
    }

    /// Waits until `fd` is ready for `events`, at most timeout_ms, waking
    /// every 200 ms to notice a signal.
    void wait(short events, const char* doing) const {
        const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
        for (;;) {
            if (!ignore_signals) throw_if_interrupted();
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
                    .count();
            if (left <= 0) {
                throw TransportError("timed out after " + std::to_string(timeout_ms / 1000) +
                                     " s " + doing);
            }
            pollfd p{fd, events, 0};
            const int r = ::poll(&p, 1, static_cast<int>(std::min<long>(left, 200)));
            if (r > 0) return;
            if (r < 0 && errno != EINTR) throw TransportError(std::strerror(errno));
        }
    }

    /// After an SSL call returned `rc` <= 0: waits as it asks, or throws.
    void ssl_wait(int rc, const char* doing) {
        const int err = ::SSL_get_error(ssl, rc);
        if (err == SSL_ERROR_WANT_READ) return wait(POLLIN, doing);
        if (err == SSL_ERROR_WANT_WRITE) return wait(POLLOUT, doing);
        throw TransportError(std::string("TLS error ") + doing + ": " + openssl_error());
    }

    void write_all(const char* p, std::size_t n) {
        while (n > 0) {
            ssize_t w;
            if (ssl != nullptr) {
                ::ERR_clear_error();
                const int rc =
                    ::SSL_write(ssl, p, static_cast<int>(std::min<std::size_t>(n, 1 << 20)));
                if (rc <= 0) {
                    ssl_wait(rc, "sending");
                    continue;
                }
                w = rc;
            } else {
                w = ::send(fd, p, n, MSG_NOSIGNAL);
                if (w < 0) {
                    if (errno == EAGAIN || errno == EINTR) {
                        wait(POLLOUT, "sending");
                        continue;
                    }
                    throw TransportError(std::string("cannot send: ") + std::strerror(errno));
                }
            }
            p += w;
            n -= static_cast<std::size_t>(w);
        }
    }

    /// Appends what arrives to `in`; false at the end of the stream.
    bool fill() {
        char buf[64 * 1024];
        for (;;) {
            ssize_t r;
            if (ssl != nullptr) {
                ::ERR_clear_error();
                const int rc = ::SSL_read(ssl, buf, sizeof buf);
                if (rc <= 0) {
                    const int err = ::SSL_get_error(ssl, rc);
                    if (err == SSL_ERROR_ZERO_RETURN) return false;
                    if (err == SSL_ERROR_SYSCALL && ::ERR_peek_error() == 0) return false;
                    ssl_wait(rc, "receiving");
                    continue;
                }
                r = rc;
            } else {
                r = ::recv(fd, buf, sizeof buf, 0);
                if (r < 0) {
                    if (errno == EAGAIN || errno == EINTR) {
                        wait(POLLIN, "receiving");
                        continue;
                    }
                    throw TransportError(std::string("cannot receive: ") + std::strerror(errno));
                }
                if (r == 0) return false;
            }
            if (pos > 0 && pos == in.size()) {
                in.clear();
                pos = 0;
            }
            in.append(buf, static_cast<std::size_t>(r));
            return true;
        }
    }

    /// The next line (without CRLF); throws at the end of the stream.
    std::string line(std::size_t max) {
        for (;;) {
            const auto eol = in.find("\r\n", pos);
            if (eol != std::string::npos) {
                std::string l = in.substr(pos, eol - pos);
                pos = eol + 2;
                return l;
            }
            if (in.size() - pos > max) throw TransportError("a response line is too long");
            if (!fill()) throw TransportError("the connection closed mid-response");
        }
    }

    /// Hands exactly `n` body bytes to `out`.
    void body(std::uint64_t n, const std::function<void(const char*, std::size_t)>& out) {
        while (n > 0) {
            if (pos == in.size() && !fill()) {
                throw TransportError("the connection closed mid-body");
            }
            const std::size_t take =
                static_cast<std::size_t>(std::min<std::uint64_t>(n, in.size() - pos));
            out(in.data() + pos, take);
            pos += take;
            n -= take;
        }
    }
};

namespace {

/// Where OpenSSL looks for the system's CAs, when neither holds anything
/// ("" when either does): the file (SSL_CERT_FILE or the built-in path) is
/// missing or empty, and the directory (SSL_CERT_DIR or the built-in one)
/// is missing or has no entries.
std::string missing_system_cas() {
    auto chosen = [](const char* env, const char* built_in) {
        const char* v = std::getenv(env);
        return std::string(v != nullptr && *v != '\0' ? v : built_in);
    };
    const std::string file =
        chosen(::X509_get_default_cert_file_env(), ::X509_get_default_cert_file());
    const std::string dir =
        chosen(::X509_get_default_cert_dir_env(), ::X509_get_default_cert_dir());
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && st.st_size > 0) return "";
    // SSL_CERT_DIR may list several directories, as OpenSSL reads it.
    for (const auto& d : split(dir, ':')) {
        try {
            if (!fs::list_files(d, "").empty()) return "";
        } catch (const Error&) {
            // missing or unreadable: no CAs there
        }
    }
    return file + " and " + dir + " hold none";
}

}  // namespace

HttpClient::HttpClient(Endpoint endpoint, HttpOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {
    if (!options_.ca_file.empty()) {
        const std::string problem = fs::input_problem(options_.ca_file, fs::kMaxSmallFile * 16);
        if (!problem.empty()) {
            throw usage_error("cannot use the CA file " + options_.ca_file + ": " + problem);
        }
    }
}

HttpClient::~HttpClient() = default;

void HttpClient::disconnect() {
    conn_.reset();
}

void HttpClient::start_tls(Conn& conn) {
    Conn* c = &conn;
    c->ctx = ::SSL_CTX_new(::TLS_client_method());
    if (c->ctx == nullptr) throw failure("cannot set up TLS: " + openssl_error());
    ::SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    ::SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, nullptr);
    const int loaded = options_.ca_file.empty() ? ::SSL_CTX_set_default_verify_paths(c->ctx)
                                                : ::SSL_CTX_load_verify_locations(
                                                      c->ctx, options_.ca_file.c_str(), nullptr);
    if (loaded != 1) {
        throw usage_error("cannot load the CA certificates" +
                          (options_.ca_file.empty() ? "" : " of " + options_.ca_file) + ": " +
                          openssl_error());
    }
    c->ssl = ::SSL_new(c->ctx);
    ::SSL_set_fd(c->ssl, c->fd);
    if (is_ip_address(endpoint_.host)) {
        ::X509_VERIFY_PARAM_set1_ip_asc(::SSL_get0_param(c->ssl), endpoint_.host.c_str());
    } else {
        ::SSL_set_tlsext_host_name(c->ssl, endpoint_.host.c_str());
        ::SSL_set1_host(c->ssl, endpoint_.host.c_str());
    }
    for (;;) {
        ::ERR_clear_error();
        const int rc = ::SSL_connect(c->ssl);
        if (rc == 1) break;
        const long verify = ::SSL_get_verify_result(c->ssl);
        if (verify != X509_V_OK) {
            const std::string none =
                options_.ca_file.empty() ? missing_system_cas() : std::string();
            throw Error(ExitCode::connect,
                        "the certificate of " + endpoint_.url() +
                            " is not trusted: " + ::X509_verify_cert_error_string(verify),
                        none.empty() ? "give its CA with CTLDB_S3_CA_FILE"
                                     : "this system has no CA certificates (" + none +
                                           "; the stock postgres image has none): install the "
                                           "ca-certificates package, or give the CA bundle with "
                                           "CTLDB_S3_CA_FILE");
        }
        c->ssl_wait(rc, "in the TLS handshake");
    }
}

void HttpClient::connect() {
    auto c = std::make_unique<Conn>();
    c->timeout_ms = options_.timeout_ms;
    c->ignore_signals = options_.ignore_signals;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int gai =
        ::getaddrinfo(endpoint_.host.c_str(), std::to_string(endpoint_.port).c_str(), &hints, &res);
    if (gai != 0) {
        throw TransportError("cannot resolve " + endpoint_.host + ": " + ::gai_strerror(gai));
    }
    std::string last = "no address";
    for (addrinfo* a = res; a != nullptr && c->fd < 0; a = a->ai_next) {
        const int fd =
            ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        c->fd = fd;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
            last = std::strerror(errno);
            ::close(fd);
            c->fd = -1;
            continue;
        }
        try {
            c->wait(POLLOUT, "connecting");
        } catch (const TransportError& e) {
            last = e.what();
            ::close(fd);
            c->fd = -1;
            continue;
        }
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            last = std::strerror(err);
            ::close(fd);
            c->fd = -1;
        }
    }
    ::freeaddrinfo(res);
    if (c->fd < 0) throw TransportError("cannot connect to " + endpoint_.url() + ": " + last);
    const int one = 1;
    ::setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (endpoint_.tls) start_tls(*c);
    conn_ = std::move(c);
}

HttpResponse HttpClient::read_response(Conn& c, const HttpRequest& req,
                                       const std::function<void(const char*, std::size_t)>& on_body,
                                       std::size_t max_body, bool& got_status, bool& reusable) {
    HttpResponse resp;
    std::string status = c.line(8192);
    got_status = true;
    for (;;) {  // 1xx responses come before the real one
        if (status.size() < 12 || !starts_with(status, "HTTP/1.")) {
            throw TransportError("not an HTTP response: " + printable(status.substr(0, 40)));
        }
        resp.status = std::atoi(status.c_str() + 9);
        if (resp.status >= 200) break;
        while (!c.line(8192).empty()) {
        }
        status = c.line(8192);
    }
    std::size_t header_bytes = 0;
    for (std::string l; !(l = c.line(8192)).empty();) {
        header_bytes += l.size();
        if (header_bytes > 256 * 1024) throw TransportError("response headers too long");
        const auto colon = l.find(':');
        if (colon == std::string::npos) continue;
        resp.headers[ascii_lower(l.substr(0, colon))] = trim_blanks(l.substr(colon + 1));
    }
    const bool ok = resp.status / 100 == 2;
    auto deliver = [&](const char* p, std::size_t n) {
        if (ok && on_body) return on_body(p, n);
        if (resp.body.size() + n > max_body) {
            throw failure("the response of " + endpoint_.url() + " is larger than " +
                          std::to_string(max_body >> 20) + " MiB");
        }
        resp.body.append(p, n);
    };
    reusable = ascii_lower(resp.header("connection")) != "close";
    if (req.method == "HEAD" || resp.status == 204 || resp.status == 304) {
        // no body
    } else if (ascii_lower(resp.header("transfer-encoding")).find("chunked") != std::string::npos) {
        for (;;) {
            const std::string size_line = c.line(1024);
            char* end = nullptr;
            const unsigned long long n = std::strtoull(size_line.c_str(), &end, 16);
            if (end == size_line.c_str()) throw TransportError("a bad chunk size");
            if (n == 0) {
                while (!c.line(8192).empty()) {
                }
                break;
            }
            c.body(n, deliver);
            if (!c.line(16).empty()) throw TransportError("a chunk without its CRLF");
        }
    } else if (!resp.header("content-length").empty()) {
        c.body(std::strtoull(resp.header("content-length").c_str(), nullptr, 10), deliver);
    } else {
        reusable = false;  // the body ends with the connection
        for (;;) {
            if (c.pos < c.in.size()) {
                deliver(c.in.data() + c.pos, c.in.size() - c.pos);
                c.pos = c.in.size();
            }
            if (!c.fill()) break;
        }
    }
    return resp;
}

HttpResponse HttpClient::send(const HttpRequest& req,
                              const std::function<void(const char*, std::size_t)>& on_body,
                              std::size_t max_body) {
    for (int attempt = 0;; ++attempt) {
        const bool reused = conn_ != nullptr && conn_->used;
        if (conn_ == nullptr) connect();
        Conn& c = *conn_;
        bool got_status = false;
        try {
            std::string head = req.method + " " + req.target +
                               " HTTP/1.1\r\nHost: " + endpoint_.host_header() + "\r\n";
            for (const auto& [k, v] : req.headers) {
                if ((k + v).find_first_of("\r\n") != std::string::npos) {
                    throw failure("the HTTP header " + printable(k) +
                                  " holds a line break; the request was not sent");
                }
                head += k + ": " + v + "\r\n";
            }
            if (req.method == "PUT" || req.method == "POST" || req.body_size > 0) {
                head += "Content-Length: " + std::to_string(req.body_size) + "\r\n";
            }
            head += "\r\n";
            c.write_all(head.data(), head.size());
            if (req.body_size > 0) c.write_all(req.body, req.body_size);

            bool reusable = true;
            HttpResponse resp = read_response(c, req, on_body, max_body, got_status, reusable);
            c.used = true;
            if (!reusable) disconnect();
            return resp;
        } catch (const TransportError&) {
            disconnect();
            // A kept-alive connection the server closed while idle: once
            // more on a new one, as long as nothing of a response came.
            if (reused && !got_status && attempt == 0) continue;
            throw;
        } catch (...) {
            disconnect();
            throw;
        }
    }
}

}  // namespace ctldb::storage
