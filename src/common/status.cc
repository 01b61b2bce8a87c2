#include "plinth/status.h"

namespace plinth {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kAlreadyExists: return "already_exists";
    case Code::kFailedPrecondition: return "failed_precondition";
    case Code::kConstraintViolation: return "constraint_violation";
    case Code::kPolicyViolation: return "policy_violation";
    case Code::kPermissionDenied: return "permission_denied";
    case Code::kUnauthenticated: return "unauthenticated";
    case Code::kUnavailable: return "unavailable";
    case Code::kDeadlineExceeded: return "deadline_exceeded";
    case Code::kRetryable: return "retryable";
    case Code::kCommitUnknown: return "commit_unknown";
    case Code::kDataLoss: return "data_loss";
    case Code::kIoError: return "io_error";
    case Code::kInternal: return "internal";
  }
  return "unknown";
}

Status::Status(Code code, std::string message, std::string sqlstate, std::string object) {
  if (code != Code::kOk) {
    rep_ = std::make_unique<Rep>(Rep{code, std::move(message), std::move(sqlstate), std::move(object)});
  }
}

Status::Status(const Status& other)
    : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
  return *this;
}

namespace {
const std::string& Empty() {
  static const std::string kEmpty;
  return kEmpty;
}
}  // namespace

const std::string& Status::message() const { return rep_ ? rep_->message : Empty(); }
const std::string& Status::sqlstate() const { return rep_ ? rep_->sqlstate : Empty(); }
const std::string& Status::object() const { return rep_ ? rep_->object : Empty(); }

std::string Status::ToString() const {
  if (!rep_) return "ok";
  std::string s(CodeName(rep_->code));
  s += ": ";
  s += rep_->message;
  if (!rep_->sqlstate.empty()) s += " [sqlstate " + rep_->sqlstate + "]";
  if (!rep_->object.empty()) s += " (" + rep_->object + ")";
  return s;
}

Status Status::WithContext(std::string_view context) const {
  if (!rep_) return Status();
  return Status(rep_->code, std::string(context) + ": " + rep_->message, rep_->sqlstate, rep_->object);
}

}  // namespace plinth
