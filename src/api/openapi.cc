// The OpenAPI 3.1 document of an app, generated from its schema (rest.h, docs/api.md). Not on
// a hot path: built once at start-up with nlohmann::ordered_json so keys keep a readable order.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "api/rest_internal.h"
#include "common/strings.h"
#include "plinth/rest.h"

namespace plinth::rest {

using schema::Column;
using schema::Table;
using schema::TypeKind;
using J = nlohmann::ordered_json;
using namespace internal;  // NOLINT(google-build-using-namespace)

namespace {

constexpr std::string_view kPlaceholderUuid = "00000000-0000-4000-8000-000000000001";

std::string Ref(std::string_view kind, std::string_view name) {
  return "#/components/" + std::string(kind) + "/" + std::string(name);
}
J RefTo(std::string_view kind, std::string_view name) { return J{{"$ref", Ref(kind, name)}}; }

// A JSON array of strings. (A braced list of two values whose first is a string would be read
// by nlohmann-json as an object member, and a one-element list is compiler-dependent.)
J Strings(std::initializer_list<std::string> items) {
  J a = J::array();
  for (const std::string& i : items) a.push_back(i);
  return a;
}

// Operators a column takes in a filter, as documented (must match rest_query.cc's OpAllowed).
std::vector<std::string> FilterOperators(TypeKind k) {
  switch (k) {
    case TypeKind::kText: return {"eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is"};
    case TypeKind::kUuid:
    case TypeKind::kInteger:
    case TypeKind::kBigint:
    case TypeKind::kDecimal:
    case TypeKind::kTimestamp:
    case TypeKind::kDate: return {"eq", "neq", "gt", "gte", "lt", "lte", "in", "is"};
    case TypeKind::kBoolean:
    case TypeKind::kEnum: return {"eq", "neq", "in", "is"};
    case TypeKind::kJson:
    case TypeKind::kBytes: return {"is"};
  }
  return {};
}

bool IsForeignKeyColumn(const Table& t, const Column& c) {
  for (const schema::Constraint& k : t.constraints) {
    if (k.kind == schema::ConstraintKind::kForeignKey &&
        std::find(k.columns.begin(), k.columns.end(), c.name) != k.columns.end()) {
      return true;
    }
  }
  return false;
}

bool IsWordChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

// Whether a check constraint of the table mentions the column (as a whole word).
bool InCheck(const Table& t, const Column& c) {
  for (const schema::Constraint& k : t.constraints) {
    if (k.kind != schema::ConstraintKind::kCheck) continue;
    const std::string& e = k.expression;
    for (size_t pos = e.find(c.name); pos != std::string::npos; pos = e.find(c.name, pos + 1)) {
      bool before = pos == 0 || !IsWordChar(e[pos - 1]);
      bool after = pos + c.name.size() >= e.size() || !IsWordChar(e[pos + c.name.size()]);
      if (before && after) return true;
    }
  }
  return false;
}

// The JSON Schema of a column's values. `request`: as accepted in bodies (decimals also as
// numbers); otherwise as returned.
J ColumnSchema(const schema::Schema& s, const Column& c, bool request) {
  J j = J::object();
  std::string type;
  switch (c.type.kind) {
    case TypeKind::kUuid:
      type = "string";
      j["format"] = "uuid";
      break;
    case TypeKind::kText:
      type = "string";
      if (c.type.max_length > 0) j["maxLength"] = c.type.max_length;
      break;
    case TypeKind::kInteger:
      type = "integer";
      j["format"] = "int32";
      j["minimum"] = IntegerMin(c.type.kind);
      j["maximum"] = IntegerMax(c.type.kind);
      break;
    case TypeKind::kBigint:
      type = "integer";
      j["format"] = "int64";
      break;
    case TypeKind::kBoolean:
      type = "boolean";
      break;
    case TypeKind::kDecimal: {
      std::string label = c.type.ToString();
      if (request) {
        j["type"] = c.not_null ? Strings({"string", "number"}) : Strings({"string", "number", "null"});
        j["description"] = label + ": a string in plain notation (\"12.50\") or a JSON number";
      } else {
        type = "string";
        std::string pattern = "^-?[0-9]+";
        if (c.type.scale > 0) pattern += "\\.[0-9]{" + std::to_string(c.type.scale) + "}";
        pattern += "$";
        j["pattern"] = pattern;
        j["description"] = label + ", as a string with " + std::to_string(c.type.scale) + " decimals";
      }
      break;
    }
    case TypeKind::kTimestamp:
      type = "string";
      j["format"] = "date-time";
      break;
    case TypeKind::kDate:
      type = "string";
      j["format"] = "date";
      break;
    case TypeKind::kJson:
      j["description"] = "any JSON value";
      break;
    case TypeKind::kBytes:
      type = "string";
      j["contentEncoding"] = "base64";
      break;
    case TypeKind::kEnum: {
      type = "string";
      J values = J::array();
      if (const std::vector<std::string>* v = EnumValues(s, c)) {
        for (const std::string& x : *v) values.push_back(x);
      }
      if (!c.not_null) values.push_back(nullptr);
      j["enum"] = values;
      break;
    }
  }
  if (!type.empty()) {
    j["type"] = c.not_null ? J(type) : Strings({type, "null"});
    // Keep "type" first for readability.
    J ordered = J::object();
    ordered["type"] = j["type"];
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() != "type") ordered[it.key()] = it.value();
    }
    j = std::move(ordered);
  }
  if (!c.comment.empty()) {
    std::string d = j.contains("description") ? j["description"].get<std::string>() + ". " : "";
    j["description"] = d + c.comment;
  }
  if (c.default_value.kind == schema::DefaultKind::kLiteral && request) {
    const std::string& v = c.default_value.value;
    switch (c.type.kind) {
      case TypeKind::kInteger:
      case TypeKind::kBigint: j["default"] = J::parse(v, nullptr, false); break;
      case TypeKind::kBoolean: j["default"] = v == "true"; break;
      case TypeKind::kJson: {
        J parsed = J::parse(v, nullptr, false);
        if (!parsed.is_discarded()) j["default"] = parsed;
        break;
      }
      case TypeKind::kBytes: break;
      default: j["default"] = v; break;
    }
    if (j.contains("default") && j["default"].is_discarded()) j.erase("default");
  }
  return j;
}

