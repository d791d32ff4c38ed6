#include "proc/cgroup_tree.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "proc/cgroup_file.h"

namespace superd {
namespace {

constexpr std::string_view kSupervisorLeaf = "supervisor";
constexpr std::string_view kSwapSuffix = "~swap";

// Prefixes of kernel attribute files ("memory.max"), v1 and v2.
constexpr std::string_view kAttributePrefixes[] = {
    "cgroup", "cpu", "cpuacct", "cpuset", "memory", "pids", "io", "blkio", "devices",
    "freezer", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc"};

bool make_dir(const std::string& dir, std::string* error) {
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return true;
  *error = "cgroup: mkdir " + dir + ": " + std::strerror(errno);
  return false;
}

std::string last_component(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

}  // namespace

const std::string* CgroupLeaf::v1_dir(std::string_view controller) const {
  for (const auto& v : v1) {
    if (v.controller == controller) return &v.own_dir;
  }
  return nullptr;
}

std::string cgroup_leaf_name(std::string_view service, bool swap) {
  bool escape = service.empty() || service.front() == '_' || service == kSupervisorLeaf ||
                service == "tasks" || service == "notify_on_release" || service == "release_agent";
  size_t dot = service.find('.');
  if (dot != std::string_view::npos) {
    for (auto prefix : kAttributePrefixes) escape = escape || service.substr(0, dot) == prefix;
  }
  std::string name = escape ? "_" + std::string(service) : std::string(service);
  if (swap) name += kSwapSuffix;
  return name;
}

std::unique_ptr<CgroupTree> CgroupTree::attach(const CgroupHost& host, const std::string& root,
                                               bool own_root) {
  std::unique_ptr<CgroupTree> tree(new CgroupTree());
  tree->root_ = root;
  std::string ignored;
  if (auto enabled = read_cgroup_file(root, "cgroup.subtree_control", &ignored)) {
    for (auto w : words(*enabled)) tree->v2_.insert(std::string(w));
  }
  tree->find_v1(host, own_root);
  return tree;
}

void CgroupTree::find_v1(const CgroupHost& host, bool own_root) {
  for (const auto& v : host.v1) {
    if (v2_has(v.controller)) continue;
    // Below superd's own v1 cgroup; a root of its own (cgroup = PATH) gets a child there.
    std::string base = own_root ? v.own_dir : v.own_dir + "/" + last_component(root_);
    v1_bases_.push_back({v.controller, base});
  }
}

std::unique_ptr<CgroupTree> CgroupTree::setup(const CgroupHost& host,
                                              const CgroupRootChoice& choice, std::string* error,
                                              bool move_superd) {
  if (choice.root.empty()) {
    *error = choice.why_not;
    return nullptr;
  }
  const std::string& root = choice.root;
  if (choice.create && !make_dir(root, error)) return nullptr;
  const std::string supervisor = root + "/" + std::string(kSupervisorLeaf);
  if (!make_dir(supervisor, error)) return nullptr;
  if (move_superd &&
      !write_cgroup_file(supervisor, "cgroup.procs", std::to_string(::getpid()), error)) {
    return nullptr;
  }

  const bool own_root = root == host.own_v2_dir;
  std::string why;
  std::string offered;
  if (auto text = read_cgroup_file(root, "cgroup.controllers", &why)) offered = *text;
  std::vector<std::string> notes;
  for (auto controller : kCgroupControllers) {
    bool available = false;
    for (auto w : words(offered)) available = available || w == controller;
    if (!available) continue;
    if (!write_cgroup_file(root, "cgroup.subtree_control", "+" + std::string(controller), &why)) {
      notes.push_back(std::string(controller) + ": enabling it failed: " + why);
    }
  }
  auto tree = attach(host, root, own_root);
  tree->notes_ = std::move(notes);
  for (const auto& base : tree->v1_bases_) {
    if (!make_dir(base.own_dir, &why)) {
      tree->notes_.push_back(base.controller + " (cgroup v1): " + why);
    }
  }
  return tree;
}

const std::string* CgroupTree::v1_base(std::string_view controller) const {
  for (const auto& v : v1_bases_) {
    if (v.controller == controller) return &v.own_dir;
  }
  return nullptr;
}

CgroupLeaf CgroupTree::leaf_at(const std::string& name) const {
  CgroupLeaf leaf;
  leaf.name = name;
  leaf.dir = root_ + "/" + name;
  return leaf;
}

std::optional<CgroupLeaf> CgroupTree::make_leaf(const std::string& name, bool cpu_v1,
                                                std::string* error) {
  CgroupLeaf leaf = leaf_at(name);
  if (!make_dir(leaf.dir, error)) return std::nullopt;
  for (const auto& base : v1_bases_) {
    if (base.controller == "cpu" && !cpu_v1) continue;
    std::string dir = base.own_dir + "/" + name;
    if (!make_dir(dir, error)) return std::nullopt;
    leaf.v1.push_back({base.controller, dir});
  }
  return leaf;
}

bool CgroupTree::add_v1(CgroupLeaf& leaf, std::string_view controller, std::string* error) {
  if (leaf.v1_dir(controller)) return true;
  const std::string* base = v1_base(controller);
  if (!base) {
    *error = "cgroup: no v1 " + std::string(controller) + " hierarchy";
    return false;
  }
  std::string dir = *base + "/" + leaf.name;
  if (!make_dir(dir, error)) return false;
  leaf.v1.push_back({std::string(controller), dir});
  return move_into_v1(leaf.dir, {dir}, error);
}

bool move_into_v1(const std::string& v2_dir, const std::vector<std::string>& v1_dirs, std::string* error) {
  // A process forked while this runs may be missed by one pass; a few passes catch it
  // (each is bounded by what cgroup.procs lists).
  for (int pass = 0; pass < 3; ++pass) {
    auto procs = read_cgroup_file(v2_dir, "cgroup.procs", error);
    if (!procs) return false;
    for (auto pid : words(*procs)) {
      for (const auto& dir : v1_dirs) {
        std::string ignored;  // a process that ended meanwhile is not an error
        write_cgroup_file(dir, "cgroup.procs", pid, &ignored);
      }
    }
  }
  return true;
}

bool CgroupTree::remove_leaf(const CgroupLeaf& leaf, std::string* error) {
  bool ok = true;
  auto remove = [&](const std::string& dir) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (ok) *error = "cgroup: rmdir " + dir + ": " + std::strerror(errno);
    ok = false;
  };
  remove(leaf.dir);
  for (const auto& v : leaf.v1) remove(v.own_dir);
  return ok;
}

std::vector<CgroupLeaf> CgroupTree::existing_leaves() const {
  std::vector<CgroupLeaf> out;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(root_.c_str()), ::closedir);
  if (!dir) return out;
  while (struct dirent* e = ::readdir(dir.get())) {
    std::string name = e->d_name;
    if (e->d_type != DT_DIR || name.empty() || name.front() == '.' || name == kSupervisorLeaf) {
      continue;
    }
    CgroupLeaf leaf = leaf_at(name);
    for (const auto& base : v1_bases_) {
      std::string v1 = base.own_dir + "/" + name;
      struct stat st {};
      if (::stat(v1.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) leaf.v1.push_back({base.controller, v1});
    }
    out.push_back(std::move(leaf));
  }
  return out;
}

}  // namespace superd
