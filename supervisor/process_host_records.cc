// The running record (state_dir/running, run_records.h): every running instance's pid,
// rewritten whole when one starts or ends, once per loop pass however many did.
#include <spdlog/spdlog.h>

#include "supervisor/process_host.h"
#include "supervisor/run_records.h"

namespace superd {

void ProcessHost::records_changed() {
  records_dirty_ = true;
  if (!records_prepare_.get()) return save_records();  // after close_all(): the loop is ending
  if (!records_prepare_.initialized()) {
    if (uv_prepare_init(loop_, records_prepare_.get()) != 0) return save_records();
    records_prepare_.mark_initialized();
    records_prepare_->data = this;
  }
  uv_prepare_start(records_prepare_.get(), [](uv_prepare_t* handle) {
    uv_prepare_stop(handle);
    if (auto* self = static_cast<ProcessHost*>(handle->data)) self->save_records();
  });
}

void ProcessHost::save_records() {
  records_dirty_ = false;
  std::vector<RunningRecord> records;
  for (const auto& [pid, rec] : running_) records.push_back(rec);
  std::string error;
  if (!state_dir_) return;
  if (!save_running(*state_dir_, trust_, records, &error)) {
    spdlog::warn("recording running processes: {}", error);
  }
}

}  // namespace superd
