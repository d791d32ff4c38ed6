#include "base/byte_buffer.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace superd {

ByteBuffer::~ByteBuffer() { std::free(data_); }

char* ByteBuffer::reserve(size_t n) {
  if (capacity_ - size_ < n) {
    size_t wanted = capacity_ ? capacity_ : 4096;
    while (wanted - size_ < n) wanted *= 2;
    char* grown = static_cast<char*>(std::realloc(data_, wanted));
    if (!grown) throw std::bad_alloc();
    data_ = grown;
    capacity_ = wanted;
  }
  return data_ + size_;
}

void ByteBuffer::append(const char* data, size_t n) {
  if (n == 0) return;
  std::memcpy(reserve(n), data, n);
  size_ += n;
}

void ByteBuffer::consume(size_t n) {
  if (n >= size_) {
    size_ = 0;
    return;
  }
  std::memmove(data_, data_ + n, size_ - n);
  size_ -= n;
}

void ByteBuffer::release_memory() {
  if (size_ == 0 && capacity_ > (256u << 10)) {
    std::free(data_);
    data_ = nullptr;
    capacity_ = 0;
  }
}

void ByteBuffer::swap(ByteBuffer& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(size_, other.size_);
  std::swap(capacity_, other.capacity_);
}

}  // namespace superd
