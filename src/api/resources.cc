// The REST resources made from the schema: per exposed table GET (list and item), POST,
// PATCH and DELETE as the schema allows, each a literal route ("/api/v1/documents") bound to
// the table resolved at start-up, and one data-runtime call per request.
#include <cctype>

#include "api/server_internal.h"

namespace plinth::api::internal {
namespace {

constexpr std::string_view kIdParam = "id";

// The Location of a row: the table's path and the row's key value.
std::string LocationOf(const TableRoute& t, const data::RowSet& rows) {
  if (t.key == nullptr || rows.rows.empty()) return {};
  for (size_t i = 0; i < rows.columns.size(); ++i) {
    if (rows.columns[i] == t.key || rows.columns[i]->name == t.key->name) {
      const data::Value& v = rows.rows[0][i];
      if (!v) return {};
      std::string out = t.path;
      out += '/';
      for (unsigned char c : *v) {  // uuid and integer keys need no escaping; escape anything else
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
          out += static_cast<char>(c);
        } else {
          static constexpr char kHex[] = "0123456789ABCDEF";
          out += '%';
          out += kHex[c >> 4];
          out += kHex[c & 15];
        }
      }
      return out;
    }
  }
  return {};
}

// The row with only the `select`ed columns (POST/PATCH with select=).
data::RowSet Project(const data::RowSet& rows, const std::vector<std::string>& select) {
  if (select.empty()) return rows;
  data::RowSet out;
  out.table = rows.table;
  std::vector<size_t> idx;
  for (const std::string& name : select) {
    for (size_t i = 0; i < rows.columns.size(); ++i) {
      if (rows.columns[i]->name == name) {
        idx.push_back(i);
        out.columns.push_back(rows.columns[i]);
        break;
      }
    }
  }
  for (const auto& row : rows.rows) {
    std::vector<data::Value> r;
    r.reserve(idx.size());
    for (size_t i : idx) r.push_back(row[i]);
    out.rows.push_back(std::move(r));
  }
  return out;
}

rest::Preferences PreferOf(const http::Request& req) {
  std::optional<std::string_view> h = req.header("Prefer");
  if (!h) return {};
  return rest::ParsePrefer(*h);
}

void ApplyPreferences(http::Response& resp, const rest::Preferences& prefs) {
  if (!prefs.applied.empty()) resp.SetHeader("Preference-Applied", prefs.PreferenceApplied());
}

// A JSON body is required for POST/PATCH: anything else declared is a 415.
std::optional<http::Response> CheckContentType(const http::Request& req) {
  std::optional<std::string_view> ct = req.header("Content-Type");
  if (!ct) return std::nullopt;
  std::string_view v = *ct;
  const size_t semi = v.find(';');
  if (semi != std::string_view::npos) v = v.substr(0, semi);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  std::string lower(v);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "application/json" || lower.empty()) return std::nullopt;
  if (lower.size() > 5 && lower.compare(lower.size() - 5, 5, "+json") == 0) return std::nullopt;
  http::Problem p;
  p.status = 415;
  p.title = "Unsupported Media Type";
  p.detail = "the request body must be JSON (Content-Type: application/json), not " + std::string(*ct);
  return http::ProblemResponse(req, std::move(p));
}

std::optional<http::Response> ParseSelect(const Services& s, const TableRoute& t, const http::Request& req,
                                          std::vector<std::string>& select) {
  if (req.query().empty()) return std::nullopt;
  rest::ParsedItemQuery q = rest::ParseItemQuery(*s.schema, *t.table, ParamsOf(req), s.query_limits);
  if (!q.ok()) return FieldErrorsResponse(req, rest::kQueryErrorStatus, "the query string is not valid", q.errors);
  select = std::move(q.select);
  return std::nullopt;
}

std::optional<http::Response> ParseId(const Services& s, const TableRoute& t, const http::Request& req,
                                      std::string& id) {
  Result<std::string> r = rest::ParseItemId(*s.schema, *t.table, req.param(kIdParam));
  if (!r.ok()) {
    rest::FieldErrors errors{{r.status().object().empty() ? t.key->name : r.status().object(), r.status().message()}};
    return FieldErrorsResponse(req, rest::kQueryErrorStatus, "the id in the path is not valid", errors);
  }
  id = std::move(r).value();
  return std::nullopt;
}

// ---- handlers --------------------------------------------------------------------------------

