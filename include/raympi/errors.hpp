#pragma once
/// @file errors.hpp
/// @brief The exception types raympi throws.

#include <stdexcept>
#include <string>

namespace raympi {

/// @brief Base of every raympi exception.
///
/// @code
/// try { raympi::get(ref); } catch (const raympi::Error& e) { std::cerr << e.what(); }
/// @endcode
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// @brief A remote function threw; `what()` names the function, the rank, the
/// original exception's type and message. Tasks depending on it fail with it too.
///
/// @code
/// try { raympi::get(raympi::task(may_throw).remote()); }
/// catch (const raympi::TaskError& e) { std::cerr << e.what() << '\n'; }
/// @endcode
class TaskError : public Error {
 public:
  using Error::Error;
};

/// @brief The actor was killed or crashed past its restarts.
///
/// @code
/// catch (const raympi::ActorDiedError& e) { /* restart the experiment */ }
/// @endcode
class ActorDiedError : public Error {
 public:
  using Error::Error;
};

/// @brief `get` with a timeout ran out before the object was ready.
///
/// @code
/// try { raympi::get(ref, std::chrono::milliseconds(10)); } catch (const raympi::GetTimeoutError&) {}
/// @endcode
class GetTimeoutError : public Error {
 public:
  using Error::Error;
};

/// @brief An object cannot be produced again (its holder is gone).
///
/// @code
/// catch (const raympi::ObjectLostError& e) { std::cerr << e.what(); }
/// @endcode
class ObjectLostError : public Error {
 public:
  using Error::Error;
};

/// @brief The node rank that ran (or held) the work died: its tasks and the
/// objects only it held are gone. `what()` names the rank and its host.
/// Tasks with `max_retries` left are retried on another node instead.
///
/// @code
/// try { raympi::get(ref); }
/// catch (const raympi::NodeDiedError& e) { std::cerr << e.what(); }
/// @endcode
class NodeDiedError : public Error {
 public:
  using Error::Error;
};

/// @brief A resource demand that no node of the job can ever meet.
///
/// @code
/// try { raympi::get(raympi::task(f).num_gpus(64).remote()); }
/// catch (const raympi::InfeasibleError& e) { std::cerr << e.what(); }
/// @endcode
class InfeasibleError : public Error {
 public:
  using Error::Error;
};

/// @brief An argument or result could not be (de)serialised; names the type.
///
/// @code
/// catch (const raympi::SerializationError& e) { std::cerr << e.what(); }
/// @endcode
class SerializationError : public Error {
 public:
  using Error::Error;
};

/// @brief The task or actor call was cancelled (raympi::cancel) before it
/// produced its result: `get` on it, and on every task that depended on it,
/// throws this. A running task that sees raympi::cancel_requested() may throw
/// it too, to end early with this error instead of a result.
///
/// @code
/// raympi::cancel(ref);
/// try { raympi::get(ref); } catch (const raympi::TaskCancelledError& e) { std::cerr << e.what(); }
/// @endcode
class TaskCancelledError : public Error {
 public:
  using Error::Error;
};

}  // namespace raympi
