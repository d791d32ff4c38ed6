// Ownership of a libuv handle. libuv frees nothing itself and uv_close is asynchronous:
// the memory of a handle must live until its close callback has run. UvHandle allocates
// the handle on the heap and, when the owner goes away, closes it and lets the close
// callback delete it, so the owner may be destroyed at any moment.
#pragma once

#include <uv.h>

#include <utility>

namespace superd {

template <typename H>
class UvHandle {
 public:
  UvHandle() : handle_(new H{}) {}
  ~UvHandle() { reset(); }
  UvHandle(UvHandle&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)),
        initialized_(std::exchange(other.initialized_, false)) {}
  UvHandle& operator=(UvHandle&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, nullptr);
      initialized_ = std::exchange(other.initialized_, false);
    }
    return *this;
  }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  H* get() const { return handle_; }
  H* operator->() const { return handle_; }
  uv_handle_t* raw() const { return reinterpret_cast<uv_handle_t*>(handle_); }
  // Call once uv_*_init has succeeded: from then on the handle is closed, not deleted.
  void mark_initialized() { initialized_ = true; }
  bool initialized() const { return initialized_; }

  // Close now (callbacks stop); memory goes in the close callback.
  void reset() {
    if (!handle_) return;
    if (initialized_ && !uv_is_closing(raw())) {
      handle_->data = nullptr;
      uv_close(raw(), [](uv_handle_t* h) { delete reinterpret_cast<H*>(h); });
    } else if (!initialized_) {
      delete handle_;
    }
    handle_ = nullptr;
    initialized_ = false;
  }

 private:
  H* handle_;
  bool initialized_ = false;
};

}  // namespace superd
