// tests/http/prom_parser.h — a small parser of the Prometheus text format 0.0.4, strict enough to
// catch malformed output: every sample belongs to a family announced by # TYPE, label values are
// properly quoted and escaped, values parse as numbers, histogram buckets are cumulative and end
// with le="+Inf" equal to _count.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace plinth::http::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromText {
  std::map<std::string, std::string> types;  // family → counter|gauge|histogram
  std::map<std::string, std::string> help;   // family → help (unescaped)
  std::vector<PromSample> samples;

  // The value of the sample with exactly these labels; nullopt when absent.
  std::optional<double> Value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nullopt;
  }
  // Sum over samples of `name` whose labels include `match`.
  double Sum(const std::string& name, const std::map<std::string, std::string>& match = {}) const {
    double total = 0;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool ok = true;
      for (const auto& [k, v] : match) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) ok = false;
      }
      if (ok) total += s.value;
    }
    return total;
  }
};

// Parses `text`; on failure returns nullopt and sets `error` to the line and the reason.
inline std::optional<PromText> ParseProm(const std::string& text, std::string& error) {
  PromText out;
  size_t pos = 0;
  int lineno = 0;
  auto fail = [&](const std::string& line, const std::string& why) {
    error = "line " + std::to_string(lineno) + " (" + line + "): " + why;
    return std::nullopt;
  };
  auto is_name_char = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
  };
  auto family_of = [&](const std::string& name) -> std::string {
    if (out.types.count(name)) return name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
        std::string base = name.substr(0, name.size() - s.size());
        auto it = out.types.find(base);
        if (it != out.types.end() && it->second == "histogram") return base;
      }
    }
    return {};
  };
  if (!text.empty() && text.back() != '\n') {
    error = "the text does not end with a newline";
    return std::nullopt;
  }
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        bool help = line[2] == 'H';
        std::string rest = line.substr(7);
        size_t sp = rest.find(' ');
        if (sp == std::string::npos) return fail(line, "no text after the name");
        std::string name = rest.substr(0, sp);
        std::string val = rest.substr(sp + 1);
        if (help) {
          std::string unescaped;
          for (size_t i = 0; i < val.size(); ++i) {
            if (val[i] == '\\') {
              if (i + 1 >= val.size()) return fail(line, "dangling backslash in HELP");
              char n = val[++i];
              if (n == 'n') unescaped += '\n';
              else if (n == '\\') unescaped += '\\';
              else return fail(line, "bad escape in HELP");
            } else {
              unescaped += val[i];
            }
          }
          out.help[name] = unescaped;
        } else {
          if (val != "counter" && val != "gauge" && val != "histogram" && val != "summary" &&
              val != "untyped") {
            return fail(line, "unknown type");
          }
          if (out.types.count(name)) return fail(line, "TYPE given twice");
          out.types[name] = val;
        }
      }
      continue;
    }
    PromSample s;
    size_t i = 0;
    while (i < line.size() && is_name_char(line[i], i == 0)) ++i;
    if (i == 0) return fail(line, "no metric name");
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t start = i;
        while (i < line.size() && is_name_char(line[i], i == start) && line[i] != ':') ++i;
        std::string lname = line.substr(start, i - start);
        if (lname.empty() || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
          return fail(line, "bad label");
        }
        i += 2;
        std::string lval;
        bool closed = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '\\') {
            if (i >= line.size()) return fail(line, "dangling backslash");
            char n = line[i++];
            if (n == 'n') lval += '\n';
            else if (n == '\\') lval += '\\';
            else if (n == '"') lval += '"';
            else return fail(line, "bad escape in label value");
          } else if (c == '"') {
            closed = true;
            break;
          } else if (c == '\n') {
            return fail(line, "newline in label value");
          } else {
            lval += c;
          }
        }
        if (!closed) return fail(line, "unterminated label value");
        if (s.labels.count(lname)) return fail(line, "label given twice");
        s.labels[lname] = lval;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return fail(line, "unterminated label set");
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return fail(line, "no space before the value");
    std::string v = line.substr(i + 1);
    if (v.find(' ') != std::string::npos) v = v.substr(0, v.find(' '));  // optional timestamp
    if (v == "+Inf") s.value = INFINITY;
    else if (v == "-Inf") s.value = -INFINITY;
    else if (v == "NaN") s.value = NAN;
    else {
      char* end = nullptr;
      s.value = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0') return fail(line, "value is not a number");
    }
    if (family_of(s.name).empty()) return fail(line, "sample without a # TYPE for its family");
    out.samples.push_back(std::move(s));
  }
  // Histograms: cumulative buckets, +Inf == _count.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> series;
    std::map<std::map<std::string, std::string>, double> counts;
    for (const auto& s : out.samples) {
      if (s.name == family + "_bucket") {
        auto labels = s.labels;
        auto le = labels.find("le");
        if (le == labels.end()) {
          error = family + ": bucket without le";
          return std::nullopt;
        }
        double bound = le->second == "+Inf" ? INFINITY : std::strtod(le->second.c_str(), nullptr);
        labels.erase(le);
        series[labels].emplace_back(bound, s.value);
      } else if (s.name == family + "_count") {
        counts[s.labels] = s.value;
      }
    }
    for (const auto& [labels, buckets] : series) {
      for (size_t i = 1; i < buckets.size(); ++i) {
        if (!(buckets[i].first > buckets[i - 1].first) || buckets[i].second < buckets[i - 1].second) {
          error = family + ": buckets not increasing/cumulative";
          return std::nullopt;
        }
      }
      if (buckets.empty() || !std::isinf(buckets.back().first)) {
        error = family + ": no +Inf bucket";
        return std::nullopt;
      }
      auto c = counts.find(labels);
      if (c == counts.end() || c->second != buckets.back().second) {
        error = family + ": _count differs from the +Inf bucket";
        return std::nullopt;
      }
    }
  }
  return out;
}

}  // namespace plinth::http::testing
