// The Emitter, parameter binding and the template cache (see statements.h).
#include "data/statements.h"

#include <cstdio>

namespace plinth::data::internal {

using schema::TypeKind;

void Emitter::Begin() {
  if (started_) {
    done_.push_back(std::move(current_));
    current_ = Template();
  }
  started_ = true;
  claim_slots_.clear();
  values_.emplace_back();
}

void Emitter::ColumnValue(const ColInfo& c, db::Params::value_type v) {
  values_.back().push_back(std::move(v));
  if (!text_) return;
  current_.refs.push_back({ParamRef::Kind::kValue, static_cast<int>(values_.back().size() - 1)});
  const std::string ph = Placeholder(current_.refs.size());
  if (pg()) {
    current_.sql += ph + "::" + (c.stored_bytes ? std::string("bytea") : PgCast(*c.column));
    return;
  }
  std::string cast = c.stored_bytes ? "BLOB" : SqliteCast(*c.column);
  current_.sql += cast.empty() ? ph : "CAST(" + ph + " AS " + cast + ")";
}

void Emitter::TextValue(db::Params::value_type v) {
  values_.back().push_back(std::move(v));
  if (!text_) return;
  current_.refs.push_back({ParamRef::Kind::kValue, static_cast<int>(values_.back().size() - 1)});
  current_.sql += Placeholder(current_.refs.size()) + (pg() ? "::text" : "");
}

void Emitter::IntValue(int64_t v) {
  values_.back().push_back(std::to_string(v));
  if (!text_) return;
  current_.refs.push_back({ParamRef::Kind::kValue, static_cast<int>(values_.back().size() - 1)});
  const std::string ph = Placeholder(current_.refs.size());
  current_.sql += pg() ? ph + "::bigint" : "CAST(" + ph + " AS INTEGER)";
}

void Emitter::ClaimParam(int claim, const Policies* policies) {
  if (!text_) return;
  auto it = claim_slots_.find(claim);
  size_t slot = 0;
  if (it != claim_slots_.end()) {
    slot = it->second;
  } else {
    current_.refs.push_back({ParamRef::Kind::kClaim, claim});
    slot = current_.refs.size();
    claim_slots_[claim] = slot;
  }
  const std::string ph = Placeholder(slot);
  Claim::Kind kind = Claim::Kind::kTenant;
  if (policies != nullptr) kind = policies->claims()[static_cast<size_t>(claim)].kind;
  if (pg()) {
    current_.sql += ph + (kind == Claim::Kind::kRole ? "::text" : "::uuid");
  } else if (kind == Claim::Kind::kHasRole || kind == Claim::Kind::kHasPermission) {
    current_.sql += "CAST(" + ph + " AS INTEGER)";
  } else {
    current_.sql += ph;
  }
}

void Emitter::Pred(std::string_view marked, const Policies* policies) {
  if (!text_) return;
  size_t i = 0;
  while (i < marked.size()) {
    size_t open = marked.find(kClaimOpen, i);
    if (open == std::string_view::npos) {
      current_.sql.append(marked.substr(i));
      break;
    }
    current_.sql.append(marked.substr(i, open - i));
    size_t close = marked.find(kClaimClose, open);
    int claim = std::stoi(std::string(marked.substr(open + 1, close - open - 1)));
    ClaimParam(claim, policies);
    i = close + 1;
  }
}

std::vector<Template> Emitter::TakeTemplates() {
  if (started_) {
    done_.push_back(std::move(current_));
    current_ = Template();
    started_ = false;
  }
  return std::move(done_);
}

std::string PgCast(const schema::Column& c) {
  if (c.encrypted) return "bytea";
  switch (c.type.kind) {
    case TypeKind::kUuid: return "uuid";
    case TypeKind::kText: return "text";
    case TypeKind::kInteger: return "integer";
    case TypeKind::kBigint: return "bigint";
    case TypeKind::kBoolean: return "boolean";
    case TypeKind::kDecimal: return "numeric";
    case TypeKind::kTimestamp: return "timestamptz";
    case TypeKind::kDate: return "date";
    case TypeKind::kJson: return "jsonb";
    case TypeKind::kBytes: return "bytea";
    case TypeKind::kEnum: return db::QuoteIdent(c.type.enum_name);
  }
  return "text";
}

std::string SqliteCast(const schema::Column& c) {
  if (c.encrypted) return "BLOB";
  switch (c.type.kind) {
    case TypeKind::kInteger:
    case TypeKind::kBigint:
    case TypeKind::kBoolean: return "INTEGER";
    case TypeKind::kDecimal: return "NUMERIC";
    case TypeKind::kBytes: return "BLOB";
    default: return "";
  }
}

std::shared_ptr<const std::vector<Template>> TemplateCache::Find(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : it->second;
}

void TemplateCache::Put(const std::string& key, std::shared_ptr<const std::vector<Template>> t) {
  std::lock_guard<std::mutex> lock(mu_);
  if (map_.size() >= kMaxShapes) return;
  map_.emplace(key, std::move(t));
}

size_t TemplateCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

db::Params::value_type ClaimValue(const Claim& c, const Principal& p) {
  auto opt = [](const std::string& s) -> db::Params::value_type {
    if (s.empty()) return std::nullopt;
    return s;
  };
  switch (c.kind) {
    case Claim::Kind::kTenant: return opt(p.tenant_id);
    case Claim::Kind::kUser: return opt(p.user_id);
    case Claim::Kind::kRole: return opt(p.role);
    case Claim::Kind::kHasRole:
      for (const auto& r : p.roles) {
        if (r == c.a) return std::string("1");
      }
      return std::string("0");
    case Claim::Kind::kHasPermission: {
      const std::string want = c.a + ":" + c.b;
      for (const auto& perm : p.permissions) {
        if (perm == want) return std::string("1");
      }
      return std::string("0");
    }
  }
  return std::nullopt;
}

db::Params Bind(const Template& t, const std::vector<db::Params::value_type>& values, const Policies& policies,
                const Principal& p) {
  db::Params out;
  out.reserve(t.refs.size());
  for (const ParamRef& r : t.refs) {
    if (r.kind == ParamRef::Kind::kValue) {
      out.push_back(values[static_cast<size_t>(r.index)]);
    } else {
      out.push_back(ClaimValue(policies.claims()[static_cast<size_t>(r.index)], p));
    }
  }
  return out;
}

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (ch < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", ch);
          out += buf;
        } else {
          out.push_back(static_cast<char>(ch));
        }
    }
  }
  return out + "\"";
}

std::string LikeToGlob(std::string_view pattern) {
  std::string out;
  auto literal = [&](char c) {
    if (c == '*') out += "[*]";
    else if (c == '?') out += "[?]";
    else if (c == '[') out += "[[]";
    else out.push_back(c);
  };
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      literal(pattern[++i]);
    } else if (c == '%') {
      out.push_back('*');
    } else if (c == '_') {
      out.push_back('?');
    } else {
      literal(c);
    }
  }
  return out;
}

}  // namespace plinth::data::internal
