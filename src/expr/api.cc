// The entry points the schema loader and the migration renderer use.
#include <algorithm>

#include "expr/syntax.h"
#include "plinth/expr.h"

namespace plinth::expr {

Result<std::string> CanonicalizeChecked(std::string_view text, const ParseOptions& opts,
                                        const schema::Schema& schema, const schema::Table& table,
                                        Context ctx, Diagnostics& diags) {
  size_t first = diags.items().size();
  PLINTH_ASSIGN_OR_RETURN(Node node, Parse(text, opts, diags));
  if (!Check(node, schema, table, ctx, opts.file, diags)) return ErrorsSince(diags, first, "invalid expression");
  return Canonical(node);
}

Result<Node> ParseStored(std::string_view canonical_text, const schema::Schema& schema,
                         const schema::Table& table, Context ctx) {
  // Positions are counted from 1:1 of the stored text itself.
  Diagnostics diags;
  ParseOptions opts;
  opts.origin = {1, 1};
  std::string what = "stored expression '" + std::string(canonical_text) + "' of table '" + table.name + "'";
  auto node = Parse(canonical_text, opts, diags);
  if (!node.ok()) return ErrorsSince(diags, 0, what + " does not parse");
  if (!Check(*node, schema, table, ctx, opts.file, diags)) {
    return ErrorsSince(diags, 0, what + " does not fit the schema");
  }
  return std::move(node).value();
}

std::vector<std::string> ReferencedColumns(const Node& node) {
  std::vector<std::string> out;
  std::vector<const Node*> stack{&node};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (n->kind == NodeKind::kColumn && n->scope == 0 &&
        std::find(out.begin(), out.end(), n->text) == out.end()) {
      out.push_back(n->text);
    }
    // Children in reverse so that columns come out in the order they are written.
    for (auto it = n->children.rbegin(); it != n->children.rend(); ++it) stack.push_back(&*it);
  }
  return out;
}

}  // namespace plinth::expr
