// superctl's code mapped in one call, before anything else of superctl runs.
//
// A `superctl status` runs for about a millisecond and in that time touches pages all
// over its (static) image: libstdc++'s locale set-up, CLI11, nlohmann's parser, the
// table. Each first touch is a page fault, and on a VM a fault costs 10-20 us: about 30
// of them were a fifth of superctl's time on a 2-core VM (`perf stat -e page-faults`:
// 74 -> 54). MADV_POPULATE_READ (Linux 5.14) maps the whole text from the page cache
// in one system call instead. On an older kernel it fails with EINVAL and nothing
// changes.
#include <sys/mman.h>

#include <cstdint>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

extern "C" char __executable_start, etext;  // the linker's bounds of the text

namespace {

// Priority 101: before the constructors of libstdc++ and of every other object file.
__attribute__((constructor(101))) void populate_text() {
  constexpr uintptr_t kPage = 4096;  // a multiple of it is enough; madvise wants aligned
  const uintptr_t from = reinterpret_cast<uintptr_t>(&__executable_start) & ~(kPage - 1);
  const uintptr_t to = (reinterpret_cast<uintptr_t>(&etext) + kPage - 1) & ~(kPage - 1);
  ::madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_READ);
}

}  // namespace
