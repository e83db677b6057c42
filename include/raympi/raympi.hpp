#pragma once
/// @file raympi.hpp
/// @brief The umbrella header: Ray's programming model for MPI jobs.
///
/// @code
/// #include <raympi/raympi.hpp>
/// int add(int a, int b) { return a + b; }
/// RAYMPI_REMOTE(add);
/// int main(int argc, char** argv) {
///   raympi::init(argc, argv);
///   int three = raympi::get(raympi::task(add).remote(1, 2));
///   raympi::shutdown();
///   return three == 3 ? 0 : 1;
/// }
/// @endcode

#include "raympi/api.hpp"
#include "raympi/config.hpp"
#include "raympi/errors.hpp"
#include "raympi/object_ref.hpp"
#include "raympi/task.hpp"
#include "raympi/actor.hpp"
#include "raympi/placement_group.hpp"
