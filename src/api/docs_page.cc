// The /docs page: a self-contained HTML reference rendered on the server from the OpenAPI
// document (no external scripts, styles or fonts; a few lines of inline JavaScript filter the
// operations).
#include <nlohmann/json.hpp>

#include <algorithm>

#include "plinth/rest.h"

namespace plinth::rest {

namespace {

using J = nlohmann::ordered_json;

// Schema nesting followed when describing a type (the document's own schemas are shallow).
constexpr int kMaxTypeDepth = 6;

void Escape(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c; break;
    }
  }
}

std::string Esc(std::string_view s) {
  std::string out;
  Escape(out, s);
  return out;
}

// Escaped text with `code` spans.
std::string Prose(std::string_view s) {
  std::string out;
  bool in_code = false;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '`') {
      Escape(out, s.substr(start, i - start));
      if (i < s.size()) {
        // An unmatched backtick stays literal.
        if (!in_code && s.find('`', i + 1) == std::string_view::npos) {
          out += '`';
        } else {
          out += in_code ? "</code>" : "<code>";
          in_code = !in_code;
        }
      }
      start = i + 1;
    }
  }
  if (in_code) out += "</code>";
  return out;
}

std::string Str(const J& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Anchor(std::string_view prefix, std::string_view name) {
  std::string out(prefix);
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    out += ok ? c : '-';
  }
  return out;
}

std::string RefName(const std::string& ref) {
  size_t slash = ref.rfind('/');
  return slash == std::string::npos ? ref : ref.substr(slash + 1);
}

// A short description of a schema: "string (uuid)", "integer 1..1000", link to a component.
std::string TypeOf(const J& schema, int depth = 0) {
  if (!schema.is_object()) return "any";
  if (depth > kMaxTypeDepth) return "…";
  std::string ref = Str(schema, "$ref");
  if (!ref.empty()) {
    std::string name = RefName(ref);
    return "<a href=\"#" + Anchor("schema-", name) + "\">" + Esc(name) + "</a>";
  }
  std::string out;
  auto type = schema.find("type");
  if (type != schema.end()) {
    if (type->is_string()) {
      out = Esc(type->get<std::string>());
    } else if (type->is_array()) {
      for (const J& t : *type) {
        if (!t.is_string()) continue;
        if (!out.empty()) out += " | ";
        out += Esc(t.get<std::string>());
      }
    }
  }
  if (out.empty()) out = "any";
  if (out == "array" && schema.contains("items")) out = "array of " + TypeOf(schema["items"], depth + 1);
  std::vector<std::string> notes;
  if (std::string f = Str(schema, "format"); !f.empty()) notes.push_back(Esc(f));
  if (std::string e = Str(schema, "contentEncoding"); !e.empty()) notes.push_back(Esc(e));
  if (schema.contains("maxLength")) notes.push_back("≤ " + schema["maxLength"].dump() + " chars");
  if (schema.contains("minimum") && schema.contains("maximum")) {
    notes.push_back(schema["minimum"].dump() + ".." + schema["maximum"].dump());
  }
  if (schema.contains("enum") && schema["enum"].is_array()) {
    std::string values;
    for (const J& v : schema["enum"]) {
      if (!values.empty()) values += ", ";
      values += Esc(v.is_string() ? v.get<std::string>() : v.dump());
    }
    notes.push_back("one of: " + values);
  }
  if (schema.contains("const")) notes.push_back("= " + Esc(schema["const"].dump()));
  if (!notes.empty()) {
    out += " <span class=\"note\">(";
    for (size_t i = 0; i < notes.size(); ++i) out += (i ? "; " : "") + notes[i];
    out += ")</span>";
  }
  return out;
}