std::string TextExample(const Column& c) {
  const std::string& n = c.name;
  std::string v;
  auto has = [&](std::string_view part) { return n.find(part) != std::string::npos; };
  if (has("email")) {
    v = "ada@example.com";
  } else if (has("url")) {
    v = "https://example.com/ada.png";
  } else if (has("domain")) {
    v = "example.com";
  } else if (has("phone")) {
    v = "+15555550100";
  } else if (has("ip_address")) {
    v = "203.0.113.7";
  } else {
    v = "example_" + n;
  }
  if (c.type.max_length > 0 && static_cast<int>(v.size()) > c.type.max_length) {
    v.resize(static_cast<size_t>(c.type.max_length));
  }
  return v;
}

std::string DecimalExample(const schema::Type& t) {
  int int_digits = t.precision - t.scale;
  std::string v = int_digits >= 3 ? "100" : int_digits >= 1 ? "1" : "0";
  if (t.scale > 0) {
    std::string frac(static_cast<size_t>(t.scale), '0');
    if (int_digits < 1) frac.back() = '1';
    v += "." + frac;
  }
  return v;
}

// A value of the column's type for request examples.
J ExampleValue(const schema::Schema& s, const Column& c) {
  switch (c.type.kind) {
    case TypeKind::kUuid: return std::string(kPlaceholderUuid);
    case TypeKind::kText: return TextExample(c);
    case TypeKind::kInteger:
    case TypeKind::kBigint: return 1;
    case TypeKind::kBoolean:
      return c.default_value.kind == schema::DefaultKind::kLiteral ? c.default_value.value == "true" : true;
    case TypeKind::kDecimal: return DecimalExample(c.type);
    case TypeKind::kTimestamp: return "2030-01-15T09:30:00Z";
    case TypeKind::kDate: return "2030-01-15";
    case TypeKind::kJson:
      if (c.default_value.kind == schema::DefaultKind::kLiteral && c.default_value.value == "[]") {
        return J::array({"example"});
      }
      return J{{"example", true}};
    case TypeKind::kBytes: return Base64Encode("hello");
    case TypeKind::kEnum: {
      if (c.default_value.kind == schema::DefaultKind::kLiteral) return c.default_value.value;
      const std::vector<std::string>* v = EnumValues(s, c);
      return v != nullptr && !v->empty() ? J(v->front()) : J("value");
    }
  }
  return nullptr;
}

// The query-string example of a filter on the column.
std::string FilterExample(const schema::Schema& s, const Column& c) {
  switch (c.type.kind) {
    case TypeKind::kUuid: return "eq." + std::string(kPlaceholderUuid);
    case TypeKind::kText: return "ilike.*" + TextExample(c).substr(0, 8) + "*";
    case TypeKind::kInteger:
    case TypeKind::kBigint: return "gte.1";
    case TypeKind::kDecimal: return "gt.0";
    case TypeKind::kBoolean: return "is.true";
    case TypeKind::kTimestamp: return "gte.2026-01-01T00:00:00Z";
    case TypeKind::kDate: return "gte.2026-01-01";
    case TypeKind::kEnum: {
      const std::vector<std::string>* v = EnumValues(s, c);
      return "eq." + (v != nullptr && !v->empty() ? v->front() : std::string("value"));
    }
    case TypeKind::kJson:
    case TypeKind::kBytes: return "not.is.null";
  }
  return "is.null";
}

// An insert body that passes the body validator and, for columns a check mentions, values
// chosen to satisfy the usual checks (lower-case, no spaces, positive numbers). Required
// foreign keys get a placeholder id to replace.
J InsertExample(const schema::Schema& s, const Table& t) {
  J body = J::object();
  for (const Column& c : t.columns) {
    if (!ColumnAccepted(s, t, c)) continue;
    bool required = ColumnRequiredOnInsert(s, t, c);
    if (!required) {
      if (c.type.kind == TypeKind::kBoolean || c.type.kind == TypeKind::kUuid || IsForeignKeyColumn(t, c) ||
          InCheck(t, c) || c.type.kind == TypeKind::kTimestamp || c.type.kind == TypeKind::kDate ||
          c.type.kind == TypeKind::kBytes || c.type.kind == TypeKind::kEnum) {
        continue;
      }
    }
    body[c.name] = ExampleValue(s, c);
  }
  return body;
}

J UpdateExample(const schema::Schema& s, const Table& t) {
  const schema::Constraint* pk = t.PrimaryKey();
  auto is_key = [&](const Column& c) {
    return pk != nullptr && std::find(pk->columns.begin(), pk->columns.end(), c.name) != pk->columns.end();
  };
  const Column* chosen = nullptr;
  for (const Column& c : t.columns) {
    if (!ColumnAccepted(s, t, c) || is_key(c) || IsForeignKeyColumn(t, c)) continue;
    if (c.type.kind == TypeKind::kText || c.type.kind == TypeKind::kJson || c.type.kind == TypeKind::kInteger) {
      chosen = &c;
      break;
    }
    if (chosen == nullptr && !InCheck(t, c)) chosen = &c;
  }
  J body = J::object();
  if (chosen != nullptr) body[chosen->name] = ExampleValue(s, *chosen);
  return body;
}

