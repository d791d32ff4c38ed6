#include "proc/spawn_slots.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace superd {
namespace {

constexpr rlim_t kMinFdLimit = 1024;

int slots[kSpawnSlots];
int devnull = -1;  // what a slot holds when it is not lent
int slot_limit = -1;

}  // namespace

void reserve_spawn_slots() {
  if (slot_limit >= 0) return;
  // They cost kSpawnSlots + 1 descriptors for good: not where the limit is tight.
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur < kMinFdLimit) return;
  // The child's first call needs CLOSE_RANGE_UNSHARE (Linux 5.9). Asked while superd has
  // one thread, so the unshare itself changes nothing; the range holds no descriptor.
  if (::syscall(SYS_close_range, 0x7ffffffeU, 0x7fffffffU, CLOSE_RANGE_UNSHARE) != 0) return;
  const int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  int made = 0;
  for (; made < kSpawnSlots; ++made) {
    slots[made] = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (slots[made] < 0) break;
  }
  if (made < kSpawnSlots) {
    while (made > 0) ::close(slots[--made]);
    ::close(fd);
    return;
  }
  devnull = fd;
  slot_limit = 1 + std::max(fd, *std::max_element(slots, slots + kSpawnSlots));
}

bool SlotLease::available() { return slot_limit >= 0; }

int SlotLease::limit() { return slot_limit; }

int SlotLease::lend(int fd) {
  if (fd < 0 || !available() || used_ == kSpawnSlots) return -1;
  if (::dup3(fd, slots[used_], O_CLOEXEC) < 0) return -1;
  return slots[used_++];
}

SlotLease::~SlotLease() {
  while (used_ > 0) ::dup3(devnull, slots[--used_], O_CLOEXEC);
}

}  // namespace superd
