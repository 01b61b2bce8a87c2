// http/parser.h — the request parser: Beast's HTTP/1 parser writing straight into a reusable
// plinth::http::Request (no per-field allocations once the Request's buffers have grown).
//
// Limits: the header (request line + fields) is limited by Beast's header_limit
// (error::header_limit → 431); the body by max_body, checked against Content-Length before any
// body byte is read and against the running total of a chunked body (error::body_limit → 413).
// Other errors are malformed requests (400). A second Host field is an error (RFC 9112 §3.2).
//
// Thread-safety: one parser per request, used by one coroutine.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <cstddef>
#include <string_view>

#include "http/internal.h"

namespace plinth::http {

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  // `req` must have been Reset; it is written as the bytes are parsed.
  RequestParser(Request& req, size_t max_header_bytes, size_t max_body_bytes);

  // Indexes (Request::header_at) of fields the server looks at; -1 when absent.
  int host = -1;
  int request_id = -1;
  int user_agent = -1;
  int origin = -1;
  int expect = -1;
  int cors_request_method = -1;  // Access-Control-Request-Method
  // Why the parse failed beyond Beast's own errors ("multiple Host fields").
  std::string_view error_detail;

 private:
  void on_request_impl(boost::beast::http::verb method, boost::beast::string_view method_str,
                       boost::beast::string_view target, int version,
                       boost::beast::error_code& ec) override;
  void on_response_impl(int, boost::beast::string_view, int,
                        boost::beast::error_code&) override {}
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const& content_length,
                         boost::beast::error_code& ec) override;
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, boost::beast::string_view extensions,
                            boost::beast::error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, boost::beast::string_view body,
                                 boost::beast::error_code& ec) override;
  void on_finish_impl(boost::beast::error_code&) override {}

  Request& req_;
  size_t max_body_;
  int fields_ = 0;
};

// The HTTP status for a parse error: 431 (header too large), 413 (body too large), 505 (a
// version other than HTTP/1.0 and 1.1), else 400.
int StatusForParseError(const boost::beast::error_code& ec);

}  // namespace plinth::http