J ProblemSchema() {
  return J{{"type", "object"},
           {"description", "An RFC 9457 problem. `errors` names each offending query parameter or body field."},
           {"required", Strings({"type", "title", "status"})},
           {"properties",
            {{"type", {{"type", "string"}, {"description", "a URI reference; about:blank unless said otherwise"}}},
             {"title", {{"type", "string"}}},
             {"status", {{"type", "integer"}}},
             {"detail", {{"type", "string"}}},
             {"instance", {{"type", "string"}}},
             {"errors",
              {{"type", "array"},
               {"items",
                {{"type", "object"},
                 {"required", Strings({"field", "message"})},
                 {"properties",
                  {{"field", {{"type", "string"}, {"description", "query parameter or body field; empty for the whole request"}}},
                   {"message", {{"type", "string"}}}}}}}}}}}};
}

J ProblemResponse(int status, const std::string& description, const J& example, bool retry_after = false,
                  bool www_authenticate = false) {
  J r = {{"description", description}};
  J headers = J::object();
  if (retry_after) headers["Retry-After"] = RefTo("headers", "RetryAfter");
  if (www_authenticate) headers["WWW-Authenticate"] = RefTo("headers", "WWWAuthenticate");
  if (!headers.empty()) r["headers"] = headers;
  r["content"] = {{std::string(kProblemContentType),
                   {{"schema", RefTo("schemas", "Problem")}, {"example", example}}}};
  (void)status;
  return r;
}

J ProblemExample(int status, const std::string& detail, const FieldErrors& errors = {}) {
  J j = {{"type", "about:blank"}, {"title", std::string(StatusTitle(status))}, {"status", status}, {"detail", detail}};
  if (!errors.empty()) {
    J e = J::array();
    for (const FieldError& f : errors) e.push_back({{"field", f.field}, {"message", f.message}});
    j["errors"] = e;
  }
  return j;
}

J Responses() {
  J r = J::object();
  r["BadRequest"] = ProblemResponse(400, "The query or the body does not parse, or names unknown columns.",
                                    ProblemExample(400, "the query has 1 error",
                                                   {{"limit", "'5000': limit must be an integer between 1 and 1000"}}));
  r["Unauthorized"] = ProblemResponse(401, "No credentials, or credentials that are not valid (expired, revoked).",
                                      ProblemExample(401, "send Authorization: Bearer <API key or access token>"),
                                      false, true);
  r["Forbidden"] = ProblemResponse(403, "The principal may not do this: a row policy refused the write, or the "
                                        "credentials lack the permission.",
                                   ProblemExample(403, "a row policy refused the row"));
  r["NotFound"] = ProblemResponse(404, "No such row, or a row the principal may not see (the same answer).",
                                  ProblemExample(404, "no such row"));
  r["Conflict"] = ProblemResponse(409, "A unique key is taken, or a constraint (foreign key, check) refused the "
                                       "row; the constraint is named in the detail.",
                                  ProblemExample(409, "a unique key is taken (constraint users_email_key)"));
  r["ContentTooLarge"] = ProblemResponse(413, "The body is larger than the server accepts.",
                                         ProblemExample(413, "the body is larger than the limit"));
  r["UnsupportedMediaType"] = ProblemResponse(415, "The body is not sent as application/json.",
                                              ProblemExample(415, "send the body as Content-Type: application/json"));
  r["UnprocessableContent"] =
      ProblemResponse(422, "The body is a JSON object whose fields do not fit the table; every field is named.",
                      ProblemExample(422, "the body has 2 errors",
                                     {{"title", "must be a string, got an integer"}, {"email", "is required (text(320), not null, no default)"}}));
  r["TooManyRequests"] = ProblemResponse(429, "A rate limit (per key or per address) was reached; retry after the "
                                              "given number of seconds.",
                                         ProblemExample(429, "rate limit reached"), true);
  r["ServiceUnavailable"] = ProblemResponse(503, "The database cannot be reached now; retry later.",
                                            ProblemExample(503, "the database is unavailable"), true);
  r["GatewayTimeout"] = ProblemResponse(504, "The request ran out of time; its database work was cancelled.",
                                        ProblemExample(504, "the request deadline passed"), true);
  return r;
}

J ErrorRefs(std::initializer_list<std::pair<const char*, const char*>> codes) {
  J r = J::object();
  for (const auto& [code, name] : codes) r[code] = RefTo("responses", name);
  return r;
}

std::string Title(const schema::Schema& s, const OpenApiOptions& o) {
  if (!o.title.empty()) return o.title;
  return (s.app.name.empty() ? std::string("plinth") : s.app.name) + " API";
}

J JsonContent(const J& schema) { return {{std::string(kJsonContentType), {{"schema", schema}}}}; }

// ---- Table resources

struct TableDoc {
  const schema::Schema& s;
  const Table& t;
  const OpenApiOptions& o;
};

J RowSchema(const TableDoc& d) {
  J props = J::object();
  for (const Column& c : d.t.columns) {
    if (!ColumnReturned(c)) continue;
    J cs = ColumnSchema(d.s, c, false);
    if (IsTenantColumn(d.s, d.t, c)) cs["description"] = "the tenant the row belongs to (from the credentials)";
    if (IsManagedTimestamp(d.t, c)) cs["description"] = "maintained by the database";
    props[c.name] = cs;
  }
  J j = {{"type", "object"}};
  j["description"] = (d.t.comment.empty() ? "A row of " + d.t.name + "." : d.t.comment) +
                     " Every returned column is present unless select= chose fewer.";
  j["properties"] = props;
  return j;
}