void PropertiesTable(std::string& out, const J& schema) {
  if (!schema.is_object() || !schema.contains("properties") || !schema["properties"].is_object()) return;
  std::vector<std::string> required;
  if (schema.contains("required") && schema["required"].is_array()) {
    for (const J& r : schema["required"]) {
      if (r.is_string()) required.push_back(r.get<std::string>());
    }
  }
  out += "<table><tr><th>field</th><th>type</th><th>description</th></tr>";
  for (auto it = schema["properties"].begin(); it != schema["properties"].end(); ++it) {
    const J& p = it.value();
    bool req = std::find(required.begin(), required.end(), it.key()) != required.end();
    out += "<tr><td><code>" + Esc(it.key()) + "</code>";
    if (req) out += " <span class=\"req\">required</span>";
    if (p.is_object() && p.value("writeOnly", false)) out += " <span class=\"note\">write-only</span>";
    out += "</td><td>" + TypeOf(p) + "</td><td>" + Prose(Str(p, "description"));
    if (p.is_object() && p.contains("default")) out += " <span class=\"note\">default " + Esc(p["default"].dump()) + "</span>";
    out += "</td></tr>";
  }
  out += "</table>";
}

// Resolves "#/components/<kind>/<name>" within the document; the object itself otherwise.
const J& Resolve(const J& doc, const J& maybe_ref) {
  static const J kEmpty = J::object();
  std::string ref = Str(maybe_ref, "$ref");
  if (ref.empty()) return maybe_ref;
  constexpr std::string_view kPrefix = "#/components/";
  if (ref.rfind(kPrefix, 0) != 0) return kEmpty;
  std::string rest = ref.substr(kPrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string::npos) return kEmpty;
  std::string kind = rest.substr(0, slash), name = rest.substr(slash + 1);
  if (!doc.contains("components") || !doc["components"].contains(kind) || !doc["components"][kind].contains(name)) {
    return kEmpty;
  }
  return doc["components"][kind][name];
}

void Operation(std::string& out, const J& doc, const std::string& path, const std::string& method, const J& op,
               const J& path_params) {
  std::string id = Anchor("op-", Str(op, "operationId").empty() ? method + path : Str(op, "operationId"));
  out += "<section class=\"op\" id=\"" + id + "\" data-search=\"" + Esc(method + " " + path + " " + Str(op, "summary")) +
         "\"><h3><span class=\"method " + Esc(method) + "\">" + Esc(method) + "</span> <code>" + Esc(path) +
         "</code></h3>";
  if (std::string s = Str(op, "summary"); !s.empty()) out += "<p class=\"summary\">" + Prose(s) + "</p>";
  if (std::string d = Str(op, "description"); !d.empty()) out += "<p>" + Prose(d) + "</p>";
  if (op.contains("security") && op["security"].is_array() && op["security"].empty()) {
    out += "<p class=\"note\">No credentials needed.</p>";
  }
  std::vector<const J*> params;
  if (path_params.is_array()) {
    for (const J& p : path_params) params.push_back(&Resolve(doc, p));
  }
  if (op.contains("parameters") && op["parameters"].is_array()) {
    for (const J& p : op["parameters"]) params.push_back(&Resolve(doc, p));
  }
  if (!params.empty()) {
    out += "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>description</th><th>example</th></tr>";
    for (const J* p : params) {
      out += "<tr><td><code>" + Esc(Str(*p, "name")) + "</code>";
      if (p->value("required", false)) out += " <span class=\"req\">required</span>";
      out += "</td><td>" + Esc(Str(*p, "in")) + "</td><td>" + TypeOf(p->value("schema", J::object())) + "</td><td>" +
             Prose(Str(*p, "description")) + "</td><td>";
      if (p->contains("example")) {
        const J& e = (*p)["example"];
        out += "<code>" + Esc(e.is_string() ? e.get<std::string>() : e.dump()) + "</code>";
      }
      out += "</td></tr>";
    }
    out += "</table>";
  }
  if (op.contains("requestBody")) {
    const J& body = Resolve(doc, op["requestBody"]);
    if (body.contains("content") && body["content"].is_object()) {
      for (auto it = body["content"].begin(); it != body["content"].end(); ++it) {
        out += "<h4>Request body <span class=\"note\">" + Esc(it.key()) + "</span></h4>";
        const J& media = it.value();
        if (media.contains("schema")) {
          out += "<p>" + TypeOf(media["schema"]) + "</p>";
          PropertiesTable(out, Resolve(doc, media["schema"]));
        }
        if (media.contains("examples") && media["examples"].is_object()) {
          for (auto ex = media["examples"].begin(); ex != media["examples"].end(); ++ex) {
            out += "<p class=\"note\">Example: " + Esc(Str(ex.value(), "summary")) + "</p><pre>" +
                   Esc(ex.value().value("value", J()).dump(2)) + "</pre>";
          }
        }
      }
    }
  }
  if (op.contains("responses") && op["responses"].is_object()) {
    out += "<h4>Responses</h4><table><tr><th>status</th><th>description</th><th>body</th></tr>";
    for (auto it = op["responses"].begin(); it != op["responses"].end(); ++it) {
      const J& r = Resolve(doc, it.value());
      std::string body;
      if (r.contains("content") && r["content"].is_object()) {
        for (auto c = r["content"].begin(); c != r["content"].end(); ++c) {
          if (!body.empty()) body += "<br>";
          body += "<span class=\"note\">" + Esc(c.key()) + "</span> " + TypeOf(c.value().value("schema", J::object()));
        }
      }
      out += "<tr><td><code>" + Esc(it.key()) + "</code></td><td>" + Prose(Str(r, "description")) + "</td><td>" + body +
             "</td></tr>";
    }
    out += "</table>";
  }
  out += "</section>";
}

