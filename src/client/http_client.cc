#include "client/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "core/check.h"
#include "core/error_codes.h"

namespace pando::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Whether `text` may go into a request line or a header as it is: no control characters
// (so no CR or LF that would end the line early and smuggle a header or a request in).
bool Printable(std::string_view text, bool spaces_allowed) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || (c == ' ' && !spaces_allowed)) return false;
  }
  return true;
}

Status CheckRequest(const HttpRequest& r) {
  auto bad = [](const std::string& what) { return Error{codes::kBadArgument, what}; };
  if (r.method.empty() || !Printable(r.method, false)) {
    return bad("'" + r.method + "' is not an HTTP method.");
  }
  if (r.target.empty() || !Printable(r.target, false)) {
    return bad("'" + r.target +
               "' is not an HTTP request target (no spaces or control "
               "characters; escape them).");
  }
  for (const HttpHeader& h : r.headers) {
    if (h.name.empty() || !Printable(h.name, false) || h.name.find(':') != std::string::npos ||
        !Printable(h.value, true)) {
      return bad("The HTTP header '" + h.name + "' cannot be sent as it is.");
    }
  }
  return {};
}

// The error of a step that failed with `ec`; `step` says what was being done, as in
// "connecting", for the message.
Error Failed(const Endpoint& server, const HttpOptions& options, std::string_view step,
             const beast::error_code& ec) {
  const std::string who = server.ToString();
  if (ec == beast::error::timeout) {
    return Error{codes::kTimeout, who + " did not answer within " +
                                      std::to_string(options.timeout.count()) + " ms (" +
                                      std::string(step) + ")."};
  }
  if (ec == http::error::body_limit) {
    return Error{codes::kOversize, who + " answered with a body of more than " +
                                       std::to_string(options.body_bytes_max) + " bytes."};
  }
  if (ec == http::error::header_limit) {
    return Error{codes::kOversize, who + " answered with headers of more than " +
                                       std::to_string(options.header_bytes_max) + " bytes."};
  }
  if (step == "connecting") {
    return Error{codes::kUnreachable, "Cannot connect to " + who + ": " + ec.message() + "."};
  }
  return Error{codes::kClosed,
               who + " failed while " + std::string(step) + ": " + ec.message() + "."};
}

http::request<http::string_body> BeastRequest(const Endpoint& server, const HttpRequest& r) {
  http::request<http::string_body> req;
  req.method_string(r.method);
  req.target(r.target);
  req.version(11);
  bool host_given = false;
  for (const HttpHeader& h : r.headers) {
    req.insert(h.name, h.value);
    host_given = host_given || beast::iequals(h.name, "host");
  }
  if (!host_given) req.set(http::field::host, server.ToString());
  req.body() = r.body;
  req.prepare_payload();
  return req;
}

}  // namespace

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const HttpHeader& h : headers) {
    if (beast::iequals(h.name, beast::string_view(name.data(), name.size()))) return h.value;
  }
  return {};
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) const {
  if (Status s = CheckRequest(request); !s.ok()) return s.error();
  const Clock::time_point deadline = Clock::now() + options_.timeout;
  asio::io_context io;
  beast::error_code ec;
  tcp::resolver resolver(io);
  const auto addresses = resolver.resolve(server_.host, std::to_string(server_.port), ec);
  if (ec) {
    return Error{codes::kUnreachable, "Cannot resolve " + server_.host + ": " + ec.message() + "."};
  }
  if (Clock::now() >= deadline)
    return Failed(server_, options_, "resolving", beast::error::timeout);

  http::request<http::string_body> req = BeastRequest(server_, request);
  http::response_parser<http::string_body> parser;
  parser.header_limit(options_.header_bytes_max);
  parser.body_limit(options_.body_bytes_max);
  if (req.method() == http::verb::head) parser.skip(true);  // A HEAD answer has no body.
  beast::flat_buffer buffer;
  beast::tcp_stream stream(io);

  // Connect, write, read: each step's handler starts the next, and the stream's one deadline
  // bounds them together (Beast's timeouts apply to asynchronous operations only, so the
  // exchange is asynchronous and io.run() waits for it).
  std::optional<Error> failure, write_failure;
  bool answered = false;
  auto on_read = [&](beast::error_code read_ec, size_t) {
    if (!read_ec) {
      answered = true;
      return;
    }
    failure = write_failure ? *write_failure : Failed(server_, options_, "reading", read_ec);
  };
  // The header first, to refuse a Content-Length over the limit before reading the body:
  // Beast 1.74 refuses it only when the header arrives alone, and reads a body that came in
  // the same packets whole.
  auto on_header = [&](beast::error_code read_ec, size_t) {
    if (read_ec) {
      on_read(read_ec, 0);
    } else if (parser.content_length() && *parser.content_length() > options_.body_bytes_max) {
      failure = Failed(server_, options_, "reading", http::error::body_limit);
    } else if (parser.is_done()) {
      answered = true;
    } else {
      http::async_read(stream, buffer, parser, on_read);
    }
  };
  auto on_write = [&](beast::error_code write_ec, size_t) {
    if (write_ec) {
      write_failure = Failed(server_, options_, "sending", write_ec);
      if (write_ec == beast::error::timeout) {
        failure = write_failure;
        return;
      }
      // A server may answer before it has read the whole request (413 for a body too large)
      // and then close, which fails the write: its answer is still worth reading.
    }
    http::async_read_header(stream, buffer, parser, on_header);
  };
  stream.expires_at(deadline);
  stream.async_connect(addresses, [&](beast::error_code connect_ec, const tcp::endpoint&) {
    if (connect_ec) {
      failure = Failed(server_, options_, "connecting", connect_ec);
      return;
    }
    http::async_write(stream, req, on_write);
  });
  io.run();
  if (failure) return *failure;
  CHECK(answered);
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);

  HttpResponse out;
  out.status = parser.get().result_int();
  for (const auto& field : parser.get()) {
    out.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  out.body = std::move(parser.get().body());
  return out;
}

}  // namespace pando::client
