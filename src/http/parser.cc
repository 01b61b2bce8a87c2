// The request parser (http/parser.h).
#include "http/parser.h"

#include <algorithm>

namespace plinth::http {

namespace bhttp = boost::beast::http;

RequestParser::RequestParser(Request& req, size_t max_header_bytes, size_t max_body_bytes)
    : req_(req), max_body_(max_body_bytes) {
  header_limit(static_cast<std::uint32_t>(max_header_bytes));
  body_limit(boost::none);  // enforced here, to give 413 with the request known
  eager(true);
}

void RequestParser::on_request_impl(bhttp::verb method, boost::beast::string_view method_str,
                                    boost::beast::string_view target, int version,
                                    boost::beast::error_code& ec) {
  detail::RequestAccess::SetStartLine(req_, method, std::string_view(method_str.data(), method_str.size()),
                                      std::string_view(target.data(), target.size()), version);
}

void RequestParser::on_field_impl(bhttp::field name, boost::beast::string_view name_string,
                                  boost::beast::string_view value, boost::beast::error_code& ec) {
  std::string_view n(name_string.data(), name_string.size());
  std::string_view v(value.data(), value.size());
  int index = fields_++;
  detail::RequestAccess::AddHeader(req_, n, v);
  switch (name) {
    case bhttp::field::host:
      if (host >= 0) {
        error_detail = "multiple Host header fields";
        ec = bhttp::error::bad_field;
        return;
      }
      host = index;
      break;
    case bhttp::field::user_agent:
      if (user_agent < 0) user_agent = index;
      break;
    case bhttp::field::origin:
      if (origin < 0) origin = index;
      break;
    case bhttp::field::expect:
      if (expect < 0) expect = index;
      break;
    case bhttp::field::access_control_request_method:
      if (cors_request_method < 0) cors_request_method = index;
      break;
    default:
      if (request_id < 0 && EqualsIgnoreCase(n, "X-Request-Id")) request_id = index;
  }
}

void RequestParser::on_body_init_impl(boost::optional<std::uint64_t> const& content_length,
                                      boost::beast::error_code& ec) {
  if (content_length) {
    if (*content_length > max_body_) {
      ec = bhttp::error::body_limit;
      return;
    }
    // Reserve up to a bound: a client that announces a large body and sends nothing must not
    // make every connection hold max_body bytes.
    constexpr std::uint64_t kMaxReserve = 64 * 1024;
    detail::RequestAccess::Body(req_).reserve(
        static_cast<size_t>(std::min<std::uint64_t>(*content_length, kMaxReserve)));
  }
}

std::size_t RequestParser::on_body_impl(boost::beast::string_view body,
                                        boost::beast::error_code& ec) {
  std::string& b = detail::RequestAccess::Body(req_);
  if (b.size() + body.size() > max_body_) {
    ec = bhttp::error::body_limit;
    return 0;
  }
  b.append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t size, boost::beast::string_view,
                                         boost::beast::error_code& ec) {
  std::string& b = detail::RequestAccess::Body(req_);
  if (size > max_body_ || b.size() + size > max_body_) ec = bhttp::error::body_limit;
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                              boost::beast::error_code& ec) {
  return on_body_impl(body, ec);
}

int StatusForParseError(const boost::beast::error_code& ec) {
  if (ec == bhttp::error::header_limit) return 431;
  if (ec == bhttp::error::body_limit) return 413;
  if (ec == bhttp::error::bad_version) return 505;  // Beast accepts HTTP/1.0 and 1.1 only
  return 400;
}

}  // namespace plinth::http