constexpr std::string_view kStyle = R"css(
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d232a;background:#fff}
nav{position:fixed;top:0;bottom:0;left:0;width:290px;overflow-y:auto;background:#f4f6f8;border-right:1px solid #dde2e7;padding:14px}
nav h2{font-size:13px;text-transform:uppercase;color:#5a6572;margin:16px 0 4px}nav a{display:block;color:#1d232a;text-decoration:none;font-size:13px;padding:1px 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
nav a:hover{text-decoration:underline}#filter{width:100%;padding:6px;border:1px solid #c5ccd3;border-radius:4px}
main{margin-left:290px;padding:20px 36px;max-width:1200px}h1{margin-top:0}h2.tag{border-bottom:2px solid #dde2e7;padding-bottom:4px;margin-top:40px}
.op{border:1px solid #dde2e7;border-radius:6px;padding:4px 16px 12px;margin:16px 0}.op h3{font-size:16px}
.method{display:inline-block;min-width:58px;text-align:center;color:#fff;border-radius:3px;padding:1px 6px;font-size:12px;text-transform:uppercase}
.get{background:#2f7d32}.post{background:#1f5fa8}.patch{background:#b26a00}.delete{background:#b3261e}.put{background:#6b3fa0}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:13px}th,td{border:1px solid #dde2e7;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f6f8}code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#f4f6f8;padding:8px;border-radius:4px;overflow-x:auto}.note{color:#5a6572;font-size:12px}.req{color:#b3261e;font-size:11px}
.summary{font-weight:600}.hidden{display:none}
)css";

constexpr std::string_view kScript = R"js(
document.getElementById('filter').addEventListener('input',function(e){
  var q=e.target.value.toLowerCase();
  document.querySelectorAll('[data-search]').forEach(function(el){
    el.classList.toggle('hidden', q!=='' && el.getAttribute('data-search').toLowerCase().indexOf(q)<0);
  });
});
)js";

}  // namespace

Result<std::string> DocsPage(std::string_view openapi_json) {
  J doc = J::parse(openapi_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status(Code::kInvalidArgument, "the OpenAPI document is not a JSON object");
  }
  const J info = doc.value("info", J::object());
  const std::string title = Str(info, "title").empty() ? "API" : Str(info, "title");
  const J paths = doc.value("paths", J::object());
  static constexpr const char* kMethods[] = {"get", "post", "put", "patch", "delete"};

  // Operations grouped by their first tag, in the order of the document's tags.
  std::vector<std::string> tag_order;
  std::vector<std::string> tag_desc;
  if (doc.contains("tags") && doc["tags"].is_array()) {
    for (const J& t : doc["tags"]) {
      tag_order.push_back(Str(t, "name"));
      tag_desc.push_back(Str(t, "description"));
    }
  }
  struct Op {
    std::string path, method, tag;
    const J* op;
    const J* path_params;
  };
  std::vector<Op> ops;
  static const J kNoParams = J::array();
  for (auto p = paths.begin(); p != paths.end(); ++p) {
    if (!p.value().is_object()) continue;
    const J* path_params = p.value().contains("parameters") ? &p.value()["parameters"] : &kNoParams;
    for (const char* m : kMethods) {
      if (!p.value().contains(m) || !p.value()[m].is_object()) continue;
      const J& op = p.value()[m];
      std::string tag = "other";
      if (op.contains("tags") && op["tags"].is_array() && !op["tags"].empty() && op["tags"][0].is_string()) {
        tag = op["tags"][0].get<std::string>();
      }
      if (std::find(tag_order.begin(), tag_order.end(), tag) == tag_order.end()) {
        tag_order.push_back(tag);
        tag_desc.emplace_back();
      }
      ops.push_back(Op{p.key(), m, tag, &op, path_params});
    }
  }

  std::string out;
  out.reserve(openapi_json.size() * 2);
  out += "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width,initial-scale=1\"><title>";
  Escape(out, title);
  out += "</title><style>";
  out += kStyle;
  out += "</style></head><body><nav><input id=\"filter\" type=\"search\" placeholder=\"Filter operations…\" "
         "aria-label=\"Filter operations\">";
  for (size_t i = 0; i < tag_order.size(); ++i) {
    out += "<h2>" + Esc(tag_order[i]) + "</h2>";
    for (const Op& o : ops) {
      if (o.tag != tag_order[i]) continue;
      std::string id = Anchor("op-", Str(*o.op, "operationId").empty() ? o.method + o.path : Str(*o.op, "operationId"));
      out += "<a href=\"#" + id + "\" data-search=\"" + Esc(o.method + " " + o.path + " " + Str(*o.op, "summary")) +
             "\"><span class=\"method " + Esc(o.method) + "\">" + Esc(o.method) + "</span> " + Esc(o.path) + "</a>";
    }
  }
  out += "<h2>schemas</h2>";
  const J schemas = doc.contains("components") ? doc["components"].value("schemas", J::object()) : J::object();
  for (auto s = schemas.begin(); s != schemas.end(); ++s) {
    out += "<a href=\"#" + Anchor("schema-", s.key()) + "\" data-search=\"" + Esc(s.key()) + "\">" + Esc(s.key()) + "</a>";
  }
  out += "</nav><main><h1>";
  Escape(out, title);
  out += " <span class=\"note\">" + Esc(Str(info, "version")) + " · OpenAPI " + Esc(Str(doc, "openapi")) +
         " · <a href=\"/openapi.json\">openapi.json</a></span></h1>";
  if (std::string d = Str(info, "description"); !d.empty()) out += "<p>" + Prose(d) + "</p>";
  if (doc.contains("components") && doc["components"].contains("securitySchemes")) {
    out += "<h2 class=\"tag\">Authentication</h2>";
    for (auto s = doc["components"]["securitySchemes"].begin(); s != doc["components"]["securitySchemes"].end(); ++s) {
      out += "<p><code>" + Esc(s.key()) + "</code>: " + Esc(Str(s.value(), "type")) + " " +
             Esc(Str(s.value(), "scheme")) + ". " + Prose(Str(s.value(), "description")) + "</p>";
    }
  }
  for (size_t i = 0; i < tag_order.size(); ++i) {
    out += "<h2 class=\"tag\" id=\"" + Anchor("tag-", tag_order[i]) + "\">" + Esc(tag_order[i]) + "</h2>";
    if (!tag_desc[i].empty()) out += "<p>" + Prose(tag_desc[i]) + "</p>";
    for (const Op& o : ops) {
      if (o.tag == tag_order[i]) Operation(out, doc, o.path, o.method, *o.op, *o.path_params);
    }
  }
  out += "<h2 class=\"tag\">Schemas</h2>";
  for (auto s = schemas.begin(); s != schemas.end(); ++s) {
    out += "<section class=\"op\" id=\"" + Anchor("schema-", s.key()) + "\" data-search=\"" + Esc(s.key()) +
           "\"><h3><code>" + Esc(s.key()) + "</code></h3>";
    if (std::string d = Str(s.value(), "description"); !d.empty()) out += "<p>" + Prose(d) + "</p>";
    out += "<p>" + TypeOf(s.value()) + "</p>";
    PropertiesTable(out, s.value());
    out += "</section>";
  }
  out += "</main><script>";
  out += kScript;
  out += "</script></body></html>";
  return out;
}

}  // namespace plinth::rest