J BodySchema(const TableDoc& d, bool insert) {
  const schema::Constraint* pk = d.t.PrimaryKey();
  J props = J::object();
  J required = J::array();
  for (const Column& c : d.t.columns) {
    if (!ColumnAccepted(d.s, d.t, c)) continue;
    bool key = pk != nullptr && std::find(pk->columns.begin(), pk->columns.end(), c.name) != pk->columns.end();
    if (!insert && key) continue;
    J cs = ColumnSchema(d.s, c, true);
    if (c.access == schema::Access::kWriteOnly) {
      cs["writeOnly"] = true;
    }
    props[c.name] = cs;
    if (insert && ColumnRequiredOnInsert(d.s, d.t, c)) required.push_back(c.name);
  }
  J j = {{"type", "object"}};
  j["description"] = insert ? "The fields of a new " + d.t.name + " row. Read-only columns, the tenant and the "
                              "managed timestamps are never accepted."
                            : "The fields to change; at least one. The key cannot change.";
  j["properties"] = props;
  if (insert && !required.empty()) j["required"] = required;
  if (!insert) j["minProperties"] = 1;
  j["additionalProperties"] = false;
  return j;
}

J ListSchema(const TableDoc& d) {
  return {{"type", "object"},
          {"description", "A page of " + d.t.name + " rows."},
          {"required", Strings({"items", "next_cursor", "next"})},
          {"properties",
           {{"items", {{"type", "array"}, {"items", RefTo("schemas", d.t.name)}}},
            {"next_cursor",
             {{"type", Strings({"string", "null"})},
              {"description", "pass as after= for the next page (keyset pagination); null on the last page"}}},
            {"next", {{"type", Strings({"string", "null"})}, {"description", "the URL of the next page; null on the last page"}}},
            {"total",
             {{"type", "integer"},
              {"description", "every matching row, present only with Prefer: count=exact"}}}}}};
}

J FilterParameters(const TableDoc& d) {
  J params = J::array();
  for (const Column& c : d.t.columns) {
    if (!ColumnFilterable(c) || IsReservedParameter(c.name)) continue;
    std::vector<std::string> ops = FilterOperators(c.type.kind);
    std::string desc = "Filter on " + c.name + " (" + TypeLabel(c) + "): `" + c.name + "=OP.VALUE`, OP one of " +
                       Join(ops, ", ") + "; `not.` before OP negates.";
    if (c.type.kind == TypeKind::kText) desc += " In like/ilike, `*` stands for `%`.";
    if (c.type.kind == TypeKind::kBoolean) desc += " is takes null, not_null, true, false, unknown.";
    if (c.type.kind == TypeKind::kEnum) {
      if (const std::vector<std::string>* v = EnumValues(d.s, c)) desc += " Values: " + ListNames(*v, 100) + ".";
    }
    J p = {{"name", c.name}, {"in", "query"}, {"required", false}, {"description", desc}};
    std::string pattern = "^(not\\.)?(" + Join(ops, "|") + ")\\.";
    p["schema"] = {{"type", "string"}, {"pattern", pattern}};
    p["example"] = FilterExample(d.s, c);
    params.push_back(p);
  }
  return params;
}

std::vector<std::string> OrderableColumns(const Table& t) {
  std::vector<std::string> out;
  for (const Column& c : t.columns) {
    if (ColumnFilterable(c) && c.type.kind != TypeKind::kJson) out.push_back(c.name);
  }
  return out;
}

J SelectParameter(const TableDoc& d) {
  std::vector<std::string> cols = ReturnedColumnNames(d.t);
  std::vector<std::string> first(cols.begin(), cols.begin() + std::min<size_t>(cols.size(), 3));
  return {{"name", "select"},
          {"in", "query"},
          {"required", false},
          {"description", "Comma-separated columns to return (default: all). Columns: " + ListNames(cols, 200) + "."},
          {"schema", {{"type", "string"}}},
          {"example", Join(first, ",")}};
}

J OrderParameter(const TableDoc& d) {
  std::vector<std::string> cols = OrderableColumns(d.t);
  std::string example;
  if (d.t.FindColumn("created_at") != nullptr) {
    example = "created_at.desc";
  } else if (const Column* key = ItemKeyColumn(d.s, d.t)) {
    example = key->name + ".asc";
  } else if (!cols.empty()) {
    example = cols.front();
  }
  return {{"name", "order"},
          {"in", "query"},
          {"required", false},
          {"description", "Sort: `col[.asc|.desc][.nullsfirst|.nullslast],…`. The primary key is always appended "
                          "as a tiebreak. Columns: " + ListNames(cols, 200) + "."},
          {"schema", {{"type", "string"}}},
          {"example", example}};
}

J KeyParameter(const TableDoc& d, const Column& key) {
  J schema = ColumnSchema(d.s, key, false);
  schema["type"] = "string";
  if (key.type.kind == TypeKind::kInteger || key.type.kind == TypeKind::kBigint) schema = {{"type", "integer"}};
  return {{"name", "id"},
          {"in", "path"},
          {"required", true},
          {"description", "The row's " + key.name + "."},
          {"schema", schema}};
}

J ItemSelectParameter(const TableDoc& d) {
  J p = SelectParameter(d);
  return p;
}