asio::awaitable<http::Response> GetItem(const Services& s, const TableRoute& t, http::Request& req) {
  Caller c;
  if (auto denied = co_await Authenticate(s, req, c)) co_return std::move(*denied);
  std::string id;
  if (auto bad = ParseId(s, t, req, id)) co_return std::move(*bad);
  std::vector<std::string> select;
  if (auto bad = ParseSelect(s, t, req, select)) co_return std::move(*bad);
  DbTimer timer(s, DbOp::kGet);
  Result<data::RowSet> r = co_await s.runtime->Get(c.principal, InfoFor(req), t.name, id, std::move(select));
  timer.Observe();
  if (!r.ok()) co_return StatusResponse(req, r.status());
  if (r->rows.empty()) co_return StatusResponse(req, Status(Code::kNotFound, "no such row in " + t.name));
  std::string body;
  body.reserve(512);
  rest::AppendRowJson(body, *r, 0);
  co_return http::JsonTextResponse(200, std::move(body));
}

asio::awaitable<http::Response> ListRows(const Services& s, const TableRoute& t, http::Request& req) {
  Caller c;
  if (auto denied = co_await Authenticate(s, req, c)) co_return std::move(*denied);
  rest::QueryParams params = ParamsOf(req);
  rest::ParsedListQuery parsed = rest::ParseListQuery(*s.schema, *t.table, params, s.query_limits);
  if (!parsed.ok()) {
    co_return FieldErrorsResponse(req, rest::kQueryErrorStatus, "the query string is not valid", parsed.errors);
  }
  const rest::Preferences prefs = PreferOf(req);
  parsed.query.count_exact = prefs.count_exact;
  const int64_t offset = parsed.query.offset;
  DbTimer timer(s, DbOp::kList);
  Result<data::ListResult> r = co_await s.runtime->List(c.principal, InfoFor(req), t.name, std::move(parsed.query));
  timer.Observe();
  if (!r.ok()) co_return StatusResponse(req, r.status());
  std::string next;
  if (!r->next_cursor.empty()) next = rest::NextLink(req.path(), params, r->next_cursor);
  http::Response resp = http::JsonTextResponse(200, rest::ListJson(*r, next));
  resp.SetHeader("Content-Range", rest::ContentRange(offset, r->rows.rows.size(), r->total));
  ApplyPreferences(resp, prefs);
  co_return resp;
}

asio::awaitable<http::Response> CreateRow(const Services& s, const TableRoute& t, http::Request& req) {
  Caller c;
  if (auto denied = co_await Authenticate(s, req, c)) co_return std::move(*denied);
  if (auto bad = CheckContentType(req)) co_return std::move(*bad);
  std::vector<std::string> select;
  if (auto bad = ParseSelect(s, t, req, select)) co_return std::move(*bad);
  const rest::Preferences prefs = PreferOf(req);
  const bool upsert = prefs.merge_duplicates;
  rest::ParsedBody body = rest::ParseBody(*s.schema, *t.table, req.body(),
                                          upsert ? rest::WriteKind::kUpsert : rest::WriteKind::kInsert, s.body_limits);
  if (!body.ok()) {
    co_return FieldErrorsResponse(req, body.status(),
                                  body.malformed ? "the request body is not a JSON object"
                                                 : "the request body does not fit table " + t.name,
                                  body.errors);
  }
  DbTimer timer(s, upsert ? DbOp::kUpsert : DbOp::kInsert);
  // No co_await inside a conditional expression: GCC 12 destroys the temporaries of both arms
  // (a double free of the Result), so the two calls are separate statements.
  Result<data::RowSet> r = Status(Code::kInternal, "no write was made");
  if (upsert) {
    r = co_await s.runtime->Upsert(c.principal, InfoFor(req), t.name, std::move(body.fields));
  } else {
    r = co_await s.runtime->Insert(c.principal, InfoFor(req), t.name, std::move(body.fields));
  }
  timer.Observe();
  if (!r.ok()) co_return StatusResponse(req, r.status());
  if (t.audit_insert != nullptr) t.audit_insert->Inc();
  http::Response resp;
  if (prefs.return_mode == rest::Preferences::Return::kMinimal) {
    resp.status = 201;
  } else {
    std::string json;
    json.reserve(512);
    if (select.empty()) {
      rest::AppendRowJson(json, *r, 0);
    } else {
      rest::AppendRowJson(json, Project(*r, select), 0);
    }
    resp = http::JsonTextResponse(201, std::move(json));
  }
  if (std::string loc = LocationOf(t, *r); !loc.empty()) resp.SetHeader("Location", std::move(loc));
  ApplyPreferences(resp, prefs);
  co_return resp;
}

