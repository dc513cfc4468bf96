#include "metrics/http_server.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/signals.hpp"

namespace ctldb::metrics::http {

std::string Listen::text() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Listen parse_listen(const std::string& text) {
    const auto bad = [&] {
        return usage_error("--listen " + text + " is not an address and port",
                           "127.0.0.1:9187, 0.0.0.0:9187 (every interface) or [::1]:9187");
    };
    Listen l;
    std::string port;
    if (!text.empty() && text[0] == '[') {
        const auto close = text.find("]:");
        if (close == std::string::npos) throw bad();
        l.host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon) throw bad();
        l.host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (l.host.empty() || port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos)
        throw bad();
    l.port = std::stoi(port);
    if (l.port > 65535) throw bad();
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo* res = nullptr;
    if (::getaddrinfo(l.host.c_str(), nullptr, &hints, &res) != 0) throw bad();
    ::freeaddrinfo(res);
    return l;
}

bool parse_request_line(const std::string& head, std::string& method, std::string& path) {
    std::string line = head.substr(0, head.find('\n'));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto sp1 = line.find(' ');
    if (sp1 == std::string::npos || sp1 == 0) return false;
    const auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string::npos || sp2 == sp1 + 1) return false;
    if (line.compare(sp2 + 1, 7, "HTTP/1.") != 0 || line.size() != sp2 + 9) return false;
    method = line.substr(0, sp1);
    path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto query = path.find('?');
    if (query != std::string::npos) path.erase(query);
    return true;
}

namespace {

const char* reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 431:
            return "Request Header Fields Too Large";
        case 503:
            return "Service Unavailable";
        default:
            return "Error";
    }
}

void write_all(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the client went away or timed out: nothing to tell
        done += static_cast<std::size_t>(n);
    }
}

void respond(int fd, const Response& r, bool head_only) {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) +
                      "\r\nContent-Type: " + r.content_type +
                      "\r\nContent-Length: " + std::to_string(r.body.size()) +
                      "\r\nConnection: close\r\n\r\n";
    if (!head_only) out += r.body;
    write_all(fd, out);
}

/// The end of a request head: a blank line, CRLF or bare LF.
bool head_complete(const std::string& head) {
    return head.find("\r\n\r\n") != std::string::npos || head.find("\n\n") != std::string::npos ||
           head.find("\n\r\n") != std::string::npos;
}

/// What a complete head asks for: the response right away (a bad request,
/// a method other than GET), or nothing with method and path set.
std::optional<Response> route(const std::string& head, std::string& method, std::string& path) {
    if (!parse_request_line(head, method, path))
        return Response{400, "text/plain; charset=utf-8", "bad request\n"};
    if (method != "GET" && method != "HEAD")
        return Response{405, "text/plain; charset=utf-8", "only GET\n"};
    return std::nullopt;
}

Response call(const Handler& handler, const std::string& method, const std::string& path) {
    try {
        return handler(method, path);
    } catch (const std::exception& e) {
        return {503, "text/plain; charset=utf-8", std::string("error: ") + e.what() + "\n"};
    }
}

