// CLI11 for superctl, without <iostream>'s start-up cost.
//
// With libstdc++, every file that includes <iostream> holds a static std::ios_base::Init,
// whose constructor builds the eight standard streams and the classic locale before main:
// 0.4 ms of each superctl run on a 2-core VM (`valgrind --tool=callgrind superctl status
// one`: 44,000 of its 417,000 instructions, and their page faults), though superctl never
// prints through a stream. CLI11 includes <iostream>. Here the streams are declared as
// <iostream> declares them, without that object, and superctl holds a std::ios_base::Init
// (as [ios.init] allows) for as long as it parses with CLI11, which prints help and
// errors to std::cout and std::cerr. With another standard library, <iostream> as usual.
#pragma once

#include <version>  // defines __GLIBCXX__ with libstdc++

#if defined(__GLIBCXX__) && !defined(_GLIBCXX_IOSTREAM)
#define _GLIBCXX_IOSTREAM 1
#include <istream>
#include <ostream>

namespace std _GLIBCXX_VISIBILITY(default) {
_GLIBCXX_BEGIN_NAMESPACE_VERSION
extern istream cin;
extern ostream cout;
extern ostream cerr;
extern ostream clog;
extern wistream wcin;
extern wostream wcout;
extern wostream wcerr;
extern wostream wclog;
_GLIBCXX_END_NAMESPACE_VERSION
}  // namespace std
#endif

#include <CLI/CLI.hpp>
