// A growable byte buffer that does not zero what it reserves (reads fill it), for the
// capture path: a service's output waiting for the disk, the console or a job.
#pragma once

#include <cstddef>

namespace superd {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ~ByteBuffer();
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  char* reserve(size_t n);  // room for n more bytes after size()
  void commit(size_t n) { size_ += n; }
  void append(const char* data, size_t n);
  void clear() { size_ = 0; }
  // Drops the first n bytes (the rest moves to the front).
  void consume(size_t n);
  void release_memory();  // give back a large allocation once drained
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  void swap(ByteBuffer& other) noexcept;

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace superd
