#include "supervisor/log_outputs.h"

#include <unistd.h>

#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace superd {
namespace {

// spdlog's formatting, then one whole write through the console (never blocking).
class ConsoleLogSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ConsoleLogSink(std::shared_ptr<Console> console) : console_(std::move(console)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    console_->write(std::string_view(formatted.data(), formatted.size()), /*own_log=*/true);
  }
  void flush_() override {}

 private:
  std::shared_ptr<Console> console_;
};

constexpr auto kExitFlushBudget = std::chrono::milliseconds(1000);

}  // namespace

LogOutputs::LogOutputs(uv_loop_t* loop, std::string journal_socket)
    : loop_(loop), journal_path_(std::move(journal_socket)) {}

LogOutputs::~LogOutputs() { finish(); }

std::shared_ptr<Console> LogOutputs::console(int fd) {
  auto& mine = fd == 1 ? out_ : err_;
  if (mine) return mine;
  auto& other = fd == 1 ? err_ : out_;
  if (other && other->same_file_as(fd)) return mine = other;
  mine = Console::open(loop_, fd, fd == 1 ? "stdout" : "stderr");
  return mine;
}

std::shared_ptr<JournalSocket> LogOutputs::journal() {
  if (journal_ || journal_tried_) return journal_;
  journal_tried_ = true;
  std::string error;
  journal_ = JournalSocket::open(
      journal_path_, [](const std::string& what) { spdlog::warn("journal: {}", what); }, &error);
  if (!journal_) spdlog::error("journal: {}; journal lines are dropped and counted", error);
  return journal_;
}

void LogOutputs::route_own_log() {
  auto logger = spdlog::default_logger();
  if (!logger || routed_) return;
  auto sink = std::make_shared<ConsoleLogSink>(console(2));
  sink->set_pattern(::getenv("JOURNAL_STREAM") ? "%l %v" : "%Y-%m-%d %H:%M:%S.%e %l %v");
  logger->sinks().clear();
  logger->sinks().push_back(sink);
  routed_ = true;
}

void LogOutputs::finish() {
  if (routed_) {
    auto logger = spdlog::default_logger();
    if (logger) {
      auto plain = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
      plain->set_pattern(::getenv("JOURNAL_STREAM") ? "%^%l%$ %v" : "%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
      logger->sinks().clear();
      logger->sinks().push_back(plain);
    }
    routed_ = false;
  }
  for (auto* c : {&out_, &err_}) {
    if (!*c) continue;
    (*c)->flush(kExitFlushBudget);
    (*c)->detach_loop();
  }
}

}  // namespace superd
