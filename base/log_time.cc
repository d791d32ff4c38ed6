#include "base/log_time.h"

#include <time.h>

#include <cstdio>
#include <cstring>

#include "base/values.h"

namespace superd {
namespace {

constexpr int64_t kMicrosPerDay = 86400LL * 1000000;

// Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian, no tables.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

void put_digits(char* out, int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// Reads exactly `width` digits at text[*pos].
std::optional<int64_t> digits(std::string_view text, size_t* pos, int width) {
  if (*pos + width > text.size()) return std::nullopt;
  int64_t value = 0;
  for (int i = 0; i < width; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  *pos += width;
  return value;
}

bool expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

// "2026-12-01", "2026-12-01T19:40:02Z", "2026-12-01 19:40:02.5+01:00". *end: where it
// stopped (the caller decides whether trailing text is allowed).
std::optional<UnixMicros> parse_rfc3339(std::string_view text, size_t* end) {
  size_t pos = 0;
  auto y = digits(text, &pos, 4);
  if (!y || !expect(text, &pos, '-')) return std::nullopt;
  auto mo = digits(text, &pos, 2);
  if (!mo || !expect(text, &pos, '-')) return std::nullopt;
  auto d = digits(text, &pos, 2);
  if (!d || *mo < 1 || *mo > 12 || *d < 1 || *d > 31) return std::nullopt;
  int64_t micros = days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d)) * kMicrosPerDay;
  if (pos == text.size()) {
    *end = pos;
    return micros;
  }
  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
  ++pos;
  auto h = digits(text, &pos, 2);
  if (!h || !expect(text, &pos, ':')) return std::nullopt;
  auto mi = digits(text, &pos, 2);
  if (!mi || !expect(text, &pos, ':')) return std::nullopt;
  auto s = digits(text, &pos, 2);
  if (!s || *h > 23 || *mi > 59 || *s > 60) return std::nullopt;
  micros += ((*h * 60 + *mi) * 60 + *s) * 1000000;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t scale = 100000;
    size_t first = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      micros += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == first) return std::nullopt;
  }
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    *end = pos + 1;
    return micros;
  }
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '+' ? 1 : -1;
    ++pos;
    auto oh = digits(text, &pos, 2);
    if (!oh || !expect(text, &pos, ':')) return std::nullopt;
    auto om = digits(text, &pos, 2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    *end = pos;
    return micros - sign * (*oh * 60 + *om) * 60 * 1000000;
  }
  return std::nullopt;  // a time without an offset is ambiguous
}

}  // namespace

UnixMicros unix_micros_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void format_stamp(UnixMicros t, char* out) {
  int64_t days = t / kMicrosPerDay;
  int64_t rest = t % kMicrosPerDay;
  if (rest < 0) {
    rest += kMicrosPerDay;
    --days;
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  if (y < 0) y = 0;
  if (y > 9999) y = 9999;
  const int64_t secs = rest / 1000000;
  put_digits(out, y, 4);
  out[4] = '-';
  put_digits(out + 5, m, 2);
  out[7] = '-';
  put_digits(out + 8, d, 2);
  out[10] = 'T';
  put_digits(out + 11, secs / 3600, 2);
  out[13] = ':';
  put_digits(out + 14, secs / 60 % 60, 2);
  out[16] = ':';
  put_digits(out + 17, secs % 60, 2);
  out[19] = '.';
  put_digits(out + 20, rest % 1000000, 6);
  out[26] = 'Z';
}

std::string format_stamp(UnixMicros t) {
  std::string s(kStampBytes, '\0');
  format_stamp(t, s.data());
  return s;
}

std::optional<UnixMicros> parse_stamp(std::string_view line) {
  if (line.size() < kStampBytes || line[kStampBytes - 1] != 'Z') return std::nullopt;
  size_t end = 0;
  auto t = parse_rfc3339(line.substr(0, kStampBytes), &end);
  if (!t || end != kStampBytes) return std::nullopt;
  return t;
}

std::optional<UnixMicros> parse_time_bound(std::string_view text, UnixMicros now, std::string* error) {
  if (!text.empty() && text.size() >= 10 && text[4] == '-') {
    size_t end = 0;
    auto t = parse_rfc3339(text, &end);
    if (t && end == text.size()) return t;
    *error = "'" + std::string(text) +
             "' is not an RFC 3339 time (2026-12-01T19:40:02Z, with an offset or Z) nor a duration (10m)";
    return std::nullopt;
  }
  std::string why;
  auto d = parse_duration(text, &why);
  if (!d) {
    *error = "'" + std::string(text) + "' is neither a duration (10m, 1h, 30s) nor an RFC 3339 time: " + why;
    return std::nullopt;
  }
  return now - static_cast<int64_t>(d->count()) * 1000;
}

void append_stamped(const char* data, size_t n, const char* stamp, bool* at_line_start, ByteBuffer& out) {
  const char* end = data + n;
  size_t lines = *at_line_start && n > 0;
  for (const char* p = data; (p = static_cast<const char*>(std::memchr(p, '\n', end - p))); ++p) {
    lines += p + 1 < end;
  }
  char* to = out.reserve(n + lines * (kStampBytes + 1));
  char* const start = to;
  while (data < end) {
    if (*at_line_start) {
      std::memcpy(to, stamp, kStampBytes);
      to[kStampBytes] = ' ';
      to += kStampBytes + 1;
    }
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', end - data));
    const char* stop = nl ? nl + 1 : end;
    std::memcpy(to, data, stop - data);
    to += stop - data;
    data = stop;
    *at_line_start = nl != nullptr;
  }
  out.commit(to - start);
}

}  // namespace superd