// or=, and=, not.or=, not.and= of a table; the examples use one of its own columns.
J LogicParameter(const TableDoc& d, const std::string& name) {
  std::string col = "id";
  if (const Column* key = ItemKeyColumn(d.s, d.t); key != nullptr && ColumnFilterable(*key)) {
    col = key->name;
  } else {
    for (const Column& c : d.t.columns) {
      if (ColumnFilterable(c)) {
        col = c.name;
        break;
      }
    }
  }
  std::string what, example;
  if (name == "or") {
    what = "Rows matching any of the conditions.";
    example = "(" + col + ".is.null," + col + ".not.is.null)";
  } else if (name == "and") {
    what = "Rows matching all of the conditions.";
    example = "(" + col + ".not.is.null)";
  } else if (name == "not.or") {
    what = "Rows matching none of the conditions.";
    example = "(" + col + ".is.null)";
  } else {
    what = "Rows not matching all of the conditions.";
    example = "(" + col + ".is.null)";
  }
  const QueryLimits& l = d.o.limits;
  return J{{"name", name},
           {"in", "query"},
           {"required", false},
           {"description", what + " Items: `col.OP.value`, `col.not.OP.value`, nested `or(…)`, `and(…)`, "
                           "`not.or(…)`, `not.and(…)` (at most " + std::to_string(l.max_depth) +
                           " levels). Quote values holding `,` `(` `)` with \"…\"."},
           {"schema", {{"type", "string"}, {"pattern", "^\\(.*\\)$"}}},
           {"example", example}};
}

void AddTablePaths(const TableDoc& d, J& paths, J& schemas) {
  const Table& t = d.t;
  const std::string name = t.name;
  schemas[name] = RowSchema(d);
  schemas[name + ".list"] = ListSchema(d);
  bool insert = TableAcceptsInsert(t);
  bool update = TableAcceptsUpdate(t);
  bool del = TableAcceptsDelete(t);
  if (insert) schemas[name + ".insert"] = BodySchema(d, true);
  const Column* key = ItemKeyColumn(d.s, t);
  if (update && key != nullptr) schemas[name + ".update"] = BodySchema(d, false);

  const std::string collection = std::string(kApiPrefix) + "/" + name;
  J list_params = J::array();
  for (const char* p : {"limit", "offset", "after"}) list_params.push_back(RefTo("parameters", p));
  list_params.push_back(SelectParameter(d));
  list_params.push_back(OrderParameter(d));
  for (const char* p : {"or", "and", "not.or", "not.and"}) list_params.push_back(LogicParameter(d, p));
  list_params.push_back(RefTo("parameters", "PreferList"));
  for (J& p : FilterParameters(d)) list_params.push_back(std::move(p));

  J list_responses = {{"200",
                       {{"description", "A page of rows."},
                        {"headers", {{"Content-Range", RefTo("headers", "ContentRange")}}},
                        {"content", JsonContent(RefTo("schemas", name + ".list"))}}}};
  list_responses.update(ErrorRefs({{"400", "BadRequest"}, {"401", "Unauthorized"}, {"403", "Forbidden"},
                                   {"429", "TooManyRequests"}, {"503", "ServiceUnavailable"}, {"504", "GatewayTimeout"}}));
  J coll = J::object();
  coll["get"] = {
      {"tags", Strings({name})},
      {"operationId", name + ".list"},
      {"summary", "List " + name},
      {"description", "Rows of " + name + " the principal may see, filtered, ordered and paged with PostgREST's "
                      "conventions. Deep pages: follow `next` (keyset) rather than growing offset."},
      {"parameters", list_params},
      {"responses", list_responses}};
  if (insert) {
    J example = InsertExample(d.s, t);
    J body_content = {{std::string(kJsonContentType),
                       {{"schema", RefTo("schemas", name + ".insert")},
                        {"examples", {{"create", {{"summary", "A new row"}, {"value", example}}}}}}}};
    J r = {{"201",
            {{"description", "Created (or, with Prefer: resolution=merge-duplicates, upserted). The row, unless "
                             "Prefer: return=minimal (then no body). `Location` names the row when it has an id."},
             {"headers", {{"Location", {{"schema", {{"type", "string"}}}, {"description", "the URL of the new row"}}}}},
             {"content", JsonContent(RefTo("schemas", name))}}}};
    r.update(ErrorRefs({{"400", "BadRequest"}, {"401", "Unauthorized"}, {"403", "Forbidden"}, {"409", "Conflict"},
                        {"413", "ContentTooLarge"}, {"415", "UnsupportedMediaType"}, {"422", "UnprocessableContent"}, {"429", "TooManyRequests"},
                        {"503", "ServiceUnavailable"}, {"504", "GatewayTimeout"}}));
    coll["post"] = {
        {"tags", Strings({name})},
        {"operationId", name + ".create"},
        {"summary", "Create a " + name + " row"},
        {"description", "Inserts a row; with `Prefer: resolution=merge-duplicates` an upsert on the primary key "
                        "(a row the principal may not update is never overwritten)."},
        {"parameters", J::array({SelectParameter(d), RefTo("parameters", "PreferWrite")})},
        {"requestBody", {{"required", true}, {"content", body_content}}},
        {"responses", r}};
  }
  paths[collection] = coll;

  if (key == nullptr) return;
  J item = J::object();
  item["parameters"] = J::array({KeyParameter(d, *key)});
  J get_r = {{"200", {{"description", "The row."}, {"content", JsonContent(RefTo("schemas", name))}}}};
  get_r.update(ErrorRefs({{"400", "BadRequest"}, {"401", "Unauthorized"}, {"404", "NotFound"},
                          {"429", "TooManyRequests"}, {"503", "ServiceUnavailable"}, {"504", "GatewayTimeout"}}));
  item["get"] = {{"tags", Strings({name})},
                 {"operationId", name + ".get"},
                 {"summary", "Get one " + name + " row"},
                 {"parameters", J::array({ItemSelectParameter(d)})},
                 {"responses", get_r}};
  if (update) {
    J r = {{"200", {{"description", "The updated row."}, {"content", JsonContent(RefTo("schemas", name))}}},
           {"204", {{"description", "Updated (Prefer: return=minimal)."}}}};
    r.update(ErrorRefs({{"400", "BadRequest"}, {"401", "Unauthorized"}, {"403", "Forbidden"}, {"404", "NotFound"},
                        {"409", "Conflict"}, {"413", "ContentTooLarge"}, {"415", "UnsupportedMediaType"}, {"422", "UnprocessableContent"},
                        {"429", "TooManyRequests"}, {"503", "ServiceUnavailable"}, {"504", "GatewayTimeout"}}));
    J body_content = {{std::string(kJsonContentType),
                       {{"schema", RefTo("schemas", name + ".update")},
                        {"examples", {{"change", {{"summary", "Change one field"}, {"value", UpdateExample(d.s, t)}}}}}}}};
    item["patch"] = {{"tags", Strings({name})},
                     {"operationId", name + ".update"},
                     {"summary", "Change a " + name + " row"},
                     {"parameters", J::array({ItemSelectParameter(d), RefTo("parameters", "PreferWrite")})},
                     {"requestBody", {{"required", true}, {"content", body_content}}},
                     {"responses", r}};
  }
  if (del) {
    J r = {{"204", {{"description", "Deleted."}}}};
    r.update(ErrorRefs({{"400", "BadRequest"}, {"401", "Unauthorized"}, {"403", "Forbidden"}, {"404", "NotFound"},
                        {"409", "Conflict"}, {"429", "TooManyRequests"}, {"503", "ServiceUnavailable"},
                        {"504", "GatewayTimeout"}}));
    item["delete"] = {{"tags", Strings({name})},
                      {"operationId", name + ".delete"},
                      {"summary", "Delete a " + name + " row"},
                      {"responses", r}};
  }
  paths[collection + "/{id}"] = item;
}

