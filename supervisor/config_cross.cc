// Pass 3: the services together, instances as services of their own: every `after` names
// a service (or instances), the `after` graph has no cycle, and no listen socket belongs
// to two services.
#include "supervisor/config_instances.h"
#include "supervisor/config_loader.h"

namespace superd::config_internal {
namespace {

// The `after` graph: for each service, the services it waits for and the TOML node of
// each of those `after` entries.
struct Edge {
  size_t to;
  const toml::node* node;
};

// A template's name in `after` is an edge to each of its instances; an instance after
// its own service is reported by check_after, not as a cycle per pair of instances.
std::vector<std::vector<Edge>> after_graph(const std::vector<Draft>& drafts) {
  std::map<std::string_view, std::vector<size_t>> index;
  for (size_t i = 0; i < drafts.size(); ++i) {
    index[drafts[i].cfg.name].push_back(i);
    if (!drafts[i].cfg.template_name.empty()) index[drafts[i].cfg.template_name].push_back(i);
  }
  std::vector<std::vector<Edge>> edges(drafts.size());
  for (size_t i = 0; i < drafts.size(); ++i) {
    const auto& d = drafts[i];
    for (size_t j = 0; j < d.cfg.after.size(); ++j) {
      auto it = index.find(d.cfg.after[j]);
      if (it == index.end()) continue;
      for (size_t to : it->second) {
        const std::string& family = drafts[to].cfg.template_name;
        if (!family.empty() && family == d.cfg.template_name) continue;
        edges[i].push_back({to, d.after_nodes[j]});
      }
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

// Each entry names a service, a service with `instances` (all of them) or one instance
// (NAME@K, K below the count in the file).
void Loader::check_after(const std::vector<Draft>& drafts) {
  std::vector<std::string> names;
  for (const auto& d : drafts) names.push_back(d.cfg.name);
  for (const auto& t : config_.templates) names.push_back(t.name);
  std::set<std::string, std::less<>> known(names.begin(), names.end());
  for (const auto& d : drafts) {
    for (size_t i = 0; i < d.cfg.after.size(); ++i) {
      const std::string& dep = d.cfg.after[i];
      const std::string family = dep.substr(0, dep.find('@'));
      const ServiceTemplate* t = config_.find_template(family);
      if (!d.cfg.template_name.empty() && family == d.cfg.template_name) {
        errors_.at(*d.after_nodes[i], "service " + quoted(family) + " is 'after' itself: its instances would wait "
                                                                    "for each other");
      } else if (known.count(dep)) {
        continue;
      } else if (t && dep.size() > family.size()) {
        const std::string range = t->instances == 0 ? "the file gives it none"
                                  : "the file gives it " + family + "@0 to " + instance_name(family, t->instances - 1);
        errors_.at(*d.after_nodes[i], quoted(dep) + " in 'after' is not an instance of " + quoted(family) + " (" +
                                          range + ")");
      } else {
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
  std::map<std::string, const ServiceConfig*, std::less<>> owner;
  for (const auto& d : drafts) {
    for (size_t i = 0; i < d.cfg.listen.size(); ++i) {
      auto [it, inserted] = owner.emplace(d.cfg.listen[i].socket_key(), &d.cfg);
      // Two instances of one template: an entry without {instance}, reported as such.
      const std::string& family = it->second->template_name;
      if (!inserted && !family.empty() && family == d.cfg.template_name) continue;
      if (!inserted) {
        const std::string written = d.listen_nodes[i]->value_or(std::string());
        errors_.at(*d.listen_nodes[i], quoted(written) + " is already in 'listen' of service " +
                                           quoted(it->second->name));
      }
    }
  }
}

}  // namespace superd::config_internal