asio::awaitable<http::Response> UpdateRow(const Services& s, const TableRoute& t, http::Request& req) {
  Caller c;
  if (auto denied = co_await Authenticate(s, req, c)) co_return std::move(*denied);
  if (auto bad = CheckContentType(req)) co_return std::move(*bad);
  std::string id;
  if (auto bad = ParseId(s, t, req, id)) co_return std::move(*bad);
  std::vector<std::string> select;
  if (auto bad = ParseSelect(s, t, req, select)) co_return std::move(*bad);
  const rest::Preferences prefs = PreferOf(req);
  rest::ParsedBody body = rest::ParseBody(*s.schema, *t.table, req.body(), rest::WriteKind::kUpdate, s.body_limits);
  if (!body.ok()) {
    co_return FieldErrorsResponse(req, body.status(),
                                  body.malformed ? "the request body is not a JSON object"
                                                 : "the request body does not fit table " + t.name,
                                  body.errors);
  }
  DbTimer timer(s, DbOp::kUpdate);
  Result<data::RowSet> r = co_await s.runtime->Update(c.principal, InfoFor(req), t.name, id, std::move(body.fields));
  timer.Observe();
  if (!r.ok()) co_return StatusResponse(req, r.status());
  if (t.audit_update != nullptr) t.audit_update->Inc();
  http::Response resp;
  if (prefs.return_mode == rest::Preferences::Return::kMinimal) {
    resp = http::NoContentResponse();
  } else {
    std::string json;
    json.reserve(512);
    if (select.empty()) {
      rest::AppendRowJson(json, *r, 0);
    } else {
      rest::AppendRowJson(json, Project(*r, select), 0);
    }
    resp = http::JsonTextResponse(200, std::move(json));
  }
  ApplyPreferences(resp, prefs);
  co_return resp;
}

asio::awaitable<http::Response> DeleteRow(const Services& s, const TableRoute& t, http::Request& req) {
  Caller c;
  if (auto denied = co_await Authenticate(s, req, c)) co_return std::move(*denied);
  std::string id;
  if (auto bad = ParseId(s, t, req, id)) co_return std::move(*bad);
  if (!req.query().empty()) {
    rest::FieldErrors errors;
    for (const http::QueryParam& p : req.query().params()) errors.push_back({p.key, "DELETE takes no query parameters"});
    co_return FieldErrorsResponse(req, rest::kQueryErrorStatus, "the query string is not valid", errors);
  }
  DbTimer timer(s, DbOp::kDelete);
  Status st = co_await s.runtime->Delete(c.principal, InfoFor(req), t.name, id);
  timer.Observe();
  if (!st.ok()) co_return StatusResponse(req, st);
  if (t.audit_delete != nullptr) t.audit_delete->Inc();
  co_return http::NoContentResponse();
}

}  // namespace

Status AddTableRoutes(http::Router& router, const Services& s, std::deque<TableRoute>& routes) {
  metrics::CounterFamily& audit = s.metrics->AddCounter(
      "plinth_audit_rows_total", "Audit rows written with the API's writes (one per written row), by table and action",
      {"table", "action"});
  for (const schema::Table& table : s.schema->tables) {
    if (!rest::TableExposed(table)) continue;
    TableRoute& t = routes.emplace_back();
    t.table = &table;
    t.name = table.name;
    t.path = std::string(rest::kApiPrefix) + "/" + table.name;
    t.key = rest::ItemKeyColumn(*s.schema, table);
    t.insert = rest::TableAcceptsInsert(table);
    t.update = rest::TableAcceptsUpdate(table) && t.key != nullptr;
    t.del = rest::TableAcceptsDelete(table) && t.key != nullptr;
    if (t.insert) t.audit_insert = &audit.With({table.name, "insert"});
    if (t.update) t.audit_update = &audit.With({table.name, "update"});
    if (t.del) t.audit_delete = &audit.With({table.name, "delete"});
    const TableRoute* tp = &t;
    const Services* sp = &s;
    PLINTH_RETURN_IF_ERROR(router.Get(t.path, [sp, tp](http::Request& req) { return ListRows(*sp, *tp, req); }));
    if (t.insert) {
      PLINTH_RETURN_IF_ERROR(router.Post(t.path, [sp, tp](http::Request& req) { return CreateRow(*sp, *tp, req); }));
    }
    if (t.key != nullptr) {
      const std::string item = t.path + "/{" + std::string(kIdParam) + "}";
      PLINTH_RETURN_IF_ERROR(router.Get(item, [sp, tp](http::Request& req) { return GetItem(*sp, *tp, req); }));
      if (t.update) {
        PLINTH_RETURN_IF_ERROR(router.Patch(item, [sp, tp](http::Request& req) { return UpdateRow(*sp, *tp, req); }));
      }
      if (t.del) {
        PLINTH_RETURN_IF_ERROR(router.Delete(item, [sp, tp](http::Request& req) { return DeleteRow(*sp, *tp, req); }));
      }
    }
  }
  return Status::Ok();
}

}  // namespace plinth::api::internal