// ---- Fixed endpoints

J TokenSchema(bool with_principal) {
  J props = {{"access_token", {{"type", "string"}, {"description", "send as Authorization: Bearer <access_token>"}}},
             {"token_type", {{"type", "string"}, {"const", "Bearer"}}},
             {"expires_in", {{"type", "integer"}, {"description", "seconds until the access token expires"}}},
             {"refresh_token", {{"type", "string"}, {"description", "single use: /auth/refresh returns a new pair"}}},
             {"refresh_expires_in", {{"type", "integer"}, {"description", "seconds until the refresh token expires"}}},
             {"session_id", {{"type", "string"}}}};
  if (with_principal) props["principal"] = RefTo("schemas", "Principal");
  J required = Strings({"access_token", "token_type", "expires_in", "refresh_token"});
  if (with_principal) required.push_back("principal");
  return {{"type", "object"}, {"required", required}, {"properties", props}};
}

// The health vocabulary of src/api/system.cc.
J HealthStatus() { return {{"type", "string"}, {"enum", Strings({"healthy", "degraded", "unhealthy"})}}; }

void AddFixedSchemas(J& schemas) {
  schemas["Problem"] = ProblemSchema();
  J login_with = J::array();
  for (const char* f : {"login", "username", "email"}) login_with.push_back({{"required", Strings({f})}});
  schemas["LoginRequest"] = {
      {"type", "object"},
      {"description", "The user's login name or e-mail address (as login, username or email) and password."},
      {"required", Strings({"password"})},
      {"anyOf", login_with},
      {"properties",
       {{"login", {{"type", "string"}, {"description", "login name or e-mail address"}}},
        {"username", {{"type", "string"}, {"description", "alias of login"}}},
        {"email", {{"type", "string"}, {"description", "alias of login"}}},
        {"password", {{"type", "string"}, {"format", "password"}}},
        {"tenant_id", {{"type", "string"}, {"format", "uuid"},
                       {"description", "the tenant, when the same login exists in several"}}},
        {"device", {{"type", "string"}, {"description", "a name for the session (shown in session lists)"}}}}},
      {"additionalProperties", false}};
  schemas["RefreshRequest"] = {{"type", "object"},
                               {"required", Strings({"refresh_token"})},
                               {"properties", {{"refresh_token", {{"type", "string"}}}}},
                               {"additionalProperties", false}};
  schemas["Tokens"] = TokenSchema(false);
  schemas["Login"] = TokenSchema(true);
  J nullable_string = {{"type", Strings({"string", "null"})}};
  J nullable_uuid = {{"type", Strings({"string", "null"})}, {"format", "uuid"}};
  schemas["Principal"] = {
      {"type", "object"},
      {"description", "Who the credentials of the request stand for."},
      {"required", Strings({"kind"})},
      {"properties",
       {{"kind", {{"type", "string"}, {"enum", Strings({"anonymous", "user", "api_key", "system"})}}},
        {"tenant_id", nullable_uuid},
        {"user_id", nullable_uuid},
        {"role", nullable_string},
        {"roles", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"permissions", {{"type", "array"}, {"items", {{"type", "string"}}}, {"description", "resource:action"}}},
        {"credential_id", {{"type", Strings({"string", "null"})}, {"description", "the API key or session"}}}}}};
  schemas["Live"] = {{"type", "object"},
                     {"required", Strings({"status"})},
                     {"properties", {{"status", {{"type", "string"}, {"const", "ok"}}},
                                     {"uptime_seconds", {{"type", "number"}}}}}};
  schemas["Ready"] = {{"type", "object"},
                      {"required", Strings({"status"})},
                      {"properties", {{"status", {{"type", "string"}, {"const", "ready"}}},
                                      {"database", {{"type", "string"}}},
                                      {"migration_version", {{"type", "string"}}}}}};
  schemas["DatabaseHealth"] = {
      {"type", "object"},
      {"required", {"status", "database_type", "connected"}},
      {"properties",
       {{"status", HealthStatus()},
        {"message", {{"type", "string"}}},
        {"database_type", {{"type", "string"}, {"enum", Strings({"sqlite", "postgresql"})}}},
        {"database_url", {{"type", "string"}, {"description", "the URL with any password replaced by ***"}}},
        {"connected", {{"type", "boolean"}}},
        {"latency_ms", {{"type", "number"}, {"description", "round trip of a trivial query"}}},
        {"server_version", {{"type", "string"}}}}}};
  J component = {{"type", "object"},
                 {"required", Strings({"status"})},
                 {"properties", {{"status", HealthStatus()}, {"message", {{"type", "string"}}}}},
                 {"additionalProperties", true}};
  schemas["ComprehensiveHealth"] = {
      {"type", "object"},
      {"required", Strings({"status", "components"})},
      {"properties",
       {{"status", HealthStatus()},
        {"timestamp", {{"type", "string"}, {"format", "date-time"}}},
        {"components",
         {{"type", "object"},
          {"required", {"backend", "database", "pools", "migrations"}},
          {"properties", {{"backend", component}, {"database", component}, {"pools", component},
                          {"migrations", component}}},
          {"additionalProperties", component}}}}}};
}

