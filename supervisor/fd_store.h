// systemd's file descriptor store (sd_notify FDSTORE=1), which keeps what superd holds for
// its services while superd itself is gone: after a crash, systemd starts superd again and
// hands the fds back (LISTEN_FDS, LISTEN_FDNAMES), and the new superd adopts the services
// still running instead of restarting them (adoption.h). Used only when superd runs under
// systemd (NOTIFY_SOCKET is set) and the unit has FileDescriptorStoreMax=.
//
// Each fd has a name of the service's: NAME.out.r, NAME.out.w (both ends of the stdout
// pipe: new processes of the service write into the same pipe), NAME.err.r, NAME.err.w,
// NAME.listen.K for the K-th `listen` socket, NAME.notify. A name stays bound to one open
// file: when superd replaces a pipe or socket, the old entry is removed (FDSTOREREMOVE=1)
// and the new one stored.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace superd {

class FdStore {
 public:
  // Whether there is a store to use (NOTIFY_SOCKET was set when superd started).
  static bool available();

  using Named = std::vector<std::pair<std::string, int>>;  // name, fd
  // What the store holds of `service` becomes `fds`: new or replaced ones are sent, names
  // not in `fds` any more are removed. Nothing is sent for what is already there.
  void sync(const std::string& service, const Named& fds);
  // Every fd of `service` is removed (it left the config).
  void forget(const std::string& service);
  // An fd systemd handed back that nothing took: out of the store, so that a new fd
  // stored under its name later is the only one.
  static void remove(const std::string& name);

 private:
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const Identity&) const = default;
  };
  std::map<std::string, std::map<std::string, Identity>> stored_;  // service -> name -> file
};

}  // namespace superd