void set_timeouts(int fd, int ms) {
    timeval tv{};
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

fs::UniqueFd bind_listen(const Listen& where, int& port) {
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(where.port);
    if (::getaddrinfo(where.host.c_str(), service.c_str(), &hints, &res) != 0)
        throw usage_error("--listen " + where.text() + " is not an address");
    fs::UniqueFd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    if (fd.get() >= 0) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const bool ok = fd.get() >= 0 && ::bind(fd.get(), res->ai_addr, res->ai_addrlen) == 0 &&
                    ::listen(fd.get(), 128) == 0;
    const int saved = errno;
    ::freeaddrinfo(res);
    if (!ok) {
        throw failure("cannot listen on " + where.text() + ": " + std::strerror(saved),
                      saved == EADDRINUSE ? "another process uses that port: choose another "
                                            "with --listen"
                                          : "");
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    return fd;
}

}  // namespace

namespace {

using Clock = std::chrono::steady_clock;

/// Shared with the request threads, which may outlive serve().
struct Shared {
    Handler handler;
    std::atomic<int> active{0};
};

/// A connection whose request head is still arriving: read by the one
/// loop, with a deadline for the whole head, so slow or idle clients hold
/// neither a thread nor a request slot.
struct Pending {
    int fd;
    std::string head;
    Clock::time_point deadline;
};

void quick_reply(int fd, const Response& r, bool head_only) {
    respond(fd, r, head_only);  // small: fits the socket's buffer
    ::close(fd);
}

/// A complete head: answered at once (an error, an inline path, no free
/// slot), or handed to a thread of its own.
void dispatch(Pending& c, const std::shared_ptr<Shared>& shared, const ServerOptions& o) {
    std::string method, path;
    if (auto r = route(c.head, method, path)) {
        quick_reply(c.fd, *r, false);
        return;
    }
    if (o.inline_paths.count(path) > 0) {
        // Cheap answers (/healthz) never wait for a request slot.
        quick_reply(c.fd, call(shared->handler, method, path), method == "HEAD");
        return;
    }
    if (shared->active.load() >= o.max_connections) {
        quick_reply(c.fd, {503, "text/plain; charset=utf-8", "too many concurrent requests\n"},
                    false);
        return;
    }
    ++shared->active;
    const int fd = c.fd;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    set_timeouts(fd, o.io_timeout_ms);
    std::thread([fd, shared, method, path] {
        respond(fd, call(shared->handler, method, path), method == "HEAD");
        ::shutdown(fd, SHUT_RDWR);
        ::close(fd);
        --shared->active;
    }).detach();
}

/// Read what `c` sent (when poll said so); true when `c` is still waiting
/// for the rest of its head, false when it was answered or closed.
bool read_head(Pending& c, short revents, Clock::time_point now,
               const std::shared_ptr<Shared>& shared, const ServerOptions& o) {
    bool done = false;
    if (revents != 0) {
        char buf[2048];
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
            ::close(c.fd);
            return false;
        }
        if (n > 0) c.head.append(buf, static_cast<std::size_t>(n));
        if (head_complete(c.head)) {
            done = true;
        } else if (c.head.size() > o.max_head_bytes) {
            quick_reply(c.fd, {431, "text/plain; charset=utf-8", "request head too large\n"},
                        false);
            return false;
        }
    }
    if (done) {
        dispatch(c, shared, o);
        return false;
    }
    if (now >= c.deadline) {
        quick_reply(c.fd, {408, "text/plain; charset=utf-8", "request timeout\n"}, false);
        return false;
    }
    return true;
}

/// Every connection waiting on the listener, up to max_pending.
void accept_all(int listener, std::vector<Pending>& pending, const ServerOptions& o) {
    for (;;) {
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) break;
        if (pending.size() >= static_cast<std::size_t>(o.max_pending)) {
            quick_reply(fd, {503, "text/plain; charset=utf-8", "too many connections\n"}, false);
            continue;
        }
        pending.push_back({fd, {}, Clock::now() + std::chrono::milliseconds(o.head_timeout_ms)});
    }
}

}  // namespace

void serve(const Listen& where, const Handler& handler, const ServerOptions& o) {
    int port = 0;
    fs::UniqueFd listener = bind_listen(where, port);
    ::fcntl(listener.get(), F_SETFL, ::fcntl(listener.get(), F_GETFL) | O_NONBLOCK);
    if (o.on_listening) o.on_listening(port);
    auto shared = std::make_shared<Shared>();
    shared->handler = handler;
    std::vector<Pending> pending;
    std::vector<pollfd> fds;
    while (!interrupted()) {
        fds.assign(1, pollfd{listener.get(), POLLIN, 0});
        for (const auto& c : pending)
            fds.push_back(pollfd{c.fd, POLLIN, 0});
        ::poll(fds.data(), fds.size(), 100);
        const auto now = Clock::now();
        std::vector<Pending> still;
        still.reserve(pending.size());
        for (std::size_t i = 0; i < pending.size(); ++i) {
            if (read_head(pending[i], fds[i + 1].revents, now, shared, o))
                still.push_back(std::move(pending[i]));
        }
        pending.swap(still);
        if (fds[0].revents != 0) accept_all(listener.get(), pending, o);
    }
    for (const auto& c : pending)
        ::close(c.fd);
    listener.reset();
    // Let the requests in flight finish (they are bounded by io_timeout_ms
    // and the handler's own timeout).
    for (int i = 0; i < o.io_timeout_ms / 50 && shared->active.load() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    throw_if_interrupted();
}

}  // namespace ctldb::metrics::http
