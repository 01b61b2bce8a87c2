// Request dispatch after the header (http/dispatch.h).
#include "http/dispatch.h"

namespace plinth::http {

namespace {

constexpr std::string_view kAllMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
// How much of a path a 404 detail repeats.
constexpr size_t kDetailPathChars = 256;

Response Problem_(const Request& req, int status, std::string detail) {
  Problem p;
  p.status = status;
  p.detail = std::move(detail);
  return ProblemResponse(req.request_id(), std::move(p));
}

}  // namespace

Dispatch PrepareRequest(const ServerOptions& opt, const Router& router,
                        const RequestParser& parser, Request& req,
                        ratelimit::RateLimiter* ip_limiter, std::string_view ip_key,
                        bool draining) {
  Dispatch d;
  std::string& id = detail::RequestAccess::RequestId(req);
  if (parser.request_id >= 0) {
    std::string_view sent = req.header_at(static_cast<size_t>(parser.request_id)).second;
    if (IsValidRequestId(sent)) id.assign(sent);
  }
  if (id.empty()) GenerateRequestId(id);
  detail::RequestAccess::SetKeepAlive(req, parser.keep_alive() && !draining);
  d.close = draining;

  if (req.version() != 10 && req.version() != 11) {
    d.close = true;
    d.early = Problem_(req, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
    return d;
  }
  if (req.version() == 11 && parser.host < 0) {
    d.close = true;
    d.early = Problem_(req, 400, "an HTTP/1.1 request needs a Host header");
    return d;
  }
  std::string_view target = req.target();
  if (target == "*") {
    if (req.method() == Verb::options) {
      Response r = NoContentResponse();
      r.SetHeader("Allow", std::string(kAllMethods));
      d.early = std::move(r);
    } else {
      d.early = Problem_(req, 400, "the request-target * is only valid for OPTIONS");
    }
    return d;
  }
  if (target.empty() || target.front() != '/') {
    d.close = true;
    d.early = Problem_(req, 400, "the request-target must be an absolute path (origin-form)");
    return d;
  }
  if (size_t q = target.find('?'); q != std::string_view::npos) {
    if (Status s = detail::RequestAccess::MutableQuery(req).Parse(target.substr(q + 1)); !s.ok()) {
      Problem p;
      p.status = 400;
      p.detail = s.message();
      p.errors.push_back(FieldError{s.object(), s.message()});
      d.early = ProblemResponse(req, std::move(p));
      return d;
    }
  }

  std::string_view origin;
  if (parser.origin >= 0) origin = req.header_at(static_cast<size_t>(parser.origin)).second;
  // CORS preflight: an OPTIONS with Origin and Access-Control-Request-Method.
  bool preflight = req.method() == Verb::options && opt.cors.enabled() && !origin.empty() &&
                   parser.cors_request_method >= 0;
  Result<Router::Match> match =
      router.Find(req.method(), req.path(), detail::RequestAccess::Params(req));
  if (!match.ok()) {
    d.early = Problem_(req, 400, match.status().message());
    return d;
  }
  switch (match->outcome) {
    case Router::Outcome::kNotFound:
      d.not_found = true;
      detail::RequestAccess::SetRoute(req, kRouteNotFound);
      d.early = Problem_(req, 404,
                         "no route matches " + std::string(MethodLabel(req.method())) + " " +
                             std::string(req.path().substr(0, kDetailPathChars)));
      return d;
    case Router::Outcome::kMethodNotAllowed: {
      // Labelled with the path's template: bounded, and says which resource was asked for.
      for (size_t i = 0; i < router.size(); ++i) {
        if (router.route(i).pattern == match->pattern) {
          d.label_route = &router.route(i);
          break;
        }
      }
      detail::RequestAccess::SetRoute(
          req, d.label_route ? std::string_view(d.label_route->pattern) : kRouteNotFound);
      if (preflight) {
        d.early = PreflightResponse(opt.cors, req, origin, match->allow);
      } else if (req.method() == Verb::options) {
        Response r = NoContentResponse();
        r.SetHeader("Allow", match->allow);
        d.early = std::move(r);
      } else {
        Problem p;
        p.status = 405;
        p.detail = std::string(MethodLabel(req.method())) + " is not allowed here; allowed: " +
                   match->allow;
        p.headers.push_back(Header{"Allow", match->allow});
        d.early = ProblemResponse(req, std::move(p));
      }
      return d;
    }
    case Router::Outcome::kFound:
      break;
  }
  d.route = match->route;
  d.label_route = match->route;
  detail::RequestAccess::SetRoute(req, d.route->pattern);

  // A declared length over the limit is refused before any of the body is read (and before a
  // 100 Continue); a chunked body is counted by the parser as it arrives.
  if (auto length = parser.content_length(); length && *length > opt.max_body_bytes) {
    d.close = true;
    d.early = Problem_(req, 413,
                       "the request body exceeds " + std::to_string(opt.max_body_bytes) + " bytes");
    return d;
  }

  if (ip_limiter != nullptr && !ip_key.empty()) {
    ratelimit::Decision decision = ip_limiter->Acquire(ip_key);
    if (!decision.allowed) d.early = TooManyRequestsResponse(req, decision);
  }
  return d;
}

}  // namespace plinth::http
