// db/stmt_cache.h — a least-recently-used map from statement text to a per-connection
// prepared statement (internal). Used by the PostgreSQL connection (statement names) and the
// SQLite connections (sqlite3_stmt handles).
//
// Thread-safety: one cache per connection, used by whoever drives that connection.
#pragma once

#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace plinth::db::detail {

template <typename V>
class StatementCache {
 public:
  explicit StatementCache(size_t capacity) : capacity_(capacity) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  size_t capacity() const { return capacity_; }
  size_t size() const { return index_.size(); }

  // The entry for `sql`, marked most recently used; null when absent.
  V* Find(std::string_view sql) {
    auto it = index_.find(sql);
    if (it == index_.end()) return nullptr;
    if (it->second != order_.begin()) order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  // Inserts `sql` (absent) as most recently used. When the cache is over capacity, the least
  // recently used entry is removed and returned so that the caller can release it.
  std::pair<V*, std::optional<V>> Insert(std::string sql, V value) {
    order_.emplace_front(std::move(sql), std::move(value));
    index_.emplace(std::string_view(order_.front().first), order_.begin());
    std::optional<V> evicted;
    if (index_.size() > capacity_) {
      auto last = std::prev(order_.end());
      evicted.emplace(std::move(last->second));
      index_.erase(std::string_view(last->first));
      order_.erase(last);
    }
    return {&order_.front().second, std::move(evicted)};
  }

  // Removes `sql`; returns its value when it was present.
  std::optional<V> Erase(std::string_view sql) {
    auto it = index_.find(sql);
    if (it == index_.end()) return std::nullopt;
    std::optional<V> out(std::move(it->second->second));
    auto node = it->second;
    index_.erase(it);
    order_.erase(node);
    return out;
  }

  // Every value, most recent first (for finalisation).
  template <typename F>
  void ForEach(F&& f) {
    for (auto& [sql, v] : order_) f(v);
  }

 private:
  size_t capacity_;
  std::list<std::pair<std::string, V>> order_;
  std::unordered_map<std::string_view, typename std::list<std::pair<std::string, V>>::iterator> index_;
};

}  // namespace plinth::db::detail
