#include "supervisor/spawn_spec_of.h"

#include "supervisor/sandbox_spec_of.h"

namespace superd {

SpawnSpec spawn_spec_of(const ServiceConfig& config) {
  SpawnSpec spec;
  spec.command = config.command;
  spec.user = config.user;
  spec.group = config.group;
  spec.directory = config.directory;
  spec.umask = config.umask;
  spec.limits.assign(config.limits.begin(), config.limits.end());
  spec.environment.assign(config.environment.begin(), config.environment.end());
  spec.env_file = config.env_file;
  // superd's, like NOTIFY_SOCKET: after environment and env_file, so neither hides it.
  if (config.instance >= 0) spec.extra_env.emplace_back("INSTANCE", std::to_string(config.instance));
  spec.sandbox = sandbox_spec_of(config.sandbox);
  return spec;
}

}  // namespace superd
