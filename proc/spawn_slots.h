// Low descriptor numbers kept for spawns, so that a child can share superd's file table
// and copy only its bottom.
//
// A child made by fork or clone copies superd's whole file table, and its exec closes
// every close-on-exec entry again: with thousands of services (a few pipe ends each)
// that was most of a spawn's cost, and starting N services cost N times N. Instead,
// superd keeps kSpawnSlots descriptors of /dev/null at the lowest numbers it has when it
// starts (reserve_spawn_slots(), before anything else is open). Before a spawn the fds
// the child needs are dup3'd into those slots (SlotLease); the child is cloned with
// CLONE_FILES and its first system call, close_range(limit, ~0, CLOSE_RANGE_UNSHARE),
// gives it a table of its own holding only the numbers below the slots' limit. The
// lease puts /dev/null back into the slots as soon as the spawn returns, so a pipe end
// lent to the child is not held open by superd.
#pragma once

#include <cstddef>

namespace superd {

inline constexpr int kSpawnSlots = 24;

// Once, early in main, after the open-file limit is raised; without it (or when the
// slots could not be made, or that limit is under 1024) spawns copy the table as before.
void reserve_spawn_slots();

class SlotLease {
 public:
  SlotLease() = default;
  ~SlotLease();
  SlotLease(const SlotLease&) = delete;
  SlotLease& operator=(const SlotLease&) = delete;

  // The slot now holding `fd` (close-on-exec), or -1 when none is free or there are no
  // slots; -1 for fd < 0 too.
  int lend(int fd);
  // The first number above every slot: what the child keeps below.
  static int limit();
  static bool available();

 private:
  int used_ = 0;
};

}  // namespace superd