void AddFixedPaths(J& paths) {
  const std::string auth = std::string(kApiPrefix) + "/auth";
  J no_auth = J::array();  // `security: []`: no credentials needed
  auto with = [](J r, std::initializer_list<std::pair<const char*, const char*>> codes) {
    r.update(ErrorRefs(codes));
    return r;
  };
  paths[auth + "/login"]["post"] = {
      {"tags", Strings({"auth"})},
      {"operationId", "auth.login"},
      {"summary", "Sign in with a password"},
      {"security", no_auth},
      {"requestBody",
       {{"required", true},
        {"content", {{std::string(kJsonContentType),
                      {{"schema", RefTo("schemas", "LoginRequest")},
                       {"examples", {{"demo", {{"summary", "The demo admin of `make run` (its password is printed at the first start)"},
                                               {"value", {{"login", "admin@demo.example"}, {"password", "printed-at-first-start"}}}}}}}}}}}}},
      {"responses", with({{"200", {{"description", "Signed in: a token pair and the principal."}, {"content", JsonContent(RefTo("schemas", "Login"))}}}},
                         {{"400", "BadRequest"}, {"401", "Unauthorized"}, {"422", "UnprocessableContent"},
                          {"429", "TooManyRequests"}, {"503", "ServiceUnavailable"}})}};
  paths[auth + "/refresh"]["post"] = {
      {"tags", Strings({"auth"})},
      {"operationId", "auth.refresh"},
      {"summary", "Exchange a refresh token for a new token pair"},
      {"security", no_auth},
      {"requestBody",
       {{"required", true}, {"content", JsonContent(RefTo("schemas", "RefreshRequest"))}}},
      {"responses", with({{"200", {{"description", "A new pair; the refresh token sent is spent."},
                                   {"content", JsonContent(RefTo("schemas", "Tokens"))}}}},
                         {{"400", "BadRequest"}, {"401", "Unauthorized"}, {"422", "UnprocessableContent"},
                          {"429", "TooManyRequests"}, {"503", "ServiceUnavailable"}})}};
  paths[auth + "/logout"]["post"] = {
      {"tags", Strings({"auth"})},
      {"operationId", "auth.logout"},
      {"summary", "End the session of the access token"},
      {"responses", with({{"204", {{"description", "Signed out; the session's tokens no longer work."}}}},
                         {{"401", "Unauthorized"}, {"429", "TooManyRequests"}, {"503", "ServiceUnavailable"}})}};
  paths[auth + "/me"]["get"] = {
      {"tags", Strings({"auth"})},
      {"operationId", "auth.me"},
      {"summary", "Who the credentials stand for"},
      {"responses", with({{"200", {{"description", "The principal."}, {"content", JsonContent(RefTo("schemas", "Principal"))}}}},
                         {{"401", "Unauthorized"}, {"429", "TooManyRequests"}})}};

  paths["/health/live"]["get"] = {
      {"tags", Strings({"health"})},
      {"operationId", "health.live"},
      {"summary", "The process is up"},
      {"security", no_auth},
      {"responses", {{"200", {{"description", "Up."}, {"content", JsonContent(RefTo("schemas", "Live"))}}}}}};
  paths["/health/ready"]["get"] = {
      {"tags", Strings({"health"})},
      {"operationId", "health.ready"},
      {"summary", "The database is reachable and the migrations are at head"},
      {"security", no_auth},
      {"responses", with({{"200", {{"description", "Ready."}, {"content", JsonContent(RefTo("schemas", "Ready"))}}}},
                         {{"503", "ServiceUnavailable"}})}};
  const std::string sys = std::string(kApiPrefix) + "/system/health";
  paths[sys + "/database"]["get"] = {
      {"tags", Strings({"health"})},
      {"operationId", "health.database"},
      {"summary", "The database: type, redacted URL, connection and latency"},
      {"security", no_auth},
      {"responses", {{"200", {{"description", "Connected."}, {"content", JsonContent(RefTo("schemas", "DatabaseHealth"))}}},
                     {"503", {{"description", "Not connected (same body, status unhealthy)."},
                              {"content", JsonContent(RefTo("schemas", "DatabaseHealth"))}}}}}};
  paths[sys + "/comprehensive"]["get"] = {
      {"tags", Strings({"health"})},
      {"operationId", "health.comprehensive"},
      {"summary", "Every component: backend, database, pools, migrations"},
      {"security", no_auth},
      {"responses", {{"200", {{"description", "Every component and its status."},
                              {"content", JsonContent(RefTo("schemas", "ComprehensiveHealth"))}}},
                     {"503", {{"description", "A component is unhealthy (same body)."},
                              {"content", JsonContent(RefTo("schemas", "ComprehensiveHealth"))}}}}}};
  paths["/metrics"]["get"] = {
      {"tags", Strings({"health"})},
      {"operationId", "metrics"},
      {"summary", "Prometheus metrics"},
      {"security", no_auth},
      {"responses", {{"200", {{"description", "Requests by route and status, latency histograms, pools, database "
                                               "round trips, audit and rate-limit counters."},
                              {"content", {{"text/plain; version=0.0.4", {{"schema", {{"type", "string"}}}}}}}}}}}};
  paths["/openapi.json"]["get"] = {
      {"tags", Strings({"documentation"})},
      {"operationId", "openapi"},
      {"summary", "This document"},
      {"security", no_auth},
      {"responses", {{"200", {{"description", "OpenAPI 3.1."},
                              {"content", {{std::string(kJsonContentType), {{"schema", {{"type", "object"}}}}}}}}}}}};
  paths["/docs"]["get"] = {
      {"tags", Strings({"documentation"})},
      {"operationId", "docs"},
      {"summary", "A browsable reference of this document"},
      {"security", no_auth},
      {"responses", {{"200", {{"description", "HTML."},
                              {"content", {{"text/html", {{"schema", {{"type", "string"}}}}}}}}}}}};
}

