#include "core/call_context.h"

#include "core/error.h"

namespace vlv {

namespace {
thread_local std::shared_ptr<CancelToken> t_token;
thread_local ProgressFn t_progress;
}  // namespace

CallScope::CallScope(std::shared_ptr<CancelToken> token, ProgressFn progress)
    : prev_token_(std::move(t_token)), prev_progress_(std::move(t_progress)) {
  t_token = std::move(token);
  t_progress = std::move(progress);
}

CallScope::~CallScope() {
  t_token = std::move(prev_token_);
  t_progress = std::move(prev_progress_);
}

void throw_if_cancelled() {
  if (t_token && t_token->cancelled()) throw Error(ErrorCode::Aborted, "aborted");
}

void report_progress(const std::string& stage, int64_t done, int64_t total, const std::vector<int64_t>& payload) {
  if (t_progress) t_progress(stage, done, total, payload);
}

}  // namespace vlv
