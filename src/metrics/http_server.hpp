// A small HTTP/1.1 server for metrics serve: GET requests, one response per
// connection (Connection: close). One loop reads every connection's request
// head without blocking (at most 8 KiB, all of it within 5 s, CRLF or bare
// LF; connections beyond a limit refused at once), answers the cheap paths
// itself, and hands each other request to a thread of its own, up to a
// limit (beyond it: 503 at once). Why not a library: docs/dependencies.md.
#pragma once

#include <cstddef>
#include <functional>
#include <set>
#include <string>

namespace ctldb::metrics::http {

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
    /// Requests being answered at once (each a thread); beyond it: 503.
    int max_connections = 64;
    /// Connections whose request head is still arriving, read by one loop
    /// without a thread each; beyond it a new connection gets 503 at once.
    int max_pending = 512;
    /// The whole request head must arrive within this (else 408).
    int head_timeout_ms = 5000;
    std::size_t max_head_bytes = 8192;
    /// Paths answered by the loop itself, without a request slot: the
    /// handler must answer them at once (/healthz).
    std::set<std::string> inline_paths;
    /// Writing a response.
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

}  // namespace ctldb::metrics::http