J Parameters(const QueryLimits& l) {
  J p = J::object();
  p["limit"] = {{"name", "limit"},
                {"in", "query"},
                {"required", false},
                {"description", "Rows per page (default " + std::to_string(l.default_limit) + ")."},
                {"schema", {{"type", "integer"}, {"minimum", 1}, {"maximum", l.max_limit}, {"default", l.default_limit}}},
                {"example", 20}};
  p["offset"] = {{"name", "offset"},
                 {"in", "query"},
                 {"required", false},
                 {"description", "Rows to skip (at most " + std::to_string(l.max_offset) +
                                 "); for deep pages use after=. Cannot be combined with after."},
                 {"schema", {{"type", "integer"}, {"minimum", 0}, {"maximum", l.max_offset}, {"default", 0}}}};
  p["after"] = {{"name", "after"},
                {"in", "query"},
                {"required", false},
                {"description", "Keyset cursor: the next_cursor of the previous page, unchanged. Keep the same "
                                "filters and order."},
                {"schema", {{"type", "string"}, {"maxLength", static_cast<int64_t>(l.max_cursor_length)}}}};
  p["PreferList"] = {{"name", "Prefer"},
                     {"in", "header"},
                     {"required", false},
                     {"description", "`count=exact`: count every matching row (Content-Range total and \"total\")."},
                     {"schema", {{"type", "string"}}},
                     {"example", "count=exact"}};
  p["PreferWrite"] = {{"name", "Prefer"},
                      {"in", "header"},
                      {"required", false},
                      {"description", "`return=minimal` (no body) or `return=representation` (default: the row); on "
                                      "POST also `resolution=merge-duplicates` (upsert on the primary key)."},
                      {"schema", {{"type", "string"}}},
                      {"example", "return=representation"}};
  return p;
}

J Headers() {
  return {{"ContentRange",
           {{"description", "Rows of the page and, with Prefer: count=exact, the total: 0-19/1000, 0-19/*, */0."},
            {"schema", {{"type", "string"}}}}},
          {"RetryAfter", {{"description", "Seconds to wait before retrying."}, {"schema", {{"type", "integer"}}}}},
          {"WWWAuthenticate", {{"description", "Bearer realm=\"plinth\""}, {"schema", {{"type", "string"}}}}}};
}

}  // namespace

std::string OpenApiDocument(const schema::Schema& s, const OpenApiOptions& o) {
  J doc = J::object();
  doc["openapi"] = "3.1.0";
  doc["info"] = {{"title", Title(s, o)},
                 {"version", o.version},
                 {"description", "Generated by plinth from the schema of `" + s.app.name +
                                 "`. Lists follow PostgREST's conventions (filters col=op.value, or=(…), order, "
                                 "limit/offset, keyset after=, select). Errors are RFC 9457 problem+json with an "
                                 "`errors` array naming each parameter or field. bigint values are JSON numbers: "
                                 "beyond 2^53 JavaScript loses precision. decimals are strings."}};
  doc["servers"] = J::array({{{"url", o.server_url}}});
  doc["security"] = J::array({{{"bearerAuth", J::array()}}});
  J tags = J::array();
  J paths = J::object();
  J schemas = J::object();
  for (const Table& t : s.tables) {
    if (!TableExposed(t)) continue;
    std::string desc = t.comment.empty() ? "The " + t.name + " table." : t.comment;
    if (t.api == schema::Access::kReadOnly) desc += " Read-only through the API.";
    if (t.options.append_only) desc += " Append-only: rows are never changed or deleted.";
    tags.push_back({{"name", t.name}, {"description", desc}});
    AddTablePaths(TableDoc{s, t, o}, paths, schemas);
  }
  tags.push_back({{"name", "auth"}, {"description", "Sign in, refresh, sign out, who am I."}});
  tags.push_back({{"name", "health"}, {"description", "Liveness, readiness, database and component health, metrics."}});
  tags.push_back({{"name", "documentation"}, {"description", "This document and its HTML rendering."}});
  AddFixedPaths(paths);
  AddFixedSchemas(schemas);
  doc["tags"] = tags;
  doc["paths"] = paths;
  doc["components"] = {{"schemas", schemas},
                       {"parameters", Parameters(o.limits)},
                       {"headers", Headers()},
                       {"responses", Responses()},
                       {"securitySchemes",
                        {{"bearerAuth",
                          {{"type", "http"},
                           {"scheme", "bearer"},
                           {"description", "An API key or an access token from /api/v1/auth/login: "
                                           "`Authorization: Bearer <key or token>`."}}}}}};
  return doc.dump(1);
}

}  // namespace plinth::rest
