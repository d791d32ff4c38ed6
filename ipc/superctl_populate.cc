// superctl's pages mapped in three calls, before anything else of superctl runs.
//
// A `superctl status` runs for about a millisecond and in that time touches pages all
// over its (static) image: libstdc++'s locale set-up, CLI11, nlohmann's parser, the
// table, and its first heap. Each first touch is a page fault, and on a VM a fault
// costs 10-20 us: about 30 of them were a fifth of superctl's time on a 2-core VM
// (`perf stat -e page-faults superctl status one`: 74 -> 44). MADV_POPULATE_READ and
// _WRITE (Linux 5.14) map a whole range in one system call instead: the text from the
// page cache, then .data and .bss, then the heap malloc starts with. On an older kernel
// they fail with EINVAL and nothing changes.
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

// The linker's and crt1's bounds: the text, and .data through .bss (writable, unlike the
// relocated .data.rel.ro before them).
extern "C" char __executable_start, etext, __data_start, _end;

namespace {

constexpr uintptr_t kPage = 4096;  // madvise wants aligned ranges; any page size divides

void populate(uintptr_t from, uintptr_t to, int advice) {
  from &= ~(kPage - 1);
  to = (to + kPage - 1) & ~(kPage - 1);
  if (to > from) ::madvise(reinterpret_cast<void*>(from), to - from, advice);
}

// Priority 101: before the constructors of libstdc++ and of every other object file.
__attribute__((constructor(101))) void populate_image() {
  populate(reinterpret_cast<uintptr_t>(&__executable_start), reinterpret_cast<uintptr_t>(&etext),
           MADV_POPULATE_READ);
  populate(reinterpret_cast<uintptr_t>(&__data_start), reinterpret_cast<uintptr_t>(&_end), MADV_POPULATE_WRITE);
  std::free(std::malloc(1));  // malloc's first brk: the heap superctl then uses
  const uintptr_t top = reinterpret_cast<uintptr_t>(::sbrk(0));
  const size_t heap = mallinfo2().arena;
  if (heap > 0 && heap <= top) populate(top - heap, top, MADV_POPULATE_WRITE);
}

}  // namespace
