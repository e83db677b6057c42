// Error text and the mapping from stored error objects back to exceptions.
#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include "raympi/detail/object_store_view.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> p(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && p ? std::string(p.get()) : std::string(mangled);
}

void throw_serialization_error(const char* what, const std::type_info& type, const char* detail) {
  throw SerializationError(std::string("raympi: could not ") + what + " a value of type " + demangle(type.name()) +
                           ": " + detail);
}

void throw_stored_error(const StoredObject& o) {
  switch (o.error) {
    case ErrorKind::task: throw TaskError(o.error_message);
    case ErrorKind::infeasible: throw InfeasibleError(o.error_message);
    case ErrorKind::object_lost: throw ObjectLostError(o.error_message);
    case ErrorKind::actor_died: throw ActorDiedError(o.error_message);
    case ErrorKind::serialization: throw SerializationError(o.error_message);
    case ErrorKind::shutdown: throw Error(o.error_message);
    case ErrorKind::node_died: throw NodeDiedError(o.error_message);
    case ErrorKind::cancelled: throw TaskCancelledError(o.error_message);
    case ErrorKind::none: break;
  }
  throw Error("raympi: object " + std::to_string(o.id.value) + " holds no error");
}

}  // namespace raympi::detail
