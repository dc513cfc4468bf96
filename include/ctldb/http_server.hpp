// A small HTTP/1.1 server for metrics serve: GET requests, one response per
// connection (Connection: close), a thread per connection up to a limit
// (beyond it: 503 at once), every read and write bounded by a timeout, a
// request head of at most 8 KiB. Why not a library: docs/dependencies.md.
#pragma once

#include <functional>
#include <string>

namespace ctldb::http {

struct Response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

/// Called for each request, from the connection's thread: must be safe to
/// call concurrently.
using Handler = std::function<Response(const std::string& method, const std::string& path)>;

/// "127.0.0.1:9187", "[::1]:9187", "0.0.0.0:9187" (port 0: any free one).
struct Listen {
    std::string host;
    int port = 0;
    std::string text() const;
};
/// Throws a usage error naming --listen on anything else.
Listen parse_listen(const std::string& text);

struct ServerOptions {
    int max_connections = 64;
    int io_timeout_ms = 10000;
    /// Called once listening, with the port (the one chosen for port 0).
    std::function<void(int port)> on_listening;
};

/// Serve until SIGINT/SIGTERM (then Error(interrupted), after the open
/// requests are answered, at most io_timeout_ms). Throws Error(failure)
/// when the address cannot be bound.
void serve(const Listen& where, const Handler& handler, const ServerOptions& o = {});

/// The request line's method and path of a request head; false when it is
/// not "METHOD SP PATH SP HTTP/1.x". Pure.
bool parse_request_line(const std::string& head, std::string& method, std::string& path);

}  // namespace ctldb::http
