// Pass 3: the services together: every `after` names a service, the `after` graph has no
// cycle, and no listen socket belongs to two services.
#include "supervisor/config_loader.h"

namespace superd::config_internal {
namespace {

// The `after` graph: for each service, the services it waits for and the TOML node of
// each of those `after` entries.
struct Edge {
  size_t to;
  const toml::node* node;
};

std::vector<std::vector<Edge>> after_graph(const std::vector<Draft>& drafts) {
  std::map<std::string_view, size_t> index;
  for (size_t i = 0; i < drafts.size(); ++i) index.emplace(drafts[i].cfg.name, i);
  std::vector<std::vector<Edge>> edges(drafts.size());
  for (size_t i = 0; i < drafts.size(); ++i) {
    const auto& d = drafts[i];
    for (size_t j = 0; j < d.cfg.after.size(); ++j) {
      auto it = index.find(d.cfg.after[j]);
      if (it != index.end()) edges[i].push_back({it->second, d.after_nodes[j]});
    }
  }
  return edges;
}

// Depth-first search without recursion (a fuzzer can chain thousands of services).
// Calls found(path) with the services of each cycle, one per back edge, in path order.
template <typename Found>
void find_cycles(const std::vector<std::vector<Edge>>& edges, Found found) {
  enum class Color { white, grey, black };
  std::vector<Color> color(edges.size(), Color::white);
  std::vector<size_t> depth(edges.size(), 0);  // place on the current path, while grey
  std::vector<size_t> path;
  std::vector<size_t> next_edge;
  for (size_t root = 0; root < edges.size(); ++root) {
    if (color[root] != Color::white) continue;
    color[root] = Color::grey;
    path.assign(1, root);
    next_edge.assign(1, 0);
    while (!path.empty()) {
      size_t v = path.back();
      if (next_edge.back() == edges[v].size()) {
        color[v] = Color::black;
        path.pop_back();
        next_edge.pop_back();
        continue;
      }
      size_t w = edges[v][next_edge.back()++].to;
      if (color[w] == Color::white) {
        color[w] = Color::grey;
        depth[w] = path.size();
        path.push_back(w);
        next_edge.push_back(0);
      } else if (color[w] == Color::grey) {
        found(std::vector<size_t>(path.begin() + static_cast<std::ptrdiff_t>(depth[w]), path.end()));
      }
    }
  }
}

}  // namespace

void Loader::check_after(const std::vector<Draft>& drafts) {
  std::vector<std::string> names;
  for (const auto& d : drafts) names.push_back(d.cfg.name);
  std::set<std::string, std::less<>> known(names.begin(), names.end());
  for (const auto& d : drafts) {
    for (size_t i = 0; i < d.cfg.after.size(); ++i) {
      const std::string& dep = d.cfg.after[i];
      if (!known.count(dep)) {
        errors_.at(*d.after_nodes[i], "unknown service " + quoted(dep) + " in 'after'" + suggestion(dep, names));
      }
    }
  }
}

// Every back edge closes one cycle; it is reported from the service that comes first in
// the file, at its `after` entry that continues the cycle.
void Loader::check_cycles(const std::vector<Draft>& drafts) {
  const std::vector<std::vector<Edge>> edges = after_graph(drafts);
  find_cycles(edges, [&](std::vector<size_t> cycle) {
    auto first = std::min_element(cycle.begin(), cycle.end());
    std::rotate(cycle.begin(), first, cycle.end());
    std::string message = "dependency cycle:";
    for (size_t s : cycle) message += " " + drafts[s].cfg.name + " ->";
    message += " " + drafts[cycle.front()].cfg.name;
    size_t second = cycle.size() > 1 ? cycle[1] : cycle[0];
    for (const Edge& e : edges[cycle.front()]) {
      if (e.to == second) {
        errors_.at(*e.node, message);
        return;
      }
    }
  });
}

// Two services cannot both own one listening socket. Compared by the socket bound
// (numeric address, port), so "tcp:[::1]:80" and "tcp:[0::1]:80" are one socket; the
// message shows the entry as written.
void Loader::check_listen_conflicts(const std::vector<Draft>& drafts) {
  std::map<std::string, std::string, std::less<>> owner;
  for (const auto& d : drafts) {
    for (size_t i = 0; i < d.cfg.listen.size(); ++i) {
      auto [it, inserted] = owner.emplace(d.cfg.listen[i].socket_key(), d.cfg.name);
      if (!inserted) {
        const std::string written = d.listen_nodes[i]->value_or(std::string());
        errors_.at(*d.listen_nodes[i], quoted(written) + " is already in 'listen' of service " + quoted(it->second));
      }
    }
  }
}

}  // namespace superd::config_internal
